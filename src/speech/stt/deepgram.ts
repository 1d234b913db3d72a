/**
 * Deepgram live streaming STT (`wss://api.deepgram.com/v1/listen`): one WebSocket per session,
 * raw little-endian PCM16 as binary frames, JSON control messages (KeepAlive, Finalize, CloseStream)
 * as text frames, and `Results` messages back with interim (`is_final: false`) and final transcripts.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../logger.js';
import { systemClock, type Clock, type TimerHandle } from '../../runtime/clock.js';
import type { SttProvider, SttSession, SttSessionEventMap, SttSessionOptions } from './provider.js';
import { copyPcm16LittleEndian, hostIsLittleEndian } from './pcm16-wire.js';
import { snippet } from './quoted-snippet.js';
import { WebSocketSttConnection, type UpgradeRefusal } from './websocket-stt-connection.js';

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
  /** Deepgram answers all audio (interim and empty results): once audio went out, a message must follow within this long, or the session fails. Default 8000; 0 = not watched. */
  idleTimeoutMs?: number;
  clock?: Clock;
  logger: Logger;
}

const DEFAULT_BASE_URL = 'wss://api.deepgram.com';
const DEFAULT_IDLE_TIMEOUT_MS = 8000;
const KEEP_ALIVE = JSON.stringify({ type: 'KeepAlive' });
const FINALIZE = JSON.stringify({ type: 'Finalize' });
const CLOSE_STREAM = JSON.stringify({ type: 'CloseStream' });

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
  private readonly connection: WebSocketSttConnection | undefined;
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
    this.connection = new WebSocketSttConnection({
      url,
      headers: { Authorization: `Token ${provider.apiKey}` },
      handshakeTimeoutMs: provider.connectTimeoutMs ?? 10_000,
      vendor: 'Deepgram STT',
      peer: 'Deepgram',
      replyIdle: { ms: provider.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, clock: this.clock, setting: 'stt.deepgram.idleTimeoutMs' },
    });
    this.connection.on('open', () => this.onOpen());
    this.connection.on('message', (message, raw) => this.onMessage(message, raw));
    this.connection.on('refused', (refusal) => this.onRejected(refusal));
    this.connection.on('failure', (error) => this.fail(error));
    this.connection.on('close', (code, reason) => this.onClose(code, reason));
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
      else this.shutdown();
      return;
    }
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.connection?.stopKeepAlive();
    // CloseStream makes Deepgram flush final results and Metadata, then close the socket itself.
    this.sendText(CLOSE_STREAM);
    this.closeTimer = this.clock.setTimeout(() => {
      this.log.warn('deepgram did not close the stream after CloseStream; dropping the socket');
      this.shutdown();
    }, this.closeTimeoutMs);
  }

  private bufferWhileConnecting(frame: Int16Array): void {
    const copy = Buffer.allocUnsafe(frame.byteLength);
    copyPcm16LittleEndian(frame, copy);
    this.pending.push(copy);
    this.pendingBytes += copy.byteLength;
    while (this.pendingBytes > this.maxPendingBytes && this.pending.length > 0) {
      this.pendingBytes -= this.pending.shift()!.byteLength;
      this.droppedFrames++;
    }
  }

  private sendAudio(frame: Int16Array): void {
    if (hostIsLittleEndian) {
      if (frame !== this.lastFrame) {
        this.lastFrame = frame;
        this.lastFrameBytes = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
      }
      // ws copies read-only (Buffer) data while masking, so the caller's frame is never mutated.
      this.connection!.sendAudio(this.lastFrameBytes!);
      return;
    }
    if (!this.swapBuffer || this.swapBuffer.byteLength !== frame.byteLength) {
      this.swapBuffer = Buffer.allocUnsafe(frame.byteLength);
    }
    copyPcm16LittleEndian(frame, this.swapBuffer);
    this.connection!.sendAudio(this.swapBuffer);
  }

  private sendText(message: string): void {
    this.connection?.sendText(message);
  }

  private onOpen(): void {
    if (this.state !== 'connecting') return;
    this.state = 'open';
    if (this.droppedFrames > 0) {
      this.log.warn({ droppedFrames: this.droppedFrames }, 'deepgram connected late; oldest buffered audio dropped');
    }
    for (const chunk of this.pending) this.connection!.sendAudio(chunk);
    this.pending = [];
    this.pendingBytes = 0;
    if (this.finalizeOnOpen) this.sendText(FINALIZE);
    if (this.closeOnOpen) {
      this.close();
      return;
    }
    // Only quiet periods need a KeepAlive: streamed audio already keeps the connection alive.
    this.connection!.keepAlive(KEEP_ALIVE, this.keepAliveMs, this.clock);
  }

  private onMessage(msg: Record<string, unknown>, text: string): void {
    if (this.state === 'failed' || this.state === 'closed') return;
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

  private onRejected(refusal: UpgradeRefusal): void {
    if (this.state !== 'connecting') return;
    this.state = 'failed';
    const { status } = refusal;
    const dgError = headerValue(refusal.headers['dg-error']);
    const requestId = headerValue(refusal.headers['dg-request-id']);
    void refusal.body.then((body) => {
      const hint = status === 401 ? ' (invalid or missing API key)' : status === 403 ? ' (API key lacks permission)' : '';
      const parts = [`Deepgram STT: Deepgram rejected the connection with HTTP ${status}${hint}`];
      if (dgError) parts.push(`dg-error: ${dgError}`);
      if (requestId) parts.push(`dg-request-id: ${requestId}`);
      if (body) parts.push(`body: ${snippet(body)}`);
      this.emitFailure(new Error(parts.join('; ')));
      this.connection?.terminate();
    });
  }

  private onClose(code: number, reason: string): void {
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
    this.closeTimer?.cancel();
    this.emitFailure(error);
    this.connection?.terminate();
  }

  /** Ends the session quietly (close() path): the socket is dropped. */
  private shutdown(): void {
    this.state = 'closed';
    this.closeTimer?.cancel();
    this.pending = [];
    this.connection?.terminate();
  }

  private emitFailure(error: Error): void {
    this.log.warn({ err: error.message }, 'deepgram stt session failed');
    this.emit('failure', error);
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
