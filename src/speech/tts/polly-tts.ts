/**
 * Amazon Polly SynthesizeSpeech: `POST https://polly.{region}.amazonaws.com/v1/speech` with JSON
 * `{ Text, TextType, VoiceId, Engine, OutputFormat: "pcm", SampleRate }`, signed with AWS Signature
 * Version 4 (the aws4 package). Polly's pcm is raw 16-bit little-endian mono at 8000 or 16000 Hz
 * only: the provider asks for 16000 when the leg is faster than 8000 Hz, and resamples to the leg's
 * rate while the chunked body streams in. SSML is passed through with TextType "ssml".
 */
import aws4 from 'aws4';
import { z } from 'zod';
import { resolveSecret, secretSchema } from '../../runtime/secrets.js';
import type { Logger } from '../../logger.js';
import { checkSampleRate, decodeAudioStream, describeFetchError, errorBodySnippet, firstByteWithin, httpUrlOption, requestDeadline } from './http-tts.js';
import { defaultPollyVoice, POLLY_BILINGUAL_VOICES, type PollyEngine } from './polly-voices.js';
import { TtsError, type TtsProvider, type TtsRequest } from './provider.js';

export { defaultPollyVoice, type PollyEngine } from './polly-voices.js';

const PROVIDER_NAME = 'polly';

export const POLLY_ENGINES = ['standard', 'neural', 'generative', 'long-form'] as const;
/** Neural: far better than standard at the same latency, and the engine most voices support. */
export const POLLY_DEFAULT_ENGINE: PollyEngine = 'neural';
/** The only rates Polly's pcm output format offers. */
export const POLLY_PCM_RATES = [8000, 16000] as const;

const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d+$/;

export const pollyTtsConfigSchema = z
  .object({
    /** AWS region such as "us-east-1" or "eu-central-1". */
    region: z.string().regex(REGION, 'must be an AWS region such as "us-east-1"'),
    accessKeyId: secretSchema,
    secretAccessKey: secretSchema,
    /** For temporary credentials (STS); sent as X-Amz-Security-Token. */
    sessionToken: secretSchema.optional(),
    /** Default voice such as "Joanna"; a request's voice wins; without either, a default per language. */
    voiceId: z.string().min(1).optional(),
    engine: z.enum(POLLY_ENGINES).optional(),
    /** Endpoint override (VPC endpoint, FIPS endpoint, tests); default https://polly.{region}.amazonaws.com. */
    endpoint: z.string().url().optional(),
    requestTimeoutMs: z.number().int().positive().optional(),
  })
  .strict();
export type PollyTtsConfig = z.infer<typeof pollyTtsConfigSchema>;

export interface PollyTtsOptions {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  voiceId?: string;
  /** Default neural. */
  engine?: PollyEngine;
  /** Default https://polly.{region}.amazonaws.com; tests point it at a loopback double. */
  endpoint?: string;
  /** Deadline for the first audio byte (headers and the start of the body). Default 10000 ms. */
  requestTimeoutMs?: number;
  logger?: Logger;
}

/** Builds the provider from its validated config section; `key` names the section in secret errors. */
export function pollyTtsFromConfig(config: PollyTtsConfig, env: NodeJS.ProcessEnv, logger?: Logger, key = 'tts.polly'): PollyTtsProvider {
  return new PollyTtsProvider({
    ...config,
    accessKeyId: resolveSecret(config.accessKeyId, `${key}.accessKeyId`, env)!,
    secretAccessKey: resolveSecret(config.secretAccessKey, `${key}.secretAccessKey`, env)!,
    sessionToken: resolveSecret(config.sessionToken, `${key}.sessionToken`, env),
    logger,
  });
}

/** The pcm rate to ask Polly for: 8000 for narrowband legs, else 16000 (resampled up if the leg is faster). */
export function pollySampleRateFor(sampleRate: number): (typeof POLLY_PCM_RATES)[number] {
  return sampleRate <= 8000 ? 8000 : 16000;
}

/** Polly rejects SSML without a `<speak>` root (InvalidSsmlException); fragments are wrapped. */
function ensureSpeakRoot(ssml: string): string {
  const trimmed = ssml.trim();
  return /^(?:<\?xml[^>]*\?>\s*)?<speak[\s>]/i.test(trimmed) ? trimmed : `<speak>${trimmed}</speak>`;
}

export class PollyTtsProvider implements TtsProvider {
  readonly name = PROVIDER_NAME;
  /** Endpoint (region), default voice and engine change the audio for the same text and request. */
  readonly cacheScope: string;
  private readonly endpoint: URL;
  private readonly region: string;
  private readonly credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  private readonly voiceId?: string;
  private readonly engine: PollyEngine;
  private readonly timeoutMs: number;
  private readonly logger?: Logger;

  constructor(options: PollyTtsOptions) {
    if (typeof options.region !== 'string' || !REGION.test(options.region)) {
      throw new TtsError(PROVIDER_NAME, `region must be an AWS region such as "us-east-1", got "${options.region}"`);
    }
    for (const option of ['accessKeyId', 'secretAccessKey'] as const) {
      if (typeof options[option] !== 'string' || options[option].trim() === '') throw new TtsError(PROVIDER_NAME, `${option} is required`);
    }
    if (options.voiceId !== undefined && options.voiceId.trim() === '') throw new TtsError(PROVIDER_NAME, 'voiceId must not be empty');
    if (options.engine !== undefined && !POLLY_ENGINES.includes(options.engine)) {
      throw new TtsError(PROVIDER_NAME, `engine must be one of ${POLLY_ENGINES.join(', ')}, got "${options.engine}"`);
    }
    const timeoutMs = options.requestTimeoutMs ?? 10_000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TtsError(PROVIDER_NAME, `requestTimeoutMs must be a positive number, got ${options.requestTimeoutMs}`);
    const defaultEndpoint = `https://polly.${options.region}.amazonaws.com${options.region.startsWith('cn-') ? '.cn' : ''}`;
    const base = httpUrlOption(PROVIDER_NAME, 'endpoint', options.endpoint ?? defaultEndpoint);
    this.endpoint = new URL(`${base.href.replace(/\/+$/, '')}/v1/speech`);
    this.region = options.region;
    this.credentials = { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey, sessionToken: options.sessionToken || undefined };
    this.voiceId = options.voiceId;
    this.engine = options.engine ?? POLLY_DEFAULT_ENGINE;
    this.timeoutMs = timeoutMs;
    this.logger = options.logger;
    this.cacheScope = `${base.host}|${this.region}|engine=${this.engine}|voice=${this.voiceId ?? ''}`;
  }

  async *synthesize(req: TtsRequest, signal?: AbortSignal): AsyncIterable<Int16Array> {
    checkSampleRate(PROVIDER_NAME, req.sampleRate);
    if (req.text.trim() === '') return;
    const voiceId = req.voice?.trim() || this.voiceId || defaultPollyVoice(req.language, this.engine);
    if (!voiceId) {
      throw new TtsError(PROVIDER_NAME, `no default ${this.engine} voice for language "${req.language}": set voiceId or name a voice in the request`);
    }
    const pcmRate = pollySampleRateFor(req.sampleRate);
    const where = `POST ${this.endpoint.href}`;
    const deadline = requestDeadline(signal, this.timeoutMs);
    const timeoutError = () => new TtsError(PROVIDER_NAME, `${where} sent no audio within ${this.timeoutMs} ms`);
    try {
      const body: Record<string, string> = {
        Engine: this.engine,
        OutputFormat: 'pcm',
        SampleRate: String(pcmRate),
        Text: req.ssml ? ensureSpeakRoot(req.text) : req.text.trim(),
        TextType: req.ssml ? 'ssml' : 'text',
        VoiceId: voiceId,
      };
      // LanguageCode only matters for bilingual voices; for others a mismatch is a 400.
      const bilingual = POLLY_BILINGUAL_VOICES[voiceId]?.find((tag) => tag.toLowerCase() === req.language.toLowerCase());
      if (bilingual) body.LanguageCode = bilingual;
      const payload = JSON.stringify(body);
      let res: Response;
      try {
        res = await fetch(this.endpoint, { method: 'POST', headers: this.signedHeaders(payload), body: payload, signal: deadline.signal });
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (deadline.timedOut()) throw timeoutError();
        throw new TtsError(PROVIDER_NAME, `${where} failed: ${describeFetchError(err)}`);
      }
      if (!res.ok) throw new TtsError(PROVIDER_NAME, `${where} answered ${res.status} ${res.statusText}: ${await pollyErrorMessage(res)}`);
      const contentType = (res.headers.get('content-type') ?? '').toLowerCase();
      // We asked for pcm; anything else (JSON from a proxy, mp3) would play as noise.
      if (!contentType.startsWith('audio/pcm')) {
        throw new TtsError(PROVIDER_NAME, `${where} answered Content-Type "${contentType}" instead of audio/pcm: ${await errorBodySnippet(res)}`);
      }
      if (!res.body) throw new TtsError(PROVIDER_NAME, `${where} answered ${res.status} without a body`);
      const audio = firstByteWithin(res.body as unknown as AsyncIterable<Uint8Array>, deadline, timeoutError, signal);
      yield* decodeAudioStream(audio, { kind: 'raw', format: { encoding: 'pcm16le', sampleRate: pcmRate, channels: 1 } }, req.sampleRate, where, PROVIDER_NAME);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const error = err instanceof TtsError ? err : new TtsError(PROVIDER_NAME, `${where}: ${describeFetchError(err)}`);
      this.logger?.warn({ err: error.message, voiceId, engine: this.engine }, 'Amazon Polly TTS failed');
      throw error;
    } finally {
      deadline.clear();
    }
  }

  /** SigV4 headers for this body; Host and Content-Length are signed but left for fetch to send (it derives the same values). */
  private signedHeaders(body: string): Record<string, string> {
    const signed = aws4.sign(
      {
        host: this.endpoint.host,
        method: 'POST',
        path: `${this.endpoint.pathname}${this.endpoint.search}`,
        service: 'polly',
        region: this.region,
        headers: { 'Content-Type': 'application/json' },
        body,
      },
      this.credentials,
    );
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(signed.headers ?? {})) {
      const lower = name.toLowerCase();
      if (lower === 'host' || lower === 'content-length' || value === undefined) continue;
      headers[lower] = String(value);
    }
    return headers;
  }
}


/**
 * Polly errors (restJson1): the type in the `x-amzn-ErrorType` header ("InvalidSsmlException:http://...")
 * or in the body's `__type` ("com.amazonaws.polly#ThrottlingException"), the text in `message`/`Message`.
 */
export async function pollyErrorMessage(res: Response): Promise<string> {
  let text = '';
  try {
    text = (await res.text()).trim();
  } catch {
    // the error body broke off: the header may still name the error
  }
  let json: { __type?: unknown; code?: unknown; message?: unknown; Message?: unknown } | undefined;
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    json = undefined;
  }
  const rawType = res.headers.get('x-amzn-errortype') ?? (typeof json?.__type === 'string' ? json.__type : undefined) ?? (typeof json?.code === 'string' ? json.code : undefined);
  const type = rawType?.split(':')[0].split('#').pop();
  const message = typeof json?.message === 'string' ? json.message : typeof json?.Message === 'string' ? json.Message : undefined;
  const flat = (message ?? text).replace(/\s+/g, ' ').trim();
  const detail = flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
  return `${type ?? 'error'}${detail ? `: ${detail}` : ''}`;
}
