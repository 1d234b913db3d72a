/**
 * Deepgram live streaming STT (`wss://api.deepgram.com/v1/listen`): one WebSocket per session,
 * raw little-endian PCM16 as binary frames, JSON control messages (KeepAlive, Finalize, CloseStream)
 * as text frames, and `Results` messages back with interim (`is_final: false`) and final transcripts.
 */
import { EventEmitter } from 'node:events';
import { endianness } from 'node:os';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import type { Logger } from '../../logger.js';
import { systemClock, type Clock, type TimerHandle } from '../../runtime/clock.js';
import type { SttProvider, SttSession, SttSessionEventMap, SttSessionOptions } from './provider.js';

export interface DeepgramSttOptions {
  apiKey: string;
  /** ws(s):// or http(s):// origin of the API; defaults to wss://api.deepgram.com. */
  baseUrl?: string;
  /** Deepgram model, e.g. nova-2 (default) or nova-3. */
  model?: string;
  /** Deepgram's own endpointing (ms of silence before speech_final); omitted uses Deepgram's default. */
  endpointingMs?: number;
  /** Deepgram closes a stream that receives nothing for 10 s; a KeepAlive is sent after this much quiet. Default 4000. */
  keepAliveMs?: number;
  /** Audio kept while the socket is still opening; older frames beyond this are dropped. Default 5000 ms. */
  maxPendingAudioMs?: number;
  /** Opening handshake deadline; a Deepgram that accepts TCP but never answers fails the session. Default 10000. */
  connectTimeoutMs?: number;
  /** How long close() waits for Deepgram to flush and close before dropping the socket. Default 5000. */
  closeTimeoutMs?: number;
  clock?: Clock;
  logger: Logger;
}

const DEFAULT_BASE_URL = 'wss://api.deepgram.com';
const KEEP_ALIVE = JSON.stringify({ type: 'KeepAlive' });
const FINALIZE = JSON.stringify({ type: 'Finalize' });
const CLOSE_STREAM = JSON.stringify({ type: 'CloseStream' });
const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';
/** Error bodies are short JSON; cap what we read from a rejected upgrade. */
const MAX_ERROR_BODY = 4096;

export class DeepgramSttProvider implements SttProvider {
  readonly name = 'deepgram';
  private readonly listenUrl: string;

  constructor(private readonly options: DeepgramSttOptions) {
    if (typeof options.apiKey !== 'string' || options.apiKey.trim() === '') {
      throw new TypeError('Deepgram STT: apiKey must be a non-empty string');
    }
    const base = options.baseUrl ?? DEFAULT_BASE_URL;
    let url: URL;
    try {
      url = new URL(base);
    } catch {
      throw new TypeError(`Deepgram STT: baseUrl "${base}" is not a valid URL`);
    }
    if (url.protocol === 'https:') url.protocol = 'wss:';
    else if (url.protocol === 'http:') url.protocol = 'ws:';
    else if (url.protocol !== 'wss:' && url.protocol !== 'ws:') {
      throw new TypeError(`Deepgram STT: baseUrl "${base}" must use ws, wss, http or https`);
    }
    if (options.endpointingMs !== undefined && !(Number.isInteger(options.endpointingMs) && options.endpointingMs >= 0)) {
      throw new TypeError(`Deepgram STT: endpointingMs must be a non-negative integer, got ${String(options.endpointingMs)}`);
    }
    this.listenUrl = `${url.origin}${url.pathname.replace(/\/+$/, '')}/v1/listen`;
  }

  startSession(options: SttSessionOptions): SttSession {
    return new DeepgramSttSession(this.options, this.listenUrl, options);
  }

  /** The full listen URL a session with these options connects to (query included). */
  sessionUrl(options: SttSessionOptions): string {
    return buildListenUrl(this.listenUrl, this.options, options);
  }
}

function buildListenUrl(listenUrl: string, provider: DeepgramSttOptions, session: SttSessionOptions): string {
  const model = provider.model ?? 'nova-2';
  const query = new URLSearchParams({
    encoding: 'linear16',
    sample_rate: String(session.sampleRate),
    channels: '1',
    interim_results: 'true',
    punctuate: String(session.punctuation ?? true),
    language: session.language,
    model,
  });
  if (provider.endpointingMs !== undefined) query.set('endpointing', String(provider.endpointingMs));
  // nova-3 replaced boosted `keywords` with `keyterm` (no boost); older models take `word:boost`.
  const keyterms = model.startsWith('nova-3');
  for (const hint of session.hints ?? []) {
    const phrase = hint.trim();
    if (phrase === '') continue;
    if (keyterms) query.append('keyterm', phrase);
    else query.append('keywords', session.hintBoost !== undefined ? `${phrase}:${session.hintBoost}` : phrase);
  }
  return `${listenUrl}?${query.toString()}`;
}

function validateSessionOptions(options: SttSessionOptions): string | undefined {
  if (!Number.isInteger(options.sampleRate) || options.sampleRate <= 0) {
    return `sampleRate must be a positive integer, got ${String(options.sampleRate)}`;
  }
  if (typeof options.language !== 'string' || options.language.trim() === '') {
    return 'language must be a non-empty string (e.g. "en-US")';
  }
  if (options.hintBoost !== undefined && !Number.isFinite(options.hintBoost)) {
    return `hintBoost must be a finite number, got ${String(options.hintBoost)}`;
  }
  return undefined;
}

type SessionState = 'connecting' | 'open' | 'closing' | 'closed' | 'failed';

interface DeepgramAlternative {
  transcript?: unknown;
  confidence?: unknown;
}

export class DeepgramSttSession extends EventEmitter<SttSessionEventMap> implements SttSession {
  private state: SessionState = 'connecting';
  private readonly ws: WebSocket | undefined;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly keepAliveMs: number;
  private readonly closeTimeoutMs: number;
  /** Copies of frames written before the socket opened (the caller may reuse its frame buffer). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly maxPendingBytes: number;
  private droppedFrames = 0;
  private finalizeOnOpen = false;
  private closeOnOpen = false;
  private audioSinceKeepAliveCheck = false;
  private keepAliveTimer: TimerHandle | undefined;
  private closeTimer: TimerHandle | undefined;
  /** Byte view of the last frame written: callers that refill one frame buffer cost no allocation here. */
  private lastFrame: Int16Array | undefined;
  private lastFrameBytes: Buffer | undefined;
  /** Reused for byte-swapping on big-endian hosts, where Int16Array memory is not the wire order. */
  private swapBuffer: Buffer | undefined;

  constructor(provider: DeepgramSttOptions, listenUrl: string, options: SttSessionOptions) {
    super();
    this.clock = provider.clock ?? systemClock;
    this.keepAliveMs = provider.keepAliveMs ?? 4000;
    this.closeTimeoutMs = provider.closeTimeoutMs ?? 5000;
    const rate = Number.isInteger(options.sampleRate) && options.sampleRate > 0 ? options.sampleRate : 8000;
    this.maxPendingBytes = Math.ceil(((provider.maxPendingAudioMs ?? 5000) / 1000) * rate) * 2;
    this.log = provider.logger.child({ stt: 'deepgram' });

    const invalid = validateSessionOptions(options);
    if (invalid) {
      this.state = 'failed';
      // Emit after the caller had a chance to attach listeners.
      queueMicrotask(() => this.emitFailure(new Error(`Deepgram STT: ${invalid}`)));
      return;
    }

    const url = buildListenUrl(listenUrl, provider, options);
    this.ws = new WebSocket(url, {
      headers: { Authorization: `Token ${provider.apiKey}` },
      handshakeTimeout: provider.connectTimeoutMs ?? 10_000,
      // Compression would hold a reference to the caller's frame until deflated (and PCM barely compresses).
      perMessageDeflate: false,
    });
    this.ws.binaryType = 'nodebuffer';
    this.ws.on('open', () => this.onOpen());
    this.ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    this.ws.on('unexpected-response', (req, res) => this.onRejected(req, res));
    this.ws.on('error', (err) => this.onSocketError(err));
    this.ws.on('close', (code, reason) => this.onClose(code, reason.toString('utf8')));
  }

  write(frame: Int16Array): void {
    try {
      if (this.state === 'open') {
        this.sendAudio(frame);
      } else if (this.state === 'connecting' && !this.closeOnOpen) {
        this.bufferWhileConnecting(frame);
      }
    } catch (err) {
      // A send on a socket that is going away: the close/error handlers report it.
      this.log.debug({ err }, 'deepgram audio send failed');
    }
  }

  endOfUtterance(): void {
    if (this.state === 'open') this.sendText(FINALIZE);
    else if (this.state === 'connecting') this.finalizeOnOpen = true;
  }

  close(): void {
    if (this.state === 'connecting') {
      // Flush what the caller already said once the socket opens, then close as usual.
      if (this.pendingBytes > 0) this.closeOnOpen = true;
      else this.shutdown(() => this.ws?.terminate());
      return;
    }
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.cancelKeepAlive();
    // CloseStream makes Deepgram flush final results and Metadata, then close the socket itself.
    this.sendText(CLOSE_STREAM);
    this.closeTimer = this.clock.setTimeout(() => {
      this.log.warn('deepgram did not close the stream after CloseStream; dropping the socket');
      this.shutdown(() => this.ws?.terminate());
    }, this.closeTimeoutMs);
  }

  private bufferWhileConnecting(frame: Int16Array): void {
    const copy = Buffer.allocUnsafe(frame.byteLength);
    this.copyAsLittleEndian(frame, copy);
    this.pending.push(copy);
    this.pendingBytes += copy.byteLength;
    while (this.pendingBytes > this.maxPendingBytes && this.pending.length > 0) {
      this.pendingBytes -= this.pending.shift()!.byteLength;
      this.droppedFrames++;
    }
  }

  private sendAudio(frame: Int16Array): void {
    this.audioSinceKeepAliveCheck = true;
    if (HOST_IS_LITTLE_ENDIAN) {
      if (frame !== this.lastFrame) {
        this.lastFrame = frame;
        this.lastFrameBytes = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
      }
      // ws copies read-only (Buffer) data while masking, so the caller's frame is never mutated.
      this.ws!.send(this.lastFrameBytes!, { binary: true });
      return;
    }
    if (!this.swapBuffer || this.swapBuffer.byteLength !== frame.byteLength) {
      this.swapBuffer = Buffer.allocUnsafe(frame.byteLength);
    }
    this.copyAsLittleEndian(frame, this.swapBuffer);
    this.ws!.send(this.swapBuffer, { binary: true });
  }

  private copyAsLittleEndian(frame: Int16Array, target: Buffer): void {
    if (HOST_IS_LITTLE_ENDIAN) {
      Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).copy(target);
      return;
    }
    for (let i = 0; i < frame.length; i++) target.writeInt16LE(frame[i]!, i * 2);
  }

  private sendText(message: string): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(message);
  }

  private onOpen(): void {
    if (this.state !== 'connecting') return;
    this.state = 'open';
    if (this.droppedFrames > 0) {
      this.log.warn({ droppedFrames: this.droppedFrames }, 'deepgram connected late; oldest buffered audio dropped');
    }
    for (const chunk of this.pending) this.ws!.send(chunk, { binary: true });
    if (this.pending.length > 0) this.audioSinceKeepAliveCheck = true;
    this.pending = [];
    this.pendingBytes = 0;
    if (this.finalizeOnOpen) this.sendText(FINALIZE);
    if (this.closeOnOpen) {
      this.close();
      return;
    }
    this.scheduleKeepAlive();
  }

  private scheduleKeepAlive(): void {
    this.keepAliveTimer = this.clock.setTimeout(() => {
      if (this.state !== 'open') return;
      // Only quiet periods need a KeepAlive: streamed audio already keeps the connection alive.
      if (!this.audioSinceKeepAliveCheck) this.sendText(KEEP_ALIVE);
      this.audioSinceKeepAliveCheck = false;
      this.scheduleKeepAlive();
    }, this.keepAliveMs);
  }

  private cancelKeepAlive(): void {
    this.keepAliveTimer?.cancel();
    this.keepAliveTimer = undefined;
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.state === 'failed' || this.state === 'closed') return;
    if (isBinary) {
      this.fail(new Error(`Deepgram STT: unexpected binary message (${data.byteLength} bytes) from Deepgram`));
      return;
    }
    const text = data.toString('utf8');
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.fail(new Error(`Deepgram STT: malformed JSON from Deepgram: ${snippet(text)}`));
      return;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      this.fail(new Error(`Deepgram STT: expected a JSON object from Deepgram, got ${snippet(text)}`));
      return;
    }
    const msg = message as Record<string, unknown>;
    switch (msg.type) {
      case 'Results':
        this.onResults(msg, text);
        return;
      case 'Metadata':
      case 'SpeechStarted':
      case 'UtteranceEnd':
        return;
      case 'Error': {
        const description = typeof msg.description === 'string' ? msg.description : snippet(text);
        const variant = typeof msg.variant === 'string' ? ` (${msg.variant})` : '';
        this.fail(new Error(`Deepgram STT: Deepgram reported an error${variant}: ${description}`));
        return;
      }
      default:
        this.log.debug({ type: msg.type }, 'deepgram message of unknown type ignored');
    }
  }

  private onResults(msg: Record<string, unknown>, raw: string): void {
    const channel = msg.channel as { alternatives?: unknown } | undefined;
    const alternatives = channel?.alternatives;
    if (!Array.isArray(alternatives)) {
      this.fail(new Error(`Deepgram STT: Results message without channel.alternatives: ${snippet(raw)}`));
      return;
    }
    const best = alternatives[0] as DeepgramAlternative | undefined;
    if (best === undefined) return;
    if (typeof best.transcript !== 'string') {
      this.fail(new Error(`Deepgram STT: Results alternative without a transcript string: ${snippet(raw)}`));
      return;
    }
    const text = best.transcript.trim();
    // Deepgram sends empty transcripts for silence and for a Finalize with nothing buffered.
    if (text === '') return;
    const final = msg.is_final === true;
    const confidence = typeof best.confidence === 'number' ? best.confidence : undefined;
    this.emit('result', confidence === undefined ? { text, final } : { text, final, confidence });
  }

  private onRejected(_req: unknown, res: IncomingMessage): void {
    if (this.state !== 'connecting') return;
    this.state = 'failed';
    const status = res.statusCode ?? 0;
    const dgError = headerValue(res.headers['dg-error']);
    const requestId = headerValue(res.headers['dg-request-id']);
    const chunks: Buffer[] = [];
    let size = 0;
    const report = (): void => {
      const body = Buffer.concat(chunks).toString('utf8').trim();
      const hint = status === 401 ? ' (invalid or missing API key)' : status === 403 ? ' (API key lacks permission)' : '';
      const parts = [`Deepgram STT: Deepgram rejected the connection with HTTP ${status}${hint}`];
      if (dgError) parts.push(`dg-error: ${dgError}`);
      if (requestId) parts.push(`dg-request-id: ${requestId}`);
      if (body) parts.push(`body: ${snippet(body)}`);
      this.emitFailure(new Error(parts.join('; ')));
      res.destroy();
      this.ws?.terminate();
    };
    res.on('data', (chunk: Buffer) => {
      if (size < MAX_ERROR_BODY) chunks.push(chunk);
      size += chunk.byteLength;
    });
    res.once('end', report);
    res.once('error', report);
  }

  private onSocketError(err: Error): void {
    if (this.state === 'failed' || this.state === 'closed') return;
    const code = (err as NodeJS.ErrnoException).code;
    this.fail(new Error(`Deepgram STT: connection error${code ? ` (${code})` : ''}: ${err.message}`));
  }

  private onClose(code: number, reason: string): void {
    this.cancelKeepAlive();
    this.closeTimer?.cancel();
    this.pending = [];
    const was = this.state;
    if (was === 'failed' || was === 'closed') return;
    this.state = 'closed';
    if (was === 'closing') return;
    this.emitFailure(
      new Error(`Deepgram STT: Deepgram closed the stream unexpectedly (code ${code}${reason ? `, reason "${reason}"` : ''})`),
    );
  }

  /** Ends the session after an error: the failure is reported once and the socket dropped. */
  private fail(error: Error): void {
    if (this.state === 'failed' || this.state === 'closed') return;
    this.state = 'failed';
    this.cancelKeepAlive();
    this.closeTimer?.cancel();
    this.emitFailure(error);
    this.ws?.terminate();
  }

  private shutdown(drop: () => void): void {
    this.state = 'closed';
    this.cancelKeepAlive();
    this.closeTimer?.cancel();
    this.pending = [];
    drop();
  }

  private emitFailure(error: Error): void {
    this.log.warn({ err: error.message }, 'deepgram stt session failed');
    this.emit('failure', error);
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function snippet(text: string): string {
  return text.length > 200 ? `${JSON.stringify(text.slice(0, 200))}…` : JSON.stringify(text);
}
