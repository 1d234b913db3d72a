/**
 * Google Cloud Speech-to-Text v1 over REST (`POST {baseUrl}/v1/speech:recognize`, synchronous
 * recognition): a session keeps the audio of the current utterance and uploads it as base64
 * LINEAR16 when local endpointing calls endOfUtterance(), giving one final result per utterance.
 *
 * Google's streaming recognition exists only over gRPC (no REST/WebSocket form), which this gateway
 * does not speak, so there are no interim results. Uploads run concurrently; results are delivered
 * in utterance order. Synchronous recognition accepts at most 60 s of audio, so a longer utterance is
 * cut into pieces of `maxUtteranceMs`.
 */
import { z } from 'zod';
import type { Logger } from '../../logger.js';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { resolveSecret, secretSchema } from '../../runtime/secrets.js';
import type { SttProvider, SttResult, SttSession, SttSessionOptions } from './provider.js';
import { UtteranceFrames } from './utterance-frames.js';
import { UtteranceSttSession } from './utterance-stt-session.js';
import { pcm16LittleEndian } from './pcm16-wire.js';
import { snippet } from './quoted-snippet.js';

const VENDOR = 'Google STT';
const DEFAULT_BASE_URL = 'https://speech.googleapis.com';
/** Sync recognize rejects more than 1 minute of audio ("Sync input too long"); stay clear of the edge. */
const MAX_SYNC_AUDIO_MS = 59_000;
/** speech:recognize limits: 5000 phrases per request, 100 characters per phrase. */
const MAX_PHRASES = 5000;
const MAX_PHRASE_CHARS = 100;
/** Error bodies are short JSON; cap what goes into a message. */
const MAX_ERROR_BODY = 4096;

export const googleSttConfigSchema = z
  .object({
    /** API key (sent as `?key=`); without it the composition root passes a service-account token source. */
    apiKey: secretSchema.optional(),
    /** RecognitionConfig.model, e.g. `telephony`, `phone_call`, `latest_short`; omitted uses Google's default. */
    model: z.string().min(1).optional(),
    /** API origin; default https://speech.googleapis.com. */
    baseUrl: z.string().url().optional(),
    /** Deadline for one recognize request, answer included. Default 10000 ms. */
    requestTimeoutMs: z.number().int().positive().optional(),
  })
  .strict();
export type GoogleSttConfig = z.infer<typeof googleSttConfigSchema>;

export interface GoogleSttOptions {
  /** Either apiKey or getAccessToken (OAuth2 Bearer, e.g. a service account's token()), not both. */
  apiKey?: string;
  getAccessToken?: () => Promise<string>;
  /** Told about a token Google refused (401), so the token source fetches a new one for the next utterance. */
  onTokenRejected?: (token: string) => void;
  model?: string;
  baseUrl?: string;
  /** Default 10000 ms. */
  requestTimeoutMs?: number;
  /** Longest audio per request; a longer utterance is split. Default and maximum 59000 ms. */
  maxUtteranceMs?: number;
  /** RMS (PCM16 units) under which a 20 ms frame is silence: silence before speech is not uploaded. Default 100; 0 keeps all. */
  silenceRms?: number;
  clock?: Clock;
  logger: Logger;
}

/** Provider options from the `google` STT config section (the API key resolved from the environment if given as `{ env }`). */
export function googleSttOptions(
  config: GoogleSttConfig,
  deps: { logger: Logger; env?: NodeJS.ProcessEnv; tokenSource?: GoogleTokenSource; clock?: Clock },
): GoogleSttOptions {
  const apiKey = resolveSecret(config.apiKey, 'stt.google.apiKey', deps.env ?? process.env);
  const source = deps.tokenSource;
  return {
    ...config,
    apiKey,
    // An API key in the config wins: the token source is only the fallback for keyless setups.
    ...(apiKey === undefined && source
      ? { getAccessToken: () => source.token(), ...(source.invalidate ? { onTokenRejected: (t: string) => source.invalidate!(t) } : {}) }
      : {}),
    logger: deps.logger,
    ...(deps.clock ? { clock: deps.clock } : {}),
  };
}

/** What googleSttOptions needs of a service-account token source (GoogleAccessTokenSource fits). */
export interface GoogleTokenSource {
  token(): Promise<string>;
  invalidate?(rejectedToken?: string): void;
}

/** A recognition that failed; `permanent` ones (bad credentials) stop the session. */
export class GoogleSttError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly permanent = false,
  ) {
    super(message);
    this.name = 'GoogleSttError';
  }
}

export class GoogleSttProvider implements SttProvider {
  readonly name = 'google';
  /** The recognize URL, without the API key. */
  readonly endpoint: string;

  constructor(private readonly options: GoogleSttOptions) {
    const hasKey = options.apiKey !== undefined;
    if (hasKey && (typeof options.apiKey !== 'string' || options.apiKey.trim() === '')) {
      throw new TypeError(`${VENDOR}: apiKey must be a non-empty string`);
    }
    if (options.getAccessToken !== undefined && typeof options.getAccessToken !== 'function') {
      throw new TypeError(`${VENDOR}: getAccessToken must be a function returning a Promise of an access token`);
    }
    if (hasKey === (options.getAccessToken !== undefined)) {
      throw new TypeError(`${VENDOR}: give exactly one of apiKey or getAccessToken (service account)`);
    }
    const base = options.baseUrl ?? DEFAULT_BASE_URL;
    let url: URL;
    try {
      url = new URL(base);
    } catch {
      throw new TypeError(`${VENDOR}: baseUrl "${base}" is not a valid URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`${VENDOR}: baseUrl "${base}" must use http or https`);
    }
    positiveInteger('requestTimeoutMs', options.requestTimeoutMs);
    positiveInteger('maxUtteranceMs', options.maxUtteranceMs);
    if (options.maxUtteranceMs !== undefined && options.maxUtteranceMs > MAX_SYNC_AUDIO_MS) {
      throw new TypeError(`${VENDOR}: maxUtteranceMs must be at most ${MAX_SYNC_AUDIO_MS} (sync recognize takes up to 1 minute)`);
    }
    if (options.silenceRms !== undefined && !(Number.isFinite(options.silenceRms) && options.silenceRms >= 0)) {
      throw new TypeError(`${VENDOR}: silenceRms must be a non-negative number, got ${String(options.silenceRms)}`);
    }
    this.endpoint = `${url.origin}${url.pathname.replace(/\/+$/, '')}/v1/speech:recognize`;
  }

  startSession(options: SttSessionOptions): SttSession {
    return new GoogleSttSession(this.options, this.endpoint, options);
  }
}

function positiveInteger(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
    throw new TypeError(`${VENDOR}: ${name} must be a positive integer, got ${String(value)}`);
  }
}

function validateSessionOptions(options: SttSessionOptions): string | undefined {
  // LINEAR16 recognition takes 8000-48000 Hz.
  if (!Number.isInteger(options.sampleRate) || options.sampleRate < 8000 || options.sampleRate > 48000) {
    return `sampleRate must be an integer from 8000 to 48000 Hz, got ${String(options.sampleRate)}`;
  }
  if (typeof options.language !== 'string' || options.language.trim() === '') {
    return 'language must be a non-empty BCP-47 code (e.g. "en-US")';
  }
  if (options.hintBoost !== undefined && !Number.isFinite(options.hintBoost)) {
    return `hintBoost must be a finite number, got ${String(options.hintBoost)}`;
  }
  return undefined;
}

/** RecognitionConfig for the session: the part of every request body that does not change. */
export function recognitionConfig(
  session: SttSessionOptions,
  model: string | undefined,
  log?: Logger,
): Record<string, unknown> {
  const config: Record<string, unknown> = {
    encoding: 'LINEAR16',
    sampleRateHertz: session.sampleRate,
    audioChannelCount: 1,
    languageCode: session.language,
    maxAlternatives: 1,
    enableAutomaticPunctuation: session.punctuation ?? true,
  };
  const phrases: string[] = [];
  for (const hint of session.hints ?? []) {
    const phrase = hint.trim();
    if (phrase === '') continue;
    // Google rejects the whole request (400) for one over-long phrase; drop it instead.
    if (phrase.length > MAX_PHRASE_CHARS) {
      log?.debug({ phrase }, `google stt hint longer than ${MAX_PHRASE_CHARS} characters dropped`);
      continue;
    }
    if (phrases.length === MAX_PHRASES) {
      log?.debug({ dropped: (session.hints?.length ?? 0) - MAX_PHRASES }, 'google stt hints beyond 5000 dropped');
      break;
    }
    phrases.push(phrase);
  }
  if (phrases.length > 0) {
    config.speechContexts = [session.hintBoost !== undefined ? { phrases, boost: session.hintBoost } : { phrases }];
  }
  if (model !== undefined) config.model = model;
  return config;
}

export class GoogleSttSession extends UtteranceSttSession {
  private readonly clock: Clock;
  private readonly audio: UtteranceFrames | undefined;
  private readonly maxUtteranceMs: number;
  private readonly requestTimeoutMs: number;
  private readonly config: Record<string, unknown> = {};
  private utteranceSeq = 0;

  constructor(
    private readonly provider: GoogleSttOptions,
    private readonly endpoint: string,
    options: SttSessionOptions,
  ) {
    super(provider.logger.child({ stt: 'google' }), 'google stt recognition failed');
    this.clock = provider.clock ?? systemClock;
    this.maxUtteranceMs = provider.maxUtteranceMs ?? MAX_SYNC_AUDIO_MS;
    this.requestTimeoutMs = provider.requestTimeoutMs ?? 10_000;
    const invalid = validateSessionOptions(options);
    if (invalid) {
      this.failAtStart(new GoogleSttError(`${VENDOR}: ${invalid}`, undefined, true));
      return;
    }
    this.config = recognitionConfig(options, provider.model, this.log);
    this.audio = new UtteranceFrames(options.sampleRate, provider.silenceRms ?? 100);
  }

  write(frame: Int16Array): void {
    if (!this.isOpen || !this.audio) return;
    this.audio.push(frame);
    if (this.audio.durationMs >= this.maxUtteranceMs) {
      this.log.debug({ maxUtteranceMs: this.maxUtteranceMs }, 'google stt utterance reached the sync recognize limit; uploading this part');
      this.upload();
    }
  }

  endOfUtterance(): void {
    if (!this.isOpen || !this.audio) return;
    this.upload();
  }

  protected asFailure(error: unknown): GoogleSttError {
    return asGoogleError(error);
  }

  protected discardAudio(): void {
    this.audio?.reset();
  }

  private upload(): void {
    const samples = this.audio!.take();
    // Only silence since the last utterance: nothing to recognize (and nothing to pay for).
    if (!samples) return;
    const controller = new AbortController();
    this.track({
      outcome: this.recognize(samples, ++this.utteranceSeq, controller),
      abort: (reason) => controller.abort(new GoogleSttError(`${VENDOR}: ${reason}`)),
    });
  }

  private async recognize(samples: Int16Array, seq: number, controller: AbortController): Promise<SttResult | undefined> {
    const deadline = this.clock.setTimeout(
      () => controller.abort(new GoogleSttError(`${VENDOR}: no answer from Google within ${this.requestTimeoutMs} ms (requestTimeoutMs)`)),
      this.requestTimeoutMs,
    );
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
      let url = this.endpoint;
      let token: string | undefined;
      if (this.provider.getAccessToken) {
        token = await this.accessToken(controller.signal);
        headers.authorization = `Bearer ${token}`;
      } else {
        url = `${url}?${new URLSearchParams({ key: this.provider.apiKey! }).toString()}`;
      }
      // RecognitionAudio.content: the LINEAR16 bytes, base64-encoded.
      const body = JSON.stringify({ config: this.config, audio: { content: pcm16LittleEndian(samples).toString('base64') } });
      const started = this.clock.now();
      const response = await fetch(url, { method: 'POST', headers, body, signal: controller.signal });
      const text = await response.text();
      if (!response.ok) {
        const error = httpError(response.status, text);
        if (response.status === 401 && token !== undefined && this.provider.onTokenRejected) {
          // A revoked or expired token: the source replaces it, so only this utterance is lost.
          this.provider.onTokenRejected(token);
          throw new GoogleSttError(`${error.message} (the token is renewed for the next utterance)`, 401);
        }
        throw error;
      }
      const result = parseRecognizeResponse(text);
      this.log.debug({ seq, ms: this.clock.now() - started, audioMs: (samples.length * 1000) / (this.config.sampleRateHertz as number), empty: !result }, 'google stt utterance recognized');
      return result;
    } catch (err) {
      throw controller.signal.aborted ? asGoogleError(controller.signal.reason) : asGoogleError(err);
    } finally {
      deadline.cancel();
    }
  }

  private async accessToken(signal: AbortSignal): Promise<string> {
    let token: unknown;
    try {
      token = await Promise.race([
        this.provider.getAccessToken!(),
        new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true })),
      ]);
    } catch (err) {
      if (signal.aborted) throw err;
      throw new GoogleSttError(`${VENDOR}: could not get an access token: ${(err as Error).message ?? String(err)}`);
    }
    if (typeof token !== 'string' || token === '') {
      throw new GoogleSttError(`${VENDOR}: getAccessToken returned no token`, undefined, true);
    }
    return token;
  }
}


function httpError(status: number, body: string): GoogleSttError {
  let message: string | undefined;
  let grpcStatus: string | undefined;
  let reason: string | undefined;
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown; status?: unknown; details?: unknown } };
    if (typeof parsed.error?.message === 'string') message = parsed.error.message;
    if (typeof parsed.error?.status === 'string') grpcStatus = parsed.error.status;
    if (Array.isArray(parsed.error?.details)) {
      const info = parsed.error.details.find((d: { reason?: unknown }) => typeof d?.reason === 'string') as { reason: string } | undefined;
      reason = info?.reason;
    }
  } catch {
    // Not Google's JSON error envelope (a proxy page, say): the raw body is quoted below.
  }
  // A wrong API key is a 400 INVALID_ARGUMENT with reason API_KEY_INVALID, not a 401.
  const authProblem = status === 401 || status === 403 || reason === 'API_KEY_INVALID';
  const hint =
    status === 401 ? ' (invalid or expired access token)' : status === 403 ? ' (API key or account lacks permission for Speech-to-Text)' : reason === 'API_KEY_INVALID' ? ' (invalid API key)' : status === 429 ? ' (quota exceeded)' : '';
  const detail = message !== undefined ? `${grpcStatus ? `${grpcStatus}: ` : ''}${message}` : `body: ${snippet(body.slice(0, MAX_ERROR_BODY))}`;
  return new GoogleSttError(`${VENDOR}: Google rejected the request with HTTP ${status}${hint}: ${detail}`, status, authProblem);
}

/** The recognize answer as one final result: the top alternative of every result, in order. */
export function parseRecognizeResponse(text: string): SttResult | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new GoogleSttError(`${VENDOR}: malformed JSON from Google: ${snippet(text)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new GoogleSttError(`${VENDOR}: expected a JSON object from Google, got ${snippet(text)}`);
  }
  const results = (parsed as { results?: unknown }).results;
  // Google omits `results` entirely when it heard no speech.
  if (results === undefined) return undefined;
  if (!Array.isArray(results)) throw new GoogleSttError(`${VENDOR}: "results" is not an array: ${snippet(text)}`);
  const parts: string[] = [];
  const confidences: number[] = [];
  for (const r of results as Array<{ alternatives?: unknown }>) {
    const alternatives = r?.alternatives;
    if (alternatives === undefined) continue;
    if (!Array.isArray(alternatives)) throw new GoogleSttError(`${VENDOR}: result without an alternatives array: ${snippet(text)}`);
    const best = alternatives[0] as { transcript?: unknown; confidence?: unknown } | undefined;
    if (best === undefined) continue;
    if (best.transcript === undefined) continue;
    if (typeof best.transcript !== 'string') {
      throw new GoogleSttError(`${VENDOR}: alternative without a transcript string: ${snippet(text)}`);
    }
    // Results after the first start with a space; trim and rejoin.
    const part = best.transcript.trim();
    if (part === '') continue;
    parts.push(part);
    if (typeof best.confidence === 'number' && best.confidence > 0) confidences.push(best.confidence);
  }
  if (parts.length === 0) return undefined;
  const result: SttResult = { text: parts.join(' '), final: true };
  if (confidences.length > 0) result.confidence = confidences.reduce((a, b) => a + b, 0) / confidences.length;
  return result;
}

function asGoogleError(err: unknown): GoogleSttError {
  if (err instanceof GoogleSttError) return err;
  const error = err as Error & { cause?: { code?: string; message?: string } };
  const code = error?.cause?.code;
  const cause = error?.cause?.message;
  return new GoogleSttError(
    `${VENDOR}: request to Google failed${code ? ` (${code})` : ''}: ${error?.message ?? String(err)}${cause && cause !== error?.message ? ` (${cause})` : ''}`,
  );
}
