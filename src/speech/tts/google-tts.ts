/**
 * Google Cloud Text-to-Speech: `POST {baseUrl}/v1/text:synthesize` with
 * `{ input: { text } | { ssml }, voice: { languageCode, name?, ssmlGender? }, audioConfig }`,
 * authenticated by an API key (`?key=`) or an OAuth access token (`Authorization: Bearer`).
 * Asks for LINEAR16 at the leg's rate; the answer is `{ audioContent }`, base64 of a whole WAV file
 * (header included), sent in one piece. The header is parsed, the samples resampled if the header
 * names another rate, and yielded in short chunks so a barge-in stops playback between them.
 */
import { z } from 'zod';
import { resolveSecret, secretSchema } from '../../runtime/secrets.js';
import type { Logger } from '../../logger.js';
import { resample } from '../../media/resample.js';
import { parseWav, WavFormatError } from '../../media/wav.js';
import { checkSampleRate, describeFetchError, errorBodySnippet, httpUrlOption, requestDeadline } from './http-tts.js';
import { TtsError, type TtsProvider, type TtsRequest } from './provider.js';

const PROVIDER_NAME = 'google';

export const GOOGLE_TTS_DEFAULT_BASE_URL = 'https://texttospeech.googleapis.com';

export const GOOGLE_SSML_GENDERS = ['MALE', 'FEMALE', 'NEUTRAL'] as const;
export type GoogleSsmlGender = (typeof GOOGLE_SSML_GENDERS)[number];

export const googleTtsConfigSchema = z
  .object({
    /** API key (sent as `?key=`); without it the composition root must supply an access-token source. */
    apiKey: secretSchema.optional(),
    /** Default voice such as "en-US-Neural2-F"; used for requests in its language, a request's voice wins. */
    voice: z.string().min(1).optional(),
    /** Lets Google pick a voice of this gender when no voice name applies. */
    ssmlGender: z.enum(GOOGLE_SSML_GENDERS).optional(),
    speakingRate: z.number().min(0.25).max(4).optional(),
    /** Semitones, -20..20. */
    pitch: z.number().min(-20).max(20).optional(),
    /** API root; default https://texttospeech.googleapis.com (regional: https://eu-texttospeech.googleapis.com). */
    baseUrl: z.string().url().optional(),
    requestTimeoutMs: z.number().int().positive().optional(),
  })
  .strict();
export type GoogleTtsConfig = z.infer<typeof googleTtsConfigSchema>;

export interface GoogleTtsOptions {
  /** Sent as the `key` query parameter. Exactly one of apiKey and getAccessToken is required. */
  apiKey?: string;
  /** Returns a current OAuth access token (service account), sent as `Authorization: Bearer`; called per request. */
  getAccessToken?: () => Promise<string>;
  /** Told the token Google answered 401 to, so the token source fetches a fresh one next time. */
  invalidateAccessToken?: (rejectedToken: string) => void;
  voice?: string;
  ssmlGender?: GoogleSsmlGender;
  speakingRate?: number;
  pitch?: number;
  /** Default https://texttospeech.googleapis.com; tests point it at a loopback double. */
  baseUrl?: string;
  /** Deadline for the whole answer (Google sends it in one piece). Default 10000 ms. */
  requestTimeoutMs?: number;
  /** Length of the chunks the decoded audio is yielded in. Default 100 ms. */
  chunkMs?: number;
  logger?: Logger;
}

/**
 * Builds the provider from its validated config section; `key` names the section in secret errors.
 * `getAccessToken` (e.g. from a service account) is used when the section has no apiKey.
 */
export function googleTtsFromConfig(
  config: GoogleTtsConfig,
  env: NodeJS.ProcessEnv,
  extra: { logger?: Logger; getAccessToken?: () => Promise<string>; invalidateAccessToken?: (rejectedToken: string) => void } = {},
  key = 'tts.google',
): GoogleTtsProvider {
  const apiKey = resolveSecret(config.apiKey, `${key}.apiKey`, env);
  const tokens = apiKey ? {} : { getAccessToken: extra.getAccessToken, invalidateAccessToken: extra.invalidateAccessToken };
  return new GoogleTtsProvider({ ...config, apiKey, ...tokens, logger: extra.logger });
}

/** The language tag a Google voice name starts with ("en-US-Neural2-F" -> "en-US", "cmn-CN-Wavenet-A" -> "cmn-CN"). */
export function googleVoiceLanguage(voice: string): string | undefined {
  return /^([a-z]{2,3}-[A-Za-z]{2,4})-/.exec(voice)?.[1];
}

/** Google rejects SSML without a `<speak>` root; fragments are wrapped rather than sent to fail. */
export function ensureSpeakRoot(ssml: string): string {
  const trimmed = ssml.trim();
  return /^(?:<\?xml[^>]*\?>\s*)?<speak[\s>]/i.test(trimmed) ? trimmed : `<speak>${trimmed}</speak>`;
}

export class GoogleTtsProvider implements TtsProvider {
  readonly name = PROVIDER_NAME;
  /** Default voice, gender, speaking rate and pitch change the audio for the same text and request. */
  readonly cacheScope: string;
  private readonly endpoint: URL;
  private readonly apiKey?: string;
  private readonly getAccessToken?: () => Promise<string>;
  private readonly invalidateAccessToken?: (rejectedToken: string) => void;
  private readonly voice?: string;
  private readonly ssmlGender?: GoogleSsmlGender;
  private readonly speakingRate?: number;
  private readonly pitch?: number;
  private readonly timeoutMs: number;
  private readonly chunkMs: number;
  private readonly logger?: Logger;

  constructor(options: GoogleTtsOptions) {
    const base = httpUrlOption(PROVIDER_NAME, 'baseUrl', options.baseUrl ?? GOOGLE_TTS_DEFAULT_BASE_URL);
    const hasKey = typeof options.apiKey === 'string' && options.apiKey.trim() !== '';
    if (hasKey === (options.getAccessToken !== undefined)) {
      throw new TtsError(PROVIDER_NAME, 'give exactly one of apiKey (sent as ?key=) or getAccessToken (OAuth Bearer token)');
    }
    if (options.voice !== undefined && !googleVoiceLanguage(options.voice)) {
      throw new TtsError(PROVIDER_NAME, `voice must be a Google voice name such as "en-US-Neural2-F", got "${options.voice}"`);
    }
    if (options.ssmlGender !== undefined && !GOOGLE_SSML_GENDERS.includes(options.ssmlGender)) {
      throw new TtsError(PROVIDER_NAME, `ssmlGender must be one of ${GOOGLE_SSML_GENDERS.join(', ')}, got "${options.ssmlGender}"`);
    }
    for (const [option, min, max] of [['speakingRate', 0.25, 4], ['pitch', -20, 20]] as const) {
      const value = options[option];
      if (value !== undefined && (!Number.isFinite(value) || value < min || value > max)) {
        throw new TtsError(PROVIDER_NAME, `${option} must be between ${min} and ${max}, got ${value}`);
      }
    }
    const timeoutMs = options.requestTimeoutMs ?? 10_000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TtsError(PROVIDER_NAME, `requestTimeoutMs must be a positive number, got ${options.requestTimeoutMs}`);
    const chunkMs = options.chunkMs ?? 100;
    if (!Number.isFinite(chunkMs) || chunkMs <= 0) throw new TtsError(PROVIDER_NAME, `chunkMs must be a positive number, got ${options.chunkMs}`);
    this.endpoint = new URL(`${base.href.replace(/\/+$/, '')}/v1/text:synthesize`);
    this.apiKey = hasKey ? options.apiKey : undefined;
    this.getAccessToken = options.getAccessToken;
    this.invalidateAccessToken = options.invalidateAccessToken;
    this.voice = options.voice;
    this.ssmlGender = options.ssmlGender;
    this.speakingRate = options.speakingRate;
    this.pitch = options.pitch;
    this.timeoutMs = timeoutMs;
    this.chunkMs = chunkMs;
    this.logger = options.logger;
    this.cacheScope = `${base.host}|voice=${this.voice ?? ''}|gender=${this.ssmlGender ?? ''}|rate=${this.speakingRate ?? 1}|pitch=${this.pitch ?? 0}`;
  }

  async *synthesize(req: TtsRequest, signal?: AbortSignal): AsyncIterable<Int16Array> {
    checkSampleRate(PROVIDER_NAME, req.sampleRate);
    if (req.text.trim() === '') return;
    const where = `POST ${this.endpoint.href}`;
    const voice = this.voiceFor(req);
    let samples: Int16Array;
    try {
      const body = {
        input: req.ssml ? { ssml: ensureSpeakRoot(req.text) } : { text: req.text.trim() },
        voice,
        audioConfig: {
          audioEncoding: 'LINEAR16',
          sampleRateHertz: req.sampleRate,
          ...(this.speakingRate !== undefined ? { speakingRate: this.speakingRate } : {}),
          ...(this.pitch !== undefined ? { pitch: this.pitch } : {}),
        },
      };
      const json = await this.post(body, where, signal);
      samples = decodeAudioContent(json, req.sampleRate, where);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const error = err instanceof TtsError ? err : new TtsError(PROVIDER_NAME, `${where}: ${describeFetchError(err)}`);
      this.logger?.warn({ err: error.message, voice: voice.name, languageCode: voice.languageCode }, 'Google TTS failed');
      throw error;
    }
    const step = Math.max(1, Math.round((req.sampleRate * this.chunkMs) / 1000));
    for (let off = 0; off < samples.length; off += step) {
      if (signal?.aborted) throw signal.reason;
      yield samples.subarray(off, Math.min(samples.length, off + step));
    }
  }

  /**
   * The request's voice, else the configured voice when it speaks the request's language, else
   * none: Google then picks its default voice for the language (and the gender, if configured).
   */
  private voiceFor(req: TtsRequest): { languageCode: string; name?: string; ssmlGender?: GoogleSsmlGender } {
    const requested = req.voice?.trim();
    // A voice name carries its language; sending another languageCode with it is a 400.
    if (requested) return { languageCode: googleVoiceLanguage(requested) ?? req.language, name: requested };
    const language = req.language.trim();
    if (this.voice && googleVoiceLanguage(this.voice)?.toLowerCase() === language.toLowerCase()) {
      return { languageCode: googleVoiceLanguage(this.voice)!, name: this.voice };
    }
    return { languageCode: language, ...(this.ssmlGender ? { ssmlGender: this.ssmlGender } : {}) };
  }

  private async post(body: unknown, where: string, signal?: AbortSignal): Promise<unknown> {
    const url = new URL(this.endpoint);
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', accept: 'application/json' };
    let token: string | undefined;
    if (this.apiKey) url.searchParams.set('key', this.apiKey);
    else {
      try {
        token = await untilAborted(this.getAccessToken!(), signal);
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        throw new TtsError(PROVIDER_NAME, `could not get an OAuth access token for ${where}: ${(err as Error)?.message ?? String(err)}`);
      }
      if (typeof token !== 'string' || token.trim() === '') throw new TtsError(PROVIDER_NAME, `getAccessToken returned no token for ${where}`);
      headers.authorization = `Bearer ${token}`;
    }
    if (signal?.aborted) throw signal.reason;
    // The answer comes in one piece, so the deadline covers the body as well as the headers.
    const deadline = requestDeadline(signal, this.timeoutMs);
    const timeoutError = () => new TtsError(PROVIDER_NAME, `${where} gave no complete answer within ${this.timeoutMs} ms`);
    try {
      let res: Response;
      try {
        res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: deadline.signal });
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (deadline.timedOut()) throw timeoutError();
        throw new TtsError(PROVIDER_NAME, `${where} failed: ${describeFetchError(err)}`);
      }
      if (!res.ok) {
        // A revoked or expired token is only noticed here: the token source must not hand it out again.
        if (res.status === 401 && token !== undefined) this.invalidateAccessToken?.(token);
        throw new TtsError(PROVIDER_NAME, `${where} answered ${res.status} ${res.statusText}: ${await googleErrorMessage(res)}`);
      }
      const contentType = (res.headers.get('content-type') ?? '').toLowerCase();
      if (!contentType.startsWith('application/json')) {
        throw new TtsError(PROVIDER_NAME, `${where} answered Content-Type "${contentType}" instead of JSON: ${await errorBodySnippet(res)}`);
      }
      const text = await readBody(res, where, () => (deadline.timedOut() ? timeoutError() : undefined), signal);
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new TtsError(PROVIDER_NAME, `${where} answered invalid JSON: ${text.slice(0, 200)}`);
      }
    } finally {
      deadline.clear();
    }
  }
}

/** A barge-in must not wait for a slow token endpoint: settles with the abort reason as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => (signal.removeEventListener('abort', onAbort), resolve(value)),
      (err: unknown) => (signal.removeEventListener('abort', onAbort), reject(err as Error)),
    );
  });
}

/** Reads the whole body, counting bytes so a connection cut mid-answer is reported with how much arrived. */
async function readBody(res: Response, where: string, timedOut: () => TtsError | undefined, signal?: AbortSignal): Promise<string> {
  if (!res.body) return '';
  const parts: Uint8Array[] = [];
  let received = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      parts.push(chunk);
      received += chunk.length;
    }
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    const timeout = timedOut();
    if (timeout) throw timeout;
    throw new TtsError(PROVIDER_NAME, `${where}: the answer broke off after ${received} bytes: ${describeFetchError(err)}`);
  }
  return Buffer.concat(parts).toString('utf8');
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** `{ audioContent }` to mono PCM16 at `outRate`: base64, then the WAV header Google puts before LINEAR16 samples. */
function decodeAudioContent(json: unknown, outRate: number, where: string): Int16Array {
  const audioContent = (json as { audioContent?: unknown } | null)?.audioContent;
  if (typeof audioContent !== 'string') {
    throw new TtsError(PROVIDER_NAME, `${where} answered JSON without a string "audioContent": ${JSON.stringify(json).slice(0, 200)}`);
  }
  const compact = audioContent.replace(/\s+/g, '');
  // Buffer.from skips invalid characters silently; corrupt base64 would otherwise play as noise.
  if (!BASE64.test(compact) || compact.replace(/=+$/, '').length % 4 === 1) {
    throw new TtsError(PROVIDER_NAME, `${where} answered an "audioContent" that is not valid base64`);
  }
  const bytes = Buffer.from(compact, compact.includes('-') || compact.includes('_') ? 'base64url' : 'base64');
  let wav;
  try {
    wav = parseWav(bytes);
  } catch (err) {
    if (err instanceof WavFormatError) throw new TtsError(PROVIDER_NAME, `${where} answered audioContent that is not LINEAR16 WAV: ${err.message}`);
    throw err;
  }
  if (wav.sampleRate < 4000 || wav.sampleRate > 192000) {
    throw new TtsError(PROVIDER_NAME, `${where} answered a WAV at ${wav.sampleRate} Hz, outside 4000..192000`);
  }
  return resample(wav.samples, wav.sampleRate, outRate);
}

/** Google errors are `{ error: { code, message, status, details } }` (google.rpc.Status). */
export async function googleErrorMessage(res: Response): Promise<string> {
  let text = '';
  try {
    // Read whole: the JSON with its details is often longer than a snippet, and cut JSON does not parse.
    text = (await res.text()).trim();
  } catch {
    return '(the error body broke off)';
  }
  try {
    const json = JSON.parse(text) as { error?: { message?: string; status?: string; details?: Array<{ reason?: string }> } };
    if (json.error && typeof json.error === 'object' && json.error.message) {
      const reason = json.error.details?.find((d) => typeof d?.reason === 'string')?.reason;
      const kind = [json.error.status, reason].filter(Boolean).join('/');
      return `${json.error.message}${kind ? ` (${kind})` : ''}`;
    }
  } catch {
    // not JSON (a proxy's HTML page): the text itself is the best description
  }
  const flat = text.replace(/\s+/g, ' ');
  return (flat.length > 300 ? `${flat.slice(0, 300)}…` : flat) || '(empty body)';
}
