/**
 * One Plivo audio stream WebSocket as a uniform CarrierLeg. Created by the routes once the stream's
 * `start` event named a live call; from then on it owns the socket.
 */
import { EventEmitter } from 'node:events';
import { endianness } from 'node:os';
import type { WebSocket, RawData } from 'ws';
import type { CallEnd, CarrierLeg, LegCapabilities, LegEventMap, LegHangup, LegSampleRate } from '../leg.js';
import type { Logger } from '../../logger.js';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { samplesPerFrame } from '../../media/audio.js';
import { decodeMuLaw, encodeMuLaw } from '../../media/g711.js';
import type { PlivoMediaFormat } from './answer-xml.js';
import {
  PlivoPayloadDecoder,
  PlivoStreamProtocolError,
  checkpointMessage,
  clearAudioMessage,
  parsePlivoStreamMessage,
  playAudioMessage,
  sendDtmfMessage,
  type PlivoInboundMessage,
} from './stream-protocol.js';
import type { PlivoRestClient } from './rest-client.js';
import { MediaFrameScanner } from './media-fast-path.js';

/** Raw bytes per playAudio message: 12000 bytes is 16000 base64 characters, under the 16 KB the protocol doc advises. */
const MAX_PLAY_BYTES = 12_000;
const LITTLE_ENDIAN_HOST = endianness() === 'LE';
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;

/**
 * Logs a kind of problem the first time, then at most once per interval with how many were suppressed,
 * so a peer sending bad frames 50 times a second produces a handful of log lines, not thousands.
 */
export class RateLimitedWarnings {
  private readonly kinds = new Map<string, { lastLoggedAt: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock = systemClock,
    private readonly intervalMs = 10_000,
  ) {}

  warn(kind: string, message: string, fields: Record<string, unknown> = {}): void {
    const now = this.clock.now();
    const state = this.kinds.get(kind);
    if (state && now - state.lastLoggedAt < this.intervalMs) {
      state.suppressed++;
      return;
    }
    const suppressed = state?.suppressed ?? 0;
    this.kinds.set(kind, { lastLoggedAt: now, suppressed: 0 });
    this.logger.warn({ ...fields, kind, ...(suppressed > 0 ? { suppressedSinceLastLog: suppressed } : {}) }, message);
  }
}

/** A ws message that is not a usable protocol message: too large (close the stream), or malformed (warn, drop). */
export type FrameRejection = { tooLarge: number } | { problemKind: string; problem: string };

/**
 * Reads one ws message as a Plivo stream message. Runs for every media frame, so only a rejection
 * allocates beyond what JSON parsing itself needs.
 */
export function readStreamFrame(data: RawData, isBinary: boolean, maxBytes: number): PlivoInboundMessage | FrameRejection {
  const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data instanceof ArrayBuffer ? data.byteLength : data.length;
  if (size > maxBytes) return { tooLarge: size };
  if (isBinary) return { problemKind: 'binary-frame', problem: `Plivo stream sent a ${size}-byte binary frame; expected JSON text frames` };
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  try {
    return parsePlivoStreamMessage(buf.toString('utf8'));
  } catch (err) {
    return { problemKind: err instanceof PlivoStreamProtocolError ? `bad-${err.field}` : 'bad-message', problem: err instanceof Error ? err.message : String(err) };
  }
}

export interface PlivoStreamLegOptions {
  socket: WebSocket;
  /** Voxgate's call id. */
  callId: string;
  /** Plivo CallUUID. */
  carrierCallId: string;
  streamId: string;
  /** The stream's format as the `start` event stated it; audio goes out in the same format. */
  mediaFormat: PlivoMediaFormat;
  logger: Logger;
  rest?: PlivoRestClient;
  /** URL of XML that dials `target`, for transfers to a number or SIP URI (the routes serve one). */
  transferXmlUrl?: (target: string, headers?: Record<string, string>) => string;
  maxMessageBytes?: number;
  clock?: Clock;
}

export class PlivoStreamLeg extends EventEmitter<LegEventMap> implements CarrierLeg {
  readonly callId: string;
  readonly carrier = 'plivo';
  readonly carrierCallId: string;
  readonly streamId: string;
  readonly sampleRate: LegSampleRate;
  readonly mediaFormat: PlivoMediaFormat;
  readonly capabilities: LegCapabilities;

  private readonly socket: WebSocket;
  private readonly logger: Logger;
  private readonly rest?: PlivoRestClient;
  private readonly transferXmlUrl?: (target: string, headers?: Record<string, string>) => string;
  private readonly maxMessageBytes: number;
  private readonly warnings: RateLimitedWarnings;
  private readonly payloadDecoder = new PlivoPayloadDecoder();
  private readonly mediaScanner = new MediaFrameScanner();
  /** Audio and checkpoints waiting to be sent, in order. */
  private readonly outbound: ({ samples: Int16Array; offset: number } | { mark: string })[] = [];
  private sendScheduled = false;
  /** One 20 ms frame, filled across chunks and handed to every `audio` listener. */
  private readonly frame: Int16Array;
  private frameFill = 0;
  /** An L16 chunk with an odd byte count leaves half a sample for the next chunk. */
  private carryByte = -1;
  private readonly encodeScratch = Buffer.allocUnsafe(MAX_PLAY_BYTES);
  private ended = false;
  /** Set when Voxgate asked for the end, so the socket close is reported as the gateway's doing. */
  private gatewayEnd?: string;

  constructor(options: PlivoStreamLegOptions) {
    super();
    this.socket = options.socket;
    this.callId = options.callId;
    this.carrierCallId = options.carrierCallId;
    this.streamId = options.streamId;
    this.mediaFormat = options.mediaFormat;
    this.sampleRate = options.mediaFormat.sampleRate;
    this.logger = options.logger.child({ callId: options.callId, carrier: 'plivo', callUuid: options.carrierCallId, streamId: options.streamId });
    this.rest = options.rest;
    this.transferXmlUrl = options.transferXmlUrl;
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.warnings = new RateLimitedWarnings(this.logger, options.clock);
    this.frame = new Int16Array(samplesPerFrame(this.sampleRate));
    // Transfer needs the REST API: without it there is no way to redirect the call.
    this.capabilities = { transfer: options.rest !== undefined, sendDtmf: true, record: false };

    this.socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    this.socket.on('close', (code, reason) => this.onClose(code, reason.toString('utf8')));
    this.socket.on('error', (err) => this.logger.warn({ err }, 'Plivo stream socket error'));
  }

  /** True until the leg has reported its hangup. */
  get active(): boolean {
    return !this.ended;
  }

  /**
   * Queues audio; the first message leaves at once and the rest one message per event-loop turn, so a
   * long prompt never holds the loop (and every other call's frames) while it is encoded and sent.
   * Takes ownership of `samples`.
   */
  play(samples: Int16Array): void {
    if (!this.canSend('play') || samples.length === 0) return;
    this.outbound.push({ samples, offset: 0 });
    if (!this.sendScheduled) this.sendNext();
  }

  /** The checkpoint follows the audio queued before it, so playout confirmation stays in order. */
  mark(name: string): void {
    if (!this.canSend('mark')) return;
    this.outbound.push({ mark: name });
    if (!this.sendScheduled) this.sendNext();
  }

  clear(): void {
    if (!this.canSend('clear')) return;
    this.outbound.length = 0; // audio not yet sent is dropped here rather than sent and cleared
    this.socket.send(clearAudioMessage(this.streamId));
  }

  private readonly sendNext = (): void => {
    this.sendScheduled = false;
    if (this.ended || this.socket.readyState !== this.socket.OPEN) {
      this.outbound.length = 0;
      return;
    }
    let sentAudio = false;
    while (this.outbound.length > 0) {
      const item = this.outbound[0];
      if ('mark' in item) {
        this.outbound.shift();
        this.socket.send(checkpointMessage(this.streamId, item.mark));
        continue;
      }
      if (sentAudio) break;
      sentAudio = true;
      item.offset = this.sendAudioMessage(item.samples, item.offset);
      if (item.offset >= item.samples.length) this.outbound.shift();
    }
    if (this.outbound.length > 0) {
      this.sendScheduled = true;
      setImmediate(this.sendNext);
    }
  };

  /** Sends one playAudio message of at most MAX_PLAY_BYTES from `offset`; returns the next offset. */
  private sendAudioMessage(samples: Int16Array, offset: number): number {
    const { encoding, sampleRate } = this.mediaFormat;
    if (encoding === 'audio/x-mulaw') {
      const end = Math.min(samples.length, offset + MAX_PLAY_BYTES);
      const bytes = encodeMuLaw(samples.subarray(offset, end), this.encodeScratch);
      this.socket.send(playAudioMessage(encoding, sampleRate, this.encodeScratch.toString('base64', 0, bytes.length)));
      return end;
    }
    const end = Math.min(samples.length, offset + MAX_PLAY_BYTES / 2);
    let bytes: Buffer;
    if (LITTLE_ENDIAN_HOST) {
      bytes = Buffer.from(samples.buffer, samples.byteOffset + offset * 2, (end - offset) * 2);
    } else {
      bytes = this.encodeScratch.subarray(0, (end - offset) * 2);
      for (let i = offset; i < end; i++) bytes.writeInt16LE(samples[i], (i - offset) * 2);
    }
    this.socket.send(playAudioMessage(encoding, sampleRate, bytes.toString('base64')));
    return end;
  }

  /** Throws on digits outside 0-9 * # A-D (a caller bug, not wire input). */
  sendDtmf(digits: string): void {
    const message = sendDtmfMessage(digits);
    if (this.canSend('sendDtmf')) this.socket.send(message);
  }

  async transfer(target: string, headers?: Record<string, string>): Promise<void> {
    if (!this.rest) {
      throw new Error(`Cannot transfer Plivo call ${this.carrierCallId}: no Plivo REST client configured`);
    }
    let alegUrl: string;
    if (/^https?:\/\//i.test(target)) alegUrl = target;
    else if (this.transferXmlUrl) alegUrl = this.transferXmlUrl(target, headers);
    else throw new Error(`Cannot transfer Plivo call to "${target}": expected an http(s) URL of Plivo XML`);
    this.gatewayEnd = `Transferred to ${target}`;
    await this.rest.transferCall(this.carrierCallId, { legs: 'aleg', alegUrl, alegMethod: 'POST' });
    this.logger.info({ target }, 'Plivo call transferred');
  }

  async hangup(reason: string): Promise<void> {
    if (this.ended) return;
    this.gatewayEnd = reason;
    if (this.rest) {
      const wasLive = await this.rest.hangupCall(this.carrierCallId);
      if (!wasLive) this.logger.info('Plivo reports the call already ended');
      return;
    }
    // Without the REST API, closing the stream ends the call: keepCallAlive leaves no XML to run after it.
    this.socket.close(1000, reason.slice(0, 120));
  }

  /**
   * The carrier's hangup callback arrived: report it with Plivo's cause and close the stream, since
   * Plivo may keep the socket (or open another) after the call is over.
   */
  endFromCarrier(end: CallEnd): void {
    this.finish({ cause: end.cause, side: end.side });
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) {
      this.socket.close(1000, 'call ended');
    }
  }

  private canSend(what: string): boolean {
    if (this.socket.readyState === this.socket.OPEN) return true;
    if (!this.ended) this.warnings.warn('send-after-close', `Plivo stream is not open; ${what} dropped`);
    return false;
  }

  private finish(info: LegHangup): void {
    if (this.ended) return;
    this.ended = true;
    this.emit('hangup', info);
  }

  private onClose(code: number, reason: string): void {
    if (this.gatewayEnd !== undefined) {
      this.finish({ cause: this.gatewayEnd, side: 'gateway' });
    } else {
      this.finish({ cause: `Stream closed (code ${code}${reason ? `: ${reason}` : ''})`, side: 'carrier' });
    }
  }

  private problem(kind: string, message: string): void {
    this.warnings.warn(kind, message);
    this.emit('warning', message);
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.ended) return;
    if (!isBinary && Buffer.isBuffer(data) && data.length <= this.maxMessageBytes) {
      const payload = this.mediaScanner.tryDecode(data);
      if (payload) {
        this.pushAudio(payload);
        return;
      }
    }
    const msg = readStreamFrame(data, isBinary, this.maxMessageBytes);
    if ('tooLarge' in msg) {
      const message = `Plivo stream message of ${msg.tooLarge} bytes exceeds the ${this.maxMessageBytes}-byte limit; closing the stream`;
      this.logger.warn({ size: msg.tooLarge, limit: this.maxMessageBytes }, message);
      this.emit('warning', message);
      this.socket.close(1009, `message of ${msg.tooLarge} bytes exceeds ${this.maxMessageBytes}`);
      return;
    }
    if ('problem' in msg) {
      this.problem(msg.problemKind, msg.problem);
      return;
    }
    switch (msg.event) {
      case 'media': {
        const track = msg.media.track;
        // Only the caller's audio is conversation input; an outbound track would echo our own playout.
        if (track !== undefined && track !== 'inbound') return;
        let bytes: Buffer;
        try {
          bytes = this.payloadDecoder.decode(msg.media.payload);
        } catch (err) {
          this.problem('bad-media.payload', (err as Error).message);
          return;
        }
        this.pushAudio(bytes);
        return;
      }
      case 'dtmf':
        if (msg.track === undefined || msg.track === 'inbound') this.emit('dtmf', msg.digit);
        return;
      case 'playedStream':
        this.emit('mark', msg.name);
        return;
      case 'clearedAudio':
        this.emit('cleared');
        return;
      case 'stop':
        this.finish(this.gatewayEnd !== undefined ? { cause: this.gatewayEnd, side: 'gateway' } : { cause: 'Stream stopped', side: 'carrier' });
        return;
      case 'start':
        this.problem('repeated-start', `Plivo stream ${this.streamId} sent a second start event; ignored`);
        return;
    }
  }

  /** Decodes a chunk into the frame buffer, emitting each completed 20 ms frame. */
  private pushAudio(bytes: Buffer): void {
    const frame = this.frame;
    const frameLen = frame.length;
    if (this.mediaFormat.encoding === 'audio/x-mulaw') {
      let i = 0;
      while (i < bytes.length) {
        const n = Math.min(frameLen - this.frameFill, bytes.length - i);
        if (this.frameFill === 0 && n === frameLen && i === 0 && bytes.length === frameLen) {
          decodeMuLaw(bytes, frame); // the usual case: exactly one 20 ms chunk
        } else {
          decodeMuLaw(bytes.subarray(i, i + n), frame.subarray(this.frameFill, this.frameFill + n));
        }
        i += n;
        this.frameFill += n;
        if (this.frameFill === frameLen) this.emitFrame();
      }
      return;
    }
    let i = 0;
    if (this.carryByte >= 0 && bytes.length > 0) {
      frame[this.frameFill++] = ((this.carryByte | (bytes[0] << 8)) << 16) >> 16;
      this.carryByte = -1;
      i = 1;
      if (this.frameFill === frameLen) this.emitFrame();
    }
    for (; i + 1 < bytes.length; i += 2) {
      frame[this.frameFill++] = ((bytes[i] | (bytes[i + 1] << 8)) << 16) >> 16;
      if (this.frameFill === frameLen) this.emitFrame();
    }
    if (i < bytes.length) this.carryByte = bytes[i];
  }

  private emitFrame(): void {
    this.frameFill = 0;
    this.emit('audio', this.frame);
  }
}
