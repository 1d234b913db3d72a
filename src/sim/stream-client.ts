/**
 * Plivo's side of an audio stream (<Stream>): a WebSocket client that connects to the application,
 * sends `start`, a `media` frame every 20 ms (the caller's voice, paced by the shared ticker) and `dtmf`
 * events, and for bidirectional streams plays `playAudio` in real time, acknowledges `checkpoint` with
 * `playedStream` once everything before it has played, and answers `clearAudio` with `clearedAudio`.
 * Protocol mistakes by the application are logged and counted, and the offending message is dropped,
 * as real Plivo silently plays nothing.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { TimerHandle } from '../runtime/clock.js';
import { decodeMuLaw, encodeMuLaw } from '../media/g711.js';
import { resample } from '../media/resample.js';
import { signedHeaders } from './app-requests.js';
import { LatenessHistogram } from './realtime-ticker.js';
import { FRAME_SAMPLES_8K, type SimCall } from './sim-call.js';
import { HEARD_RATE } from './virtual-party.js';
import { PlayoutQueue } from './playout-queue.js';

export interface StreamFormat {
  encoding: 'audio/x-mulaw' | 'audio/x-l16';
  sampleRate: 8000 | 16000;
}

export const DEFAULT_STREAM_CONTENT_TYPE = 'audio/x-l16;rate=8000';
/** Plivo rejects WebSocket messages over 64 KB. */
const MAX_MESSAGE_BYTES = 64 * 1024;

export class StreamConfigError extends Error {}

/** `audio/x-mulaw;rate=8000`, `audio/x-l16;rate=8000` or `audio/x-l16;rate=16000`. */
export function parseStreamContentType(raw: string): StreamFormat {
  const [type, ...params] = raw.split(';').map((s) => s.trim());
  const rateParam = params.find((p) => p.startsWith('rate='));
  const rate = rateParam ? Number(rateParam.slice(5)) : 8000;
  if (type === 'audio/x-mulaw' && rate === 8000) return { encoding: type, sampleRate: 8000 };
  if (type === 'audio/x-l16' && (rate === 8000 || rate === 16000)) return { encoding: type, sampleRate: rate };
  throw new StreamConfigError(`contentType "${raw}" is not supported by Plivo (expected audio/x-mulaw;rate=8000, audio/x-l16;rate=8000 or audio/x-l16;rate=16000)`);
}

export interface StreamClientOptions {
  url: string;
  format: StreamFormat;
  contentType: string;
  bidirectional: boolean;
  audioTrack: 'inbound' | 'outbound' | 'both';
  extraHeaders?: string;
  streamTimeoutSec: number;
}

export interface StreamStats {
  framesSent: number;
  /** 20 ms (8 kHz) frames of audio received in playAudio. */
  framesReceived: number;
  /** 20 ms frames of that audio played into the caller's ear. */
  framesPlayed: number;
  playAudioMessages: number;
  checkpointsAcked: number;
  protocolErrors: number;
  lateness: LatenessHistogram;
}

export class PlivoStreamClient {
  readonly streamId = randomUUID();
  readonly stats: StreamStats = {
    framesSent: 0,
    framesReceived: 0,
    framesPlayed: 0,
    playAudioMessages: 0,
    checkpointsAcked: 0,
    protocolErrors: 0,
    lateness: new LatenessHistogram(),
  };
  /** Resolves with the reason once the socket is closed (by either side) or never opened. */
  readonly closed: Promise<string>;
  private resolveClosed!: (reason: string) => void;
  private ws: WebSocket | undefined;
  private seq = 0;
  private chunk = 0;
  private firstFrame = -1;
  private queue: PlayoutQueue | undefined;
  private cleanups: (() => void)[] = [];
  private timeout: TimerHandle | undefined;
  private closeReason: string | undefined;
  private finished = false;
  private readonly frameSamples: number;
  private readonly mouth: Int16Array;
  private readonly mulaw = new Uint8Array(FRAME_SAMPLES_8K);

  constructor(
    private readonly call: SimCall,
    readonly opts: StreamClientOptions,
  ) {
    this.frameSamples = (opts.format.sampleRate * 20) / 1000;
    this.mouth = new Int16Array(this.frameSamples);
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  /** Connects (signed upgrade) and sends `start`; resolves false when the connection failed (already logged). */
  open(): Promise<boolean> {
    const { call, opts } = this;
    // The signature covers the http(s) form of the ws(s) URL.
    const httpUrl = opts.url.replace(/^ws(s?):/i, 'http$1:');
    const headers = signedHeaders('GET', httpUrl, {}, call.env.authToken);
    return new Promise((resolve) => {
      let opened = false;
      const ws = new WebSocket(opts.url, { headers, perMessageDeflate: false, handshakeTimeout: 10_000 });
      this.ws = ws;
      ws.on('open', () => {
        opened = true;
        this.onOpen();
        resolve(true);
      });
      ws.on('unexpected-response', (_req, res) => {
        call.warn(`stream ${opts.url}: upgrade rejected with HTTP ${res.statusCode}`);
        ws.terminate();
      });
      ws.on('error', (err) => {
        if (!opened) call.warn(`stream ${opts.url}: could not connect: ${err.message}`);
        else call.logger.warn({ err: err.message, streamId: this.streamId }, 'stream socket error');
      });
      ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
      ws.on('close', (code, reason) => {
        if (!opened) resolve(false);
        this.finish(this.closeReason ?? `socket closed by the server (code ${code}${reason.length ? `, ${reason.toString()}` : ''})`);
      });
    });
  }

  /** Closes the stream from Plivo's side (hangup, transfer, streamTimeout). */
  close(reason: string): void {
    this.closeReason ??= reason;
    if (this.ws && this.ws.readyState !== WebSocket.CLOSED) this.ws.close(1000, reason.slice(0, 100));
    else this.finish(reason);
  }

  private onOpen(): void {
    const { call, opts } = this;
    const start: Record<string, unknown> = {
      event: 'start',
      sequenceNumber: ++this.seq,
      start: {
        callId: call.callUuid,
        streamId: this.streamId,
        accountId: call.env.authId,
        tracks: opts.audioTrack === 'both' ? ['inbound', 'outbound'] : [opts.audioTrack],
        mediaFormat: { encoding: opts.format.encoding, sampleRate: opts.format.sampleRate },
      },
      extra_headers: opts.extraHeaders ?? '',
    };
    this.ws!.send(JSON.stringify(start));
    call.record({ type: 'stream-start', streamId: this.streamId, url: opts.url, contentType: opts.contentType });
    if (opts.bidirectional) {
      const queue = new PlayoutQueue();
      this.queue = queue;
      const removeEar = call.addEarSource({
        label: 'stream',
        pull: (out) => {
          const n = queue.pull(out);
          if (n > 0) {
            this.stats.framesPlayed += n / FRAME_SAMPLES_8K;
            call.env.stats.framesPlayed += n / FRAME_SAMPLES_8K;
          }
          return n;
        },
      });
      this.cleanups.push(removeEar, () => queue.clear(false));
    }
    this.cleanups.push(call.addFrameTap((i, due, now, ear) => this.onFrame(i, due, now, ear)));
    this.cleanups.push(call.addKeyListener((digit) => this.onKey(digit)));
    this.cleanups.push(call.addCloser((reason) => this.close(reason)));
    this.timeout = call.env.clock.setTimeout(() => this.close('streamTimeout reached'), opts.streamTimeoutSec * 1000);
  }

  private finish(reason: string): void {
    if (this.finished) return;
    this.finished = true;
    this.timeout?.cancel();
    for (const c of this.cleanups) c();
    this.cleanups = [];
    if (this.ws) this.call.record({ type: 'stream-stop', streamId: this.streamId, reason });
    this.resolveClosed(reason);
  }

  // ---- outbound (Plivo -> application) ----

  private onFrame(frameIndex: number, dueAt: number, now: number, ear: Int16Array): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (this.firstFrame < 0) this.firstFrame = frameIndex;
    const track = this.opts.audioTrack;
    const timestamp = dueAt - 20;
    if (track !== 'outbound') {
      this.call.party.speak(frameIndex, this.opts.format.sampleRate, this.mouth);
      this.sendMedia(ws, 'inbound', this.mouth, timestamp);
    }
    if (track !== 'inbound') {
      this.sendMedia(ws, 'outbound', this.opts.format.sampleRate === HEARD_RATE ? ear : resample(ear, HEARD_RATE, this.opts.format.sampleRate), timestamp);
    }
    const late = now - dueAt;
    this.stats.lateness.record(late);
    this.call.env.stats.frameLateness.record(late);
  }

  private sendMedia(ws: WebSocket, track: string, pcm: Int16Array, timestamp: number): void {
    let payload: string;
    if (this.opts.format.encoding === 'audio/x-mulaw') {
      const bytes = encodeMuLaw(pcm, this.mulaw);
      payload = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
    } else {
      // L16 is little-endian; Int16Array memory is little-endian on every platform Node supports in practice.
      payload = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).toString('base64');
    }
    this.chunk++;
    ws.send(
      `{"event":"media","sequenceNumber":${++this.seq},"streamId":"${this.streamId}","media":{"track":"${track}","timestamp":"${timestamp}","chunk":${this.chunk},"payload":"${payload}"}}`,
    );
    this.stats.framesSent++;
    this.call.env.stats.framesSent++;
  }

  private onKey(digit: string): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(
      JSON.stringify({
        event: 'dtmf',
        sequenceNumber: ++this.seq,
        streamId: this.streamId,
        dtmf: { track: 'inbound', digit, timestamp: String(this.call.env.clock.now()) },
      }),
    );
    return true;
  }

  private sendEvent(event: Record<string, unknown>): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ ...event, sequenceNumber: ++this.seq, streamId: this.streamId }));
  }

  // ---- inbound (application -> Plivo) ----

  private protocolError(message: string): void {
    this.stats.protocolErrors++;
    this.call.env.stats.protocolErrors++;
    this.call.warn(`stream protocol error: ${message}`, { streamId: this.streamId });
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) return this.protocolError('binary WebSocket message (Plivo expects JSON text frames)');
    if (data.length > MAX_MESSAGE_BYTES) return this.protocolError(`message of ${data.length} bytes exceeds Plivo's 64 KB limit; dropped`);
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    } catch {
      return this.protocolError('message is not valid JSON');
    }
    if (typeof msg !== 'object' || msg === null) return this.protocolError('message is not a JSON object');
    switch (msg.event) {
      case 'playAudio':
        return this.onPlayAudio(msg);
      case 'checkpoint':
        return this.onCheckpoint(msg);
      case 'clearAudio':
        return this.onClearAudio();
      case 'sendDTMF':
        return this.onSendDtmf(msg);
      default:
        return this.protocolError(`unknown event ${JSON.stringify(msg.event)}`);
    }
  }

  private onPlayAudio(msg: Record<string, unknown>): void {
    const { format } = this.opts;
    if (!this.opts.bidirectional || !this.queue) return this.protocolError('playAudio on a stream that is not bidirectional: Plivo plays nothing');
    const media = msg.media as Record<string, unknown> | undefined;
    if (!media || typeof media.payload !== 'string') return this.protocolError('playAudio without media.payload');
    const contentType = typeof media.contentType === 'string' ? media.contentType.split(';')[0].trim() : undefined;
    const sampleRate = Number(media.sampleRate);
    if (contentType !== format.encoding || sampleRate !== format.sampleRate) {
      return this.protocolError(
        `playAudio contentType ${String(media.contentType)} sampleRate ${String(media.sampleRate)} does not match the stream's ${format.encoding} ${format.sampleRate}: Plivo plays nothing`,
      );
    }
    const bytes = Buffer.from(media.payload, 'base64');
    let pcm: Int16Array;
    if (format.encoding === 'audio/x-mulaw') {
      pcm = decodeMuLaw(bytes);
    } else {
      if (bytes.length % 2 !== 0) return this.protocolError(`playAudio L16 payload has an odd byte count (${bytes.length})`);
      pcm = new Int16Array(bytes.length / 2);
      for (let i = 0; i < pcm.length; i++) pcm[i] = bytes.readInt16LE(i * 2);
      if (format.sampleRate !== HEARD_RATE) pcm = resample(pcm, format.sampleRate, HEARD_RATE);
    }
    this.stats.playAudioMessages++;
    this.stats.framesReceived += pcm.length / FRAME_SAMPLES_8K;
    this.call.env.stats.framesReceived += pcm.length / FRAME_SAMPLES_8K;
    this.queue.push(pcm);
  }

  private onCheckpoint(msg: Record<string, unknown>): void {
    if (!this.queue) return this.protocolError('checkpoint on a stream that is not bidirectional');
    const name = msg.name;
    if (typeof name !== 'string' || !name) return this.protocolError('checkpoint without a name');
    this.queue.mark(() => {
      this.stats.checkpointsAcked++;
      this.sendEvent({ event: 'playedStream', name });
      this.call.record({ type: 'checkpoint', streamId: this.streamId, name });
    });
  }

  private onClearAudio(): void {
    if (!this.queue) return this.protocolError('clearAudio on a stream that is not bidirectional');
    const droppedMs = Math.round((this.queue.pendingSamples * 1000) / HEARD_RATE);
    // Checkpoints still queued are dropped with the audio: only clearedAudio answers a clear.
    this.queue.clear(false);
    this.sendEvent({ event: 'clearedAudio' });
    this.call.record({ type: 'cleared', streamId: this.streamId, droppedMs });
  }

  private onSendDtmf(msg: Record<string, unknown>): void {
    const digits = msg.dtmf;
    if (typeof digits !== 'string' || !/^[0-9*#A-D]+$/.test(digits)) {
      return this.protocolError(`sendDTMF dtmf must be digits 0-9 * # A-D, got ${JSON.stringify(digits)}`);
    }
    this.call.partyHearsDigits(digits, 'stream');
  }
}
