/**
 * One carrier media stream WebSocket as a uniform CarrierLeg, whatever the carrier: the socket's
 * lifecycle, outbound pacing, 20 ms framing of caller audio, the codec and rate-limited warnings live
 * here; the carrier's message format is its MediaWire, and its call control (REST transfer and hangup)
 * is given as a StreamCallControl. Created once the stream's `start` named a live call; from then on
 * it owns the socket.
 */
import { EventEmitter } from 'node:events';
import { endianness } from 'node:os';
import type { WebSocket, RawData } from 'ws';
import type { CallEnd, CarrierLeg, LegCapabilities, LegEventMap, LegHangup, LegSampleRate, TransferRequest } from '../leg.js';
import type { Logger } from '../../logger.js';
import type { Clock } from '../../runtime/clock.js';
import { samplesPerFrame } from '../../media/audio.js';
import { decodeMuLaw, encodeMuLaw } from '../../media/g711.js';
import type { StreamMediaFormat, StreamStart, StreamWriter, WireReader } from './media-wire.js';
import { RateLimitedWarnings } from '../../runtime/rate-limited-warnings.js';

const LITTLE_ENDIAN_HOST = endianness() === 'LE';
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;

/** What the carrier does for the call beyond its audio; a missing method is a missing capability. */
export interface StreamCallControl {
  /** Moves the caller to `target`; rejects with the carrier's reason. */
  transfer?(target: string, headers?: Record<string, string>): Promise<void>;
  /** Ends the call at the carrier. Without it, closing the stream ends the call. */
  hangup?(reason: string): Promise<void>;
  /** Out-of-band DTMF, for carriers whose stream protocol has none. */
  sendDtmf?(digits: string): Promise<void>;
}

/** Size of one ws message in bytes, however ws delivered it. */
export function messageSize(data: RawData): number {
  return Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data instanceof ArrayBuffer ? data.byteLength : data.length;
}

export function messageBuffer(data: RawData): Buffer {
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
}

/** WebSocket close reasons are limited to 123 bytes. */
export function closeReason(text: string): string {
  const buf = Buffer.from(text, 'utf8');
  return buf.length <= 123 ? text : buf.subarray(0, 120).toString('utf8') + '...';
}

export interface WebSocketLegOptions {
  socket: WebSocket;
  /** The carrier's name on records and logs: "plivo", "twilio". */
  carrier: string;
  /** How messages name the carrier: "Plivo", "Twilio". */
  label: string;
  /** The log field for the carrier's call id: "callUuid", "callSid". */
  callIdField: string;
  /** Voxgate's call id. */
  callId: string;
  start: StreamStart;
  reader: WireReader;
  writer: StreamWriter;
  control: StreamCallControl;
  logger: Logger;
  clock: Clock;
  maxMessageBytes?: number;
}

export class WebSocketLeg extends EventEmitter<LegEventMap> implements CarrierLeg {
  readonly callId: string;
  readonly carrier: string;
  readonly carrierCallId: string;
  readonly streamId: string;
  readonly sampleRate: LegSampleRate;
  readonly format: StreamMediaFormat;
  readonly capabilities: LegCapabilities;

  private readonly socket: WebSocket;
  private readonly label: string;
  private readonly reader: WireReader;
  private readonly writer: StreamWriter;
  private readonly control: StreamCallControl;
  private readonly logger: Logger;
  private readonly maxMessageBytes: number;
  private readonly warnings: RateLimitedWarnings;
  /** Audio and marks waiting to be sent, in order. */
  private readonly outbound: ({ samples: Int16Array; offset: number } | { mark: string })[] = [];
  private sendScheduled = false;
  /** One 20 ms frame, filled across chunks and handed to every `audio` listener. */
  private readonly frame: Int16Array;
  private frameFill = 0;
  /** An L16 chunk with an odd byte count leaves half a sample for the next chunk. */
  private carryByte = -1;
  private readonly encodeScratch: Buffer;
  private ended = false;
  /** Set when Voxgate asked for the end, so the socket close is reported as the gateway's doing. */
  private gatewayEnd?: string;

  constructor(options: WebSocketLegOptions) {
    super();
    this.socket = options.socket;
    this.callId = options.callId;
    this.carrier = options.carrier;
    this.label = options.label;
    this.carrierCallId = options.start.carrierCallId;
    this.streamId = options.start.streamId;
    this.format = options.start.format;
    this.sampleRate = options.start.format.sampleRate;
    this.reader = options.reader;
    this.writer = options.writer;
    this.control = options.control;
    this.logger = options.logger.child({ callId: options.callId, carrier: options.carrier, [options.callIdField]: this.carrierCallId, streamId: this.streamId });
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.warnings = new RateLimitedWarnings(this.logger, options.clock);
    this.frame = new Int16Array(samplesPerFrame(this.sampleRate));
    this.encodeScratch = Buffer.allocUnsafe(this.writer.maxAudioBytes);
    this.capabilities = {
      transfer: this.control.transfer !== undefined,
      // The carrier's REST API moves the call itself; Voxgate has no second media leg to bridge it with.
      bridgeTransfer: false,
      sendMetadata: false,
      sendDtmf: this.writer.dtmf !== undefined || this.control.sendDtmf !== undefined,
      record: false,
    };

    this.socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    this.socket.on('close', (code, reason) => this.onClose(code, reason.toString('utf8')));
    this.socket.on('error', (err) => this.logger.warn({ err }, `${this.label} stream socket error`));
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

  /** The mark follows the audio queued before it, so playout confirmation stays in order. */
  mark(name: string): void {
    if (!this.canSend('mark')) return;
    this.outbound.push({ mark: name });
    if (!this.sendScheduled) this.sendNext();
  }

  clear(): void {
    if (!this.canSend('clear')) return;
    this.outbound.length = 0; // audio not yet sent is dropped here rather than sent and cleared
    for (const message of this.writer.clear()) this.socket.send(message);
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
        this.socket.send(this.writer.mark(item.mark));
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

  /** Sends one audio message of at most `writer.maxAudioBytes` from `offset`; returns the next offset. */
  private sendAudioMessage(samples: Int16Array, offset: number): number {
    const maxBytes = this.writer.maxAudioBytes;
    if (this.format.encoding === 'mulaw') {
      const end = Math.min(samples.length, offset + maxBytes);
      const bytes = encodeMuLaw(samples.subarray(offset, end), this.encodeScratch);
      this.socket.send(this.writer.audio(this.encodeScratch.toString('base64', 0, bytes.length)));
      return end;
    }
    const end = Math.min(samples.length, offset + Math.floor(maxBytes / 2));
    let bytes: Buffer;
    if (LITTLE_ENDIAN_HOST) {
      bytes = Buffer.from(samples.buffer, samples.byteOffset + offset * 2, (end - offset) * 2);
    } else {
      bytes = this.encodeScratch.subarray(0, (end - offset) * 2);
      for (let i = offset; i < end; i++) bytes.writeInt16LE(samples[i], (i - offset) * 2);
    }
    this.socket.send(this.writer.audio(bytes.toString('base64')));
    return end;
  }

  /** Throws on digits outside 0-9 * # A-D (a caller bug, not wire input), and when the leg cannot send DTMF. */
  sendDtmf(digits: string): void {
    if (this.writer.dtmf) {
      const message = this.writer.dtmf(digits);
      if (this.canSend('sendDtmf')) this.socket.send(message);
      return;
    }
    if (!this.control.sendDtmf) throw new Error(`Cannot send DTMF on ${this.label} call ${this.carrierCallId}: the carrier has no way to play digits on this call`);
    this.control.sendDtmf(digits).catch((err: unknown) => this.logger.error({ err, digits }, `${this.label} DTMF not sent`));
  }

  async transfer({ target, headers }: TransferRequest): Promise<void> {
    if (!this.control.transfer) throw new Error(`Cannot transfer ${this.label} call ${this.carrierCallId}: no ${this.label} REST client configured`);
    const before = this.gatewayEnd;
    this.gatewayEnd = `Transferred to ${target}`;
    try {
      await this.control.transfer(target, headers);
    } catch (err) {
      this.gatewayEnd = before;
      throw err;
    }
    this.logger.info({ target }, `${this.label} call transferred`);
  }

  async hangup(reason: string): Promise<void> {
    if (this.ended) return;
    this.gatewayEnd = reason;
    if (this.control.hangup) {
      await this.control.hangup(reason);
      return;
    }
    // Without the REST API, closing the stream ends the call: there are no instructions to run after it.
    this.socket.close(1000, closeReason(reason));
  }

  /**
   * The carrier's hangup or status callback arrived: report it with the carrier's cause and close the
   * stream, since the carrier may keep the socket (or open another) after the call is over.
   */
  endFromCarrier(end: CallEnd): void {
    this.finish({ cause: end.cause, side: end.side });
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) {
      this.socket.close(1000, 'call ended');
    }
  }

  private canSend(what: string): boolean {
    if (this.socket.readyState === this.socket.OPEN) return true;
    if (!this.ended) this.warnings.warn('send-after-close', `${this.label} stream is not open; ${what} dropped`);
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
    const size = messageSize(data);
    if (size > this.maxMessageBytes) {
      const message = `${this.label} stream message of ${size} bytes exceeds the ${this.maxMessageBytes}-byte limit; closing the stream`;
      this.logger.warn({ size, limit: this.maxMessageBytes }, message);
      this.emit('warning', message);
      this.socket.close(1009, `message of ${size} bytes exceeds ${this.maxMessageBytes}`);
      return;
    }
    if (isBinary) {
      this.problem('binary-frame', `${this.label} stream sent a ${size}-byte binary frame; expected JSON text frames`);
      return;
    }
    const msg = this.reader.read(messageBuffer(data));
    if ('problem' in msg) {
      this.problem(msg.problemKind, msg.problem);
      return;
    }
    switch (msg.event) {
      case 'media':
        this.pushAudio(msg.payload);
        return;
      case 'dtmf':
        this.emit('dtmf', msg.digit);
        return;
      case 'mark':
        this.emit('mark', msg.name);
        return;
      case 'cleared':
        this.emit('cleared');
        return;
      case 'stop':
        this.finish(this.gatewayEnd !== undefined ? { cause: this.gatewayEnd, side: 'gateway' } : { cause: 'Stream stopped', side: 'carrier' });
        return;
      case 'start':
        this.problem('repeated-start', `${this.label} stream ${this.streamId} sent a second start event; ignored`);
        return;
      case 'ignored':
        return;
    }
  }

  /** Decodes a chunk into the frame buffer, emitting each completed 20 ms frame. */
  private pushAudio(bytes: Buffer): void {
    const frame = this.frame;
    const frameLen = frame.length;
    if (this.format.encoding === 'mulaw') {
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
