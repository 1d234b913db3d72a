/**
 * Azure AI Speech text to speech over REST: `POST https://{region}.tts.speech.microsoft.com/cognitiveservices/v1`
 * with an SSML body (`Content-Type: application/ssml+xml`), `X-Microsoft-OutputFormat` naming a raw
 * PCM16 format at or above the leg's rate, `User-Agent`, and either `Ocp-Apim-Subscription-Key` or
 * `Authorization: Bearer <token>` from `POST https://{region}.api.cognitive.microsoft.com/sts/v1.0/issueToken`.
 * The audio is chunked as it is synthesized and yielded as it arrives, resampled when the rates differ.
 */
import { z } from 'zod';
import { resolveSecret, secretSchema } from '../../runtime/secrets.js';
import type { Logger } from '../../logger.js';
import { checkSampleRate, decodeAudioStream, describeFetchError, errorBodySnippet, firstByteWithin, httpUrlOption, requestDeadline } from './http-tts.js';
import { completeSsml, defaultAzureVoice, normaliseLocale, plainTextSsml, ssmlIsEmpty } from './azure-ssml.js';
import { TtsError, type TtsProvider, type TtsRequest } from './provider.js';

const PROVIDER_NAME = 'azure';

/** Raw (headerless) PCM16 mono formats Azure synthesizes, by sample rate. */
export const AZURE_RAW_PCM_FORMATS: ReadonlyArray<readonly [rate: number, format: string]> = [
  [8000, 'raw-8khz-16bit-mono-pcm'],
  [16000, 'raw-16khz-16bit-mono-pcm'],
  [22050, 'raw-22050hz-16bit-mono-pcm'],
  [24000, 'raw-24khz-16bit-mono-pcm'],
  [44100, 'raw-44100hz-16bit-mono-pcm'],
  [48000, 'raw-48khz-16bit-mono-pcm'],
];

/** Issued tokens live 10 minutes; reuse one for 9 so none expires in flight. */
export const AZURE_TOKEN_REUSE_MS = 9 * 60_000;

export const azureTtsConfigSchema = z
  .object({
    /** Speech resource key. */
    key: secretSchema,
    /** Resource region such as "westeurope"; or give baseUrl. */
    region: z.string().regex(/^[a-z0-9]+$/, 'an Azure region name such as "westeurope"').optional(),
    /** Endpoint root instead of the region's (sovereign clouds, a proxy); /cognitiveservices/v1 is appended. */
    baseUrl: z.string().url().optional(),
    /** Token endpoint; default https://{region}.api.cognitive.microsoft.com/sts/v1.0/issueToken, or {baseUrl}/sts/v1.0/issueToken. */
    tokenUrl: z.string().url().optional(),
    /** Default voice such as "en-US-JennyNeural"; otherwise a default per language. */
    voice: z.string().min(1).optional(),
    /** Exchange the key for 10-minute bearer tokens instead of sending it on every request. */
    useTokenAuth: z.boolean().optional(),
    requestTimeoutMs: z.number().int().positive().optional(),
  })
  .strict()
  .refine((c) => c.region !== undefined || c.baseUrl !== undefined, { message: 'azure TTS needs a region (e.g. "westeurope") or a baseUrl', path: ['region'] });
export type AzureTtsConfig = z.infer<typeof azureTtsConfigSchema>;

export interface AzureTtsOptions {
  key: string;
  region?: string;
  baseUrl?: string;
  tokenUrl?: string;
  voice?: string;
  useTokenAuth?: boolean;
  /** Deadline for the first audio byte (and for a token request). Default 10000 ms. */
  requestTimeoutMs?: number;
  /** Sent as User-Agent, which Azure requires. Default "voxgate". */
  userAgent?: string;
  /** Clock for the token cache (tests). */
  now?: () => number;
  logger?: Logger;
}

/** Builds the provider from its validated config section; `key` names the section in secret errors. */
export function azureTtsFromConfig(config: AzureTtsConfig, env: NodeJS.ProcessEnv, logger?: Logger, key = 'tts.azure'): AzureTtsProvider {
  return new AzureTtsProvider({ ...config, key: resolveSecret(config.key, `${key}.key`, env)!, logger });
}

/** The raw PCM format at or above the leg's rate (no bandwidth lost), else the highest. */
export function azureFormatFor(sampleRate: number): { rate: number; format: string } {
  const [rate, format] = AZURE_RAW_PCM_FORMATS.find(([r]) => r >= sampleRate) ?? AZURE_RAW_PCM_FORMATS[AZURE_RAW_PCM_FORMATS.length - 1];
  return { rate, format };
}

export class AzureTtsProvider implements TtsProvider {
  readonly name = PROVIDER_NAME;
  /** The endpoint and default voice change the audio for a request that names no voice. */
  readonly cacheScope: string;
  private readonly endpoint: URL;
  private readonly tokenUrl: URL;
  private readonly key: string;
  private readonly voice?: string;
  private readonly useTokenAuth: boolean;
  private readonly timeoutMs: number;
  private readonly userAgent: string;
  private readonly now: () => number;
  private readonly logger?: Logger;
  private token?: { value: string; fetchedAt: number };
  private tokenInFlight?: Promise<string>;

  constructor(options: AzureTtsOptions) {
    if (typeof options.key !== 'string' || options.key.trim() === '') throw new TtsError(PROVIDER_NAME, 'key is required (the Speech resource key)');
    if (options.region !== undefined && !/^[a-z0-9]+$/.test(options.region)) {
      throw new TtsError(PROVIDER_NAME, `region must be an Azure region name such as "westeurope", got "${options.region}"`);
    }
    if (options.region === undefined && options.baseUrl === undefined) throw new TtsError(PROVIDER_NAME, 'region (e.g. "westeurope") or baseUrl is required');
    const base = options.baseUrl
      ? httpUrlOption(PROVIDER_NAME, 'baseUrl', options.baseUrl).href.replace(/\/+$/, '')
      : `https://${options.region}.tts.speech.microsoft.com`;
    const tokenUrl = options.tokenUrl ?? (options.baseUrl ? `${base}/sts/v1.0/issueToken` : `https://${options.region}.api.cognitive.microsoft.com/sts/v1.0/issueToken`);
    const timeoutMs = options.requestTimeoutMs ?? 10_000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TtsError(PROVIDER_NAME, `requestTimeoutMs must be a positive number, got ${options.requestTimeoutMs}`);
    const userAgent = options.userAgent ?? 'voxgate';
    if (userAgent === '' || userAgent.length >= 255) throw new TtsError(PROVIDER_NAME, 'userAgent must be 1-254 characters (Azure limit)');
    this.endpoint = new URL(`${base}/cognitiveservices/v1`);
    this.tokenUrl = httpUrlOption(PROVIDER_NAME, 'tokenUrl', tokenUrl);
    this.key = options.key;
    this.voice = options.voice;
    this.useTokenAuth = options.useTokenAuth === true;
    this.timeoutMs = timeoutMs;
    this.userAgent = userAgent;
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    this.cacheScope = `${this.endpoint.host}|voice=${this.voice ?? 'per-language'}`;
  }

  async *synthesize(req: TtsRequest, signal?: AbortSignal): AsyncIterable<Int16Array> {
    checkSampleRate(PROVIDER_NAME, req.sampleRate);
    if (req.ssml ? ssmlIsEmpty(req.text) : req.text.trim() === '') return;
    const where = `POST ${this.endpoint.href}`;
    try {
      const locale = normaliseLocale(req.language) || 'en-US';
      const voice = req.voice || this.voice || defaultAzureVoice(locale);
      if (!voice) throw new TtsError(PROVIDER_NAME, `no default voice for language "${req.language}"; set tts.azure.voice or the request's voice (e.g. "${locale}-...Neural")`);
      const ssml = req.ssml ? completeSsml(req.text, locale, voice) : plainTextSsml(req.text.trim(), locale, voice);
      const { rate, format } = azureFormatFor(req.sampleRate);
      const deadline = requestDeadline(signal, this.timeoutMs);
      const timeoutError = () => new TtsError(PROVIDER_NAME, `${where} sent no audio within ${this.timeoutMs} ms`);
      try {
        const res = await this.post(ssml, format, deadline, signal, timeoutError);
        const contentType = (res.headers.get('content-type') ?? '').toLowerCase();
        // A 200 with JSON or HTML comes from a proxy or captive portal, not from the speech service.
        if (contentType.startsWith('application/json') || contentType.startsWith('text/')) {
          throw new TtsError(PROVIDER_NAME, `${where} answered Content-Type "${contentType}" instead of ${format} audio: ${await errorBodySnippet(res)}`);
        }
        if (!res.body) throw new TtsError(PROVIDER_NAME, `${where} answered ${res.status} without a body`);
        const counted = { bytes: 0 };
        const audio = firstByteWithin(res.body as unknown as AsyncIterable<Uint8Array>, deadline, timeoutError, signal, counted);
        yield* decodeAudioStream(audio, { kind: 'raw', format: { encoding: 'pcm16le', sampleRate: rate, channels: 1 } }, req.sampleRate, where, PROVIDER_NAME);
        // Azure answers 200 with no audio when the SSML renders to nothing (e.g. an unknown voice in some regions).
        if (counted.bytes === 0) throw new TtsError(PROVIDER_NAME, `${where} answered 200 with an empty body (no audio for voice "${voice}")`);
      } finally {
        deadline.clear();
      }
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const error = err instanceof TtsError ? err : new TtsError(PROVIDER_NAME, `${where}: ${describeFetchError(err)}`);
      this.logger?.warn({ err: error.message, endpoint: this.endpoint.host }, 'Azure TTS failed');
      throw error;
    }
  }

  /** POSTs the SSML; with token auth, a 401 on a reused token fetches a new one and tries once more. */
  private async post(
    ssml: string,
    format: string,
    deadline: { signal: AbortSignal; timedOut(): boolean },
    signal: AbortSignal | undefined,
    timeoutError: () => TtsError,
  ): Promise<Response> {
    const where = `POST ${this.endpoint.href}`;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {
        'content-type': 'application/ssml+xml',
        'x-microsoft-outputformat': format,
        'user-agent': this.userAgent,
      };
      let reusedToken = false;
      if (this.useTokenAuth) {
        reusedToken = this.token !== undefined && this.now() - this.token.fetchedAt < AZURE_TOKEN_REUSE_MS;
        headers.authorization = `Bearer ${await untilAborted(this.bearerToken(), deadline.signal, signal, timeoutError)}`;
      } else {
        headers['ocp-apim-subscription-key'] = this.key;
      }
      let res: Response;
      try {
        res = await fetch(this.endpoint, { method: 'POST', headers, body: ssml, signal: deadline.signal });
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (deadline.timedOut()) throw timeoutError();
        throw new TtsError(PROVIDER_NAME, `${where} failed: ${describeFetchError(err)}`);
      }
      if (res.ok) return res;
      const detail = await azureErrorMessage(res);
      if (res.status === 401 && this.useTokenAuth) {
        this.token = undefined;
        if (reusedToken && attempt === 0) continue; // revoked or expired early: one fresh token
      }
      throw new TtsError(PROVIDER_NAME, `${where} answered ${res.status} ${res.statusText}: ${detail}${hintFor(res.status)}`);
    }
  }

  /** A cached token, or one shared fetch of a new one (concurrent syntheses wait for the same). */
  private bearerToken(): Promise<string> {
    if (this.token && this.now() - this.token.fetchedAt < AZURE_TOKEN_REUSE_MS) return Promise.resolve(this.token.value);
    this.tokenInFlight ??= this.issueToken().finally(() => {
      this.tokenInFlight = undefined;
    });
    return this.tokenInFlight;
  }

  private async issueToken(): Promise<string> {
    const where = `POST ${this.tokenUrl.href}`;
    const startedAt = this.now();
    // Not tied to one caller's signal: the token is shared by every synthesis waiting for it.
    const deadline = requestDeadline(undefined, this.timeoutMs);
    try {
      let res: Response;
      try {
        res = await fetch(this.tokenUrl, {
          method: 'POST',
          headers: { 'ocp-apim-subscription-key': this.key, 'content-type': 'application/x-www-form-urlencoded' },
          body: '',
          signal: deadline.signal,
        });
      } catch (err) {
        if (deadline.timedOut()) throw new TtsError(PROVIDER_NAME, `${where} (token) gave no answer within ${this.timeoutMs} ms`);
        throw new TtsError(PROVIDER_NAME, `${where} (token) failed: ${describeFetchError(err)}`);
      }
      if (!res.ok) throw new TtsError(PROVIDER_NAME, `${where} (token) answered ${res.status} ${res.statusText}: ${await azureErrorMessage(res)}${hintFor(res.status)}`);
      const token = (await res.text()).trim();
      // Azure's tokens are JWTs; anything else is a proxy page or a wrong endpoint.
      if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) {
        throw new TtsError(PROVIDER_NAME, `${where} (token) answered 200 with no access token: "${token.slice(0, 80)}"`);
      }
      this.token = { value: token, fetchedAt: startedAt };
      return token;
    } finally {
      deadline.clear();
    }
  }
}

/** Rejects when the deadline or the caller's signal fires before `promise` settles. */
function untilAborted<T>(promise: Promise<T>, deadlineSignal: AbortSignal, signal: AbortSignal | undefined, timeoutError: () => TtsError): Promise<T> {
  if (deadlineSignal.aborted) return Promise.reject(signal?.aborted ? signal.reason : timeoutError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal?.aborted ? signal.reason : timeoutError());
    deadlineSignal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => deadlineSignal.removeEventListener('abort', onAbort));
  });
}


/** What Azure's status codes mean, as its REST reference lists them. */
function hintFor(status: number): string {
  switch (status) {
    case 400:
      return ' (bad request: invalid SSML, unknown voice, or a header Azure refused)';
    case 401:
      return ' (the key or token is invalid for this region or endpoint)';
    case 415:
      return ' (unsupported Content-Type)';
    case 429:
      return ' (quota or request rate exceeded)';
    case 502:
      return ' (network or server-side problem at Azure)';
    default:
      return '';
  }
}

/** Azure's TTS errors usually have an empty body; API Management answers `{ error: { code, message } }`. */
export async function azureErrorMessage(res: Response): Promise<string> {
  const text = await errorBodySnippet(res);
  try {
    const json = JSON.parse(text) as { error?: { code?: string; message?: string }; message?: string; statusCode?: number };
    if (json.error?.message) return `${json.error.message}${json.error.code ? ` (${json.error.code})` : ''}`;
    if (json.message) return json.message;
  } catch {
    // not JSON: the text itself is the best description
  }
  return text || '(empty body)';
}
