/**
 * Vosk server (alphacep/vosk-server, websocket/asr_server.py): one WebSocket per utterance. The first
 * text frame is `{"config": {...}}` (sample_rate, words, phrase_list); then binary little-endian PCM16,
 * each chunk answered with `{"partial": "..."}` (interim) or, when Vosk's own endpointer closes a
 * segment, `{"text": "...", "result": [{conf, word, start, end}...]}` (final).
 *
 * Vosk has no "finalize now" message: only `{"eof" : 1}`, after which the server sends the final
 * result and closes the connection. So endOfUtterance() sends eof, and the next utterance streams on a
 * fresh connection (opened as soon as the old one closed; audio in between is kept, bounded).
 */
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import type { Logger } from '../../logger.js';
import { systemClock, type Clock, type TimerHandle } from '../../runtime/clock.js';
import { StreamResampler } from '../../media/resample.js';
import { resolveSecret, secretSchema } from '../../runtime/secrets.js';
import type { SttProvider, SttResult, SttSession, SttSessionEventMap, SttSessionOptions } from './provider.js';
import { pcm16LittleEndian } from './pcm16-wire.js';
import { snippet } from './quoted-snippet.js';
import { WebSocketSttConnection, type UpgradeRefusal } from './websocket-stt-connection.js';

const PROVIDER = 'Vosk STT';
/** asr_server.py compares the text frame with this exact string (spaces included); `{"eof":1}` is taken for audio. */
const EOF = '{"eof" : 1}';
/** What a phrase-list (grammar) recognizer outputs for speech outside the list. */
const UNKNOWN_WORD = '[unk]';
const DEFAULT_IDLE_TIMEOUT_MS = 8000;

export const voskConfigSchema = z
  .object({
    /** ws(s):// URL of the Vosk server, e.g. ws://vosk:2700. */
    url: z
      .string()
      .url()
      .refine((u) => /^wss?:\/\//i.test(u), { message: 'must be a ws:// or wss:// URL' }),
    /** Rate the server's model wants (e.g. 16000); audio is resampled to it. Default: the call's rate (Vosk resamples). */
    sampleRate: z.number().int().min(8000).max(48000).optional(),
    connectTimeoutMs: z.number().int().positive().optional(),
    /** Vosk answers every audio message: once audio went out, a message must follow within this long, or the session fails. Default 8000; 0 = not watched. */
    idleTimeoutMs: z.number().int().min(0).max(120_000).optional(),
    /** vosk-server has no auth; sent as `Authorization: Bearer` for a proxy in front of it. */
    apiKey: secretSchema.optional(),
    /** Send the session hints as `phrase_list` (restricts recognition to them, small models only). Default true. */
    hintsAsPhraseList: z.boolean().optional(),
  })
  .strict();
export type VoskConfig = z.infer<typeof voskConfigSchema>;

export interface VoskSttOptions {
  url: string;
  apiKey?: string;
  sampleRate?: number;
  /** Opening handshake deadline for each connection. Default 10000 ms. */
  connectTimeoutMs?: number;
  /** Longest wait for any message once audio went out (a stalled server fails the session). Default 8000 ms; 0 = not watched. */
  idleTimeoutMs?: number;
  /** How long to wait for the final result and close after `{"eof" : 1}`. Default 5000 ms. */
  eofTimeoutMs?: number;
  /** Audio kept while a connection opens or the previous one finishes; older audio is dropped. Default 5000 ms. */
  maxPendingAudioMs?: number;
  hintsAsPhraseList?: boolean;
  clock?: Clock;
  logger: Logger;
}

/** Provider options from the `vosk` STT config section. */
export function voskSttOptions(config: VoskConfig, deps: { logger: Logger; env?: NodeJS.ProcessEnv; clock?: Clock }): VoskSttOptions {
  const apiKey = resolveSecret(config.apiKey, 'stt.vosk.apiKey', deps.env ?? process.env);
  return { ...config, apiKey, logger: deps.logger, ...(deps.clock ? { clock: deps.clock } : {}) };
}

export class VoskSttProvider implements SttProvider {
  readonly name = 'vosk';

  constructor(private readonly options: VoskSttOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new TypeError(`${PROVIDER}: url "${String(options.url)}" is not a valid URL`);
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
      throw new TypeError(`${PROVIDER}: url "${options.url}" must use ws or wss (e.g. ws://localhost:2700)`);
    }
    if (options.sampleRate !== undefined && !(Number.isInteger(options.sampleRate) && options.sampleRate > 0)) {
      throw new TypeError(`${PROVIDER}: sampleRate must be a positive integer, got ${String(options.sampleRate)}`);
    }
    for (const name of ['connectTimeoutMs', 'eofTimeoutMs', 'maxPendingAudioMs'] as const) {
      const value = options[name];
      if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
        throw new TypeError(`${PROVIDER}: ${name} must be a positive number, got ${String(value)}`);
      }
    }
  }

  startSession(options: SttSessionOptions): SttSession {
    return new VoskSttSession(this.options, options);
  }
}

/** The config frame that opens every connection. */
export function voskConfigMessage(sampleRate: number, phraseList: string[] | undefined): string {
  const config: Record<string, unknown> = { sample_rate: sampleRate, words: true, max_alternatives: 0 };
  if (phraseList && phraseList.length > 0) config.phrase_list = phraseList;
  return JSON.stringify({ config });
}

type SessionState = 'connecting' | 'open' | 'finishing' | 'closing' | 'closed' | 'failed';

interface VoskWord {
  conf?: unknown;
  word?: unknown;
}

export class VoskSttSession extends EventEmitter<SttSessionEventMap> implements SttSession {
  private state: SessionState = 'connecting';
  private connection: WebSocketSttConnection | undefined;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly configMessage: string = '';
  private readonly resampler: StreamResampler | undefined;
  private readonly maxPendingBytes: number = 0;
  /** Sample rate of the audio on the wire (the server model's, or the call's). */
  private readonly wireRate: number = 0;
  /** Audio (wire bytes) written while no connection takes audio: opening, or the previous one finishing. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private droppedBytes = 0;
  private audioOnSocket = false;
  /** endOfUtterance() came while no connection took audio: the pending chunks before this index end an utterance. */
  private utteranceEnd: number | undefined;
  private closeOnOpen = false;
  private lastPartial = '';
  private connectTimer: TimerHandle | undefined;
  private eofTimer: TimerHandle | undefined;

  constructor(
    private readonly provider: VoskSttOptions,
    options: SttSessionOptions,
  ) {
    super();
    this.clock = provider.clock ?? systemClock;
    this.log = provider.logger.child({ stt: 'vosk' });
    const invalid = validateSessionOptions(options);
    if (invalid) {
      this.state = 'failed';
      // Emit after the caller had a chance to attach listeners.
      queueMicrotask(() => this.emitFailure(new Error(`${PROVIDER}: ${invalid}`)));
      return;
    }
    const wireRate = provider.sampleRate ?? options.sampleRate;
    this.wireRate = wireRate;
    if (wireRate !== options.sampleRate) this.resampler = new StreamResampler(options.sampleRate, wireRate);
    this.maxPendingBytes = Math.ceil(((provider.maxPendingAudioMs ?? 5000) / 1000) * wireRate) * 2;
    const hints = (options.hints ?? []).map((h) => h.trim()).filter((h) => h !== '');
    // A phrase list is a grammar: without [unk], speech outside it is forced onto the nearest phrase.
    const phraseList = provider.hintsAsPhraseList !== false && hints.length > 0 ? [...hints, UNKNOWN_WORD] : undefined;
    this.configMessage = voskConfigMessage(wireRate, phraseList);
    this.connect();
  }

  write(frame: Int16Array): void {
    if (this.state === 'failed' || this.state === 'closed' || this.state === 'closing' || this.closeOnOpen) return;
    this.forward(pcm16LittleEndian(this.resampler ? this.resampler.push(frame) : frame));
  }

  endOfUtterance(): void {
    if (this.state === 'failed' || this.state === 'closed' || this.state === 'closing') return;
    this.flushResampler();
    if (this.state === 'open') {
      // Nothing streamed on this connection: nothing to finalize.
      if (this.audioOnSocket) this.sendEof('finishing');
    } else if (this.pending.length > 0) {
      // The audio is waiting for a connection: end the utterance there; later audio starts the next one.
      this.utteranceEnd = this.pending.length;
    }
  }

  close(): void {
    switch (this.state) {
      case 'connecting':
        if (this.pendingBytes > 0) {
          // Recognize what the caller already said once the socket opens, then close as usual.
          this.flushResampler();
          this.closeOnOpen = true;
        } else {
          this.shutdown();
        }
        return;
      case 'open':
        this.flushResampler();
        if (this.audioOnSocket) this.sendEof('closing');
        else this.shutdown();
        return;
      case 'finishing':
        // The finishing connection delivers its final and closes itself; no new connection follows.
        this.state = 'closing';
        this.dropPending();
        return;
      default:
    }
  }

  private connect(): void {
    this.state = 'connecting';
    this.audioOnSocket = false;
    this.lastPartial = '';
    const headers: Record<string, string> = {};
    if (this.provider.apiKey) headers.authorization = `Bearer ${this.provider.apiKey}`;
    const replyIdle = { ms: this.provider.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, clock: this.clock, setting: 'stt.vosk.idleTimeoutMs' };
    const connection = new WebSocketSttConnection({ url: this.provider.url, headers, vendor: PROVIDER, peer: 'the Vosk server', replyIdle });
    this.connection = connection;
    const timeoutMs = this.provider.connectTimeoutMs ?? 10_000;
    this.connectTimer = this.clock.setTimeout(() => {
      if (this.connection !== connection || this.state !== 'connecting') return;
      this.fail(new Error(`${PROVIDER}: ${this.provider.url} did not complete the WebSocket handshake within ${timeoutMs} ms`));
    }, timeoutMs);
    // Events of a connection this session already moved on from are ignored.
    connection.on('open', () => this.connection === connection && this.onOpen());
    connection.on('message', (message, raw) => this.connection === connection && this.onMessage(message, raw));
    connection.on('refused', (refusal) => this.connection === connection && this.onRejected(refusal));
    connection.on('failure', (error) => this.connection === connection && this.fail(error));
    connection.on('close', (code, reason) => this.connection === connection && this.onClose(code, reason));
  }

  private onOpen(): void {
    this.connectTimer?.cancel();
    if (this.state !== 'connecting') return;
    this.state = 'open';
    this.connection!.sendText(this.configMessage);
    if (this.droppedBytes > 0) {
      this.log.warn({ droppedMs: Math.round((this.droppedBytes / 2 / this.wireRate) * 1000) }, 'vosk connected late; oldest buffered audio dropped');
      this.droppedBytes = 0;
    }
    const end = this.closeOnOpen ? undefined : this.utteranceEnd;
    this.utteranceEnd = undefined;
    const now = end === undefined ? this.pending : this.pending.slice(0, end);
    for (const chunk of now) this.connection!.sendAudio(chunk);
    this.audioOnSocket = now.length > 0;
    this.pending = end === undefined ? [] : this.pending.slice(end);
    this.pendingBytes = this.pending.reduce((n, chunk) => n + chunk.byteLength, 0);
    if (this.closeOnOpen) {
      this.closeOnOpen = false;
      this.close();
    } else if (end !== undefined && this.audioOnSocket) {
      this.sendEof('finishing');
    }
  }

  private forward(bytes: Buffer): void {
    if (bytes.byteLength === 0) return;
    if (this.state === 'open') {
      try {
        this.connection!.sendAudio(bytes);
        this.audioOnSocket = true;
      } catch (err) {
        // A send on a socket that is going away: the close/error handlers report it.
        this.log.debug({ err }, 'vosk audio send failed');
      }
      return;
    }
    this.pending.push(bytes);
    this.pendingBytes += bytes.byteLength;
    while (this.pendingBytes > this.maxPendingBytes && this.pending.length > 1) {
      const dropped = this.pending.shift()!;
      this.pendingBytes -= dropped.byteLength;
      this.droppedBytes += dropped.byteLength;
      if (this.utteranceEnd !== undefined) this.utteranceEnd = Math.max(0, this.utteranceEnd - 1);
    }
  }

  private flushResampler(): void {
    if (this.resampler) this.forward(pcm16LittleEndian(this.resampler.flush()));
  }

  /** Sends eof: Vosk answers with the final result of what it has and closes the connection. */
  private sendEof(next: 'finishing' | 'closing'): void {
    this.state = next;
    // A connection that is going away takes nothing: its close handler decides what follows.
    this.connection!.sendText(EOF);
    const timeoutMs = this.provider.eofTimeoutMs ?? 5000;
    const connection = this.connection;
    this.eofTimer = this.clock.setTimeout(() => {
      if (this.connection !== connection) return;
      if (this.state === 'closing') {
        this.log.warn('vosk did not close the connection after eof; dropping it');
        this.shutdown({ terminate: true });
        return;
      }
      this.fail(new Error(`${PROVIDER}: ${this.provider.url} sent no final result and close within ${timeoutMs} ms of eof`));
    }, timeoutMs);
  }

  private onMessage(msg: Record<string, unknown>, text: string): void {
    if (this.state === 'failed' || this.state === 'closed') return;
    if (typeof msg.partial === 'string') {
      this.onPartial(msg.partial);
    } else if (typeof msg.text === 'string') {
      this.onFinal(msg.text, Array.isArray(msg.result) ? (msg.result as VoskWord[]) : undefined);
    } else if (Array.isArray(msg.alternatives)) {
      // max_alternatives > 0 set on the server (VOSK_ALTERNATIVES) wins over ours: take the best one.
      const best = msg.alternatives[0] as { text?: unknown; confidence?: unknown } | undefined;
      if (typeof best?.text !== 'string') {
        this.fail(new Error(`${PROVIDER}: alternatives without a text string from the Vosk server: ${snippet(text)}`));
        return;
      }
      this.onFinal(best.text, undefined, typeof best.confidence === 'number' ? best.confidence : undefined);
    } else {
      this.fail(new Error(`${PROVIDER}: message with neither "partial" nor "text" from the Vosk server: ${snippet(text)}`));
    }
  }

  private onPartial(raw: string): void {
    const text = withoutUnknownWords(raw);
    // Vosk answers every chunk, mostly with the partial it sent last time (or "" during silence).
    if (text === '' || text === this.lastPartial) return;
    this.lastPartial = text;
    this.emit('result', { text, final: false });
  }

  private onFinal(raw: string, words: VoskWord[] | undefined, altConfidence?: number): void {
    this.lastPartial = '';
    const text = withoutUnknownWords(raw);
    // A final after Vosk's own endpoint leaves eof with nothing: {"text" : ""}.
    if (text === '') return;
    const known = (words ?? []).filter((w) => w.word !== UNKNOWN_WORD && typeof w.conf === 'number');
    const confidence = known.length > 0 ? known.reduce((sum, w) => sum + (w.conf as number), 0) / known.length : altConfidence;
    const result: SttResult = confidence === undefined ? { text, final: true } : { text, final: true, confidence };
    this.emit('result', result);
  }

  private onRejected({ status, body }: UpgradeRefusal): void {
    if (this.state !== 'connecting') return;
    void body.then((text) => {
      const hint = status === 401 || status === 403 ? ' (check apiKey for the proxy in front of Vosk)' : '';
      this.fail(new Error(`${PROVIDER}: ${this.provider.url} rejected the WebSocket upgrade with HTTP ${status}${hint}${text ? `: ${snippet(text)}` : ''}`));
    });
  }

  private onClose(code: number, reason: string): void {
    this.connectTimer?.cancel();
    this.eofTimer?.cancel();
    const was = this.state;
    if (was === 'failed' || was === 'closed') return;
    if (was === 'closing') {
      this.shutdown();
      return;
    }
    if (was === 'finishing') {
      if (code !== 1000) this.log.warn({ code, reason }, 'vosk closed the finished utterance\'s connection abnormally');
      // The utterance is done; the next one streams on a fresh connection.
      this.connect();
      return;
    }
    this.fail(new Error(`${PROVIDER}: the Vosk server closed the connection unexpectedly (code ${code}${reason ? `, reason "${reason}"` : ''})`));
  }

  private dropPending(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.utteranceEnd = undefined;
  }

  /** Ends the session quietly (close() path). */
  private shutdown(how: { terminate?: boolean } = {}): void {
    this.state = 'closed';
    this.connectTimer?.cancel();
    this.eofTimer?.cancel();
    this.dropPending();
    this.connection?.close(1000, { drop: how.terminate === true });
  }

  /** Ends the session after an error: the failure is reported once and the socket dropped. */
  private fail(error: Error): void {
    if (this.state === 'failed' || this.state === 'closed') return;
    this.state = 'failed';
    this.connectTimer?.cancel();
    this.eofTimer?.cancel();
    this.dropPending();
    this.emitFailure(error);
    this.connection?.terminate();
  }

  private emitFailure(error: Error): void {
    this.log.warn({ err: error.message }, 'vosk stt session failed');
    this.emit('failure', error);
  }
}

function validateSessionOptions(options: SttSessionOptions): string | undefined {
  if (!Number.isInteger(options.sampleRate) || options.sampleRate <= 0) {
    return `sampleRate must be a positive integer, got ${String(options.sampleRate)}`;
  }
  return undefined;
}

function withoutUnknownWords(text: string): string {
  return text
    .split(/\s+/)
    .filter((w) => w !== '' && w !== UNKNOWN_WORD)
    .join(' ');
}
