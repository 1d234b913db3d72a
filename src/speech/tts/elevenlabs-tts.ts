/**
 * ElevenLabs streaming speech: `POST {baseUrl}/v1/text-to-speech/{voice_id}/stream?output_format=...`
 * with the `xi-api-key` header and a JSON body `{ text, model_id, voice_settings?, language_code? }`.
 * Asks for raw PCM (`pcm_8000`/`pcm_16000`/`pcm_22050`/`pcm_24000`, 16-bit little-endian mono, no
 * header) at the rate nearest above the leg's, and yields it while the body streams in, resampled
 * when the rates differ. ElevenLabs takes no SSML: SSML is reduced to text, keeping its timed
 * `<break>`s, which the v2/v2.5 models honour inline (up to 3 s).
 */
import { z } from 'zod';
import { resolveSecret, secretSchema } from '../../runtime/secrets.js';
import type { Logger } from '../../logger.js';
import { checkSampleRate, decodeAudioStream, describeFetchError, errorBodySnippet, firstByteWithin, httpUrlOption, requestDeadline, type RawAudioFormat } from './http-tts.js';
import { ssmlToText } from './openai-tts.js';
import { TtsError, type TtsProvider, type TtsRequest } from './provider.js';

const PROVIDER_NAME = 'elevenlabs';

export const ELEVENLABS_DEFAULT_BASE_URL = 'https://api.elevenlabs.io';
/** Flash v2.5: ElevenLabs' lowest-latency model (~75 ms), 32 languages. */
export const ELEVENLABS_DEFAULT_MODEL = 'eleven_flash_v2_5';

/** Output formats this provider can decode; 44.1/48 kHz PCM need a Pro plan and gain nothing on a phone leg. */
export const ELEVENLABS_OUTPUT_FORMATS = ['pcm_8000', 'pcm_16000', 'pcm_22050', 'pcm_24000', 'ulaw_8000'] as const;
export type ElevenLabsOutputFormat = (typeof ELEVENLABS_OUTPUT_FORMATS)[number];

/** Longest pause ElevenLabs honours in a `<break time>` tag. */
const MAX_BREAK_SECONDS = 3;

export const elevenLabsTtsConfigSchema = z
  .object({
    apiKey: secretSchema,
    /** Default voice (a voice ID such as "21m00Tcm4TlvDq8ikWAM"); a request's voice wins. */
    voiceId: z.string().min(1),
    modelId: z.string().min(1).optional(),
    /** API root; default https://api.elevenlabs.io (EU residency: https://api.eu.residency.elevenlabs.io). */
    baseUrl: z.string().url().optional(),
    stability: z.number().min(0).max(1).optional(),
    similarityBoost: z.number().min(0).max(1).optional(),
    style: z.number().min(0).max(1).optional(),
    speed: z.number().min(0.7).max(1.2).optional(),
    /** Force one output format instead of the one nearest the leg's rate. */
    outputFormat: z.enum(ELEVENLABS_OUTPUT_FORMATS).optional(),
    requestTimeoutMs: z.number().int().positive().optional(),
  })
  .strict();
export type ElevenLabsTtsConfig = z.infer<typeof elevenLabsTtsConfigSchema>;

export interface ElevenLabsTtsOptions {
  apiKey: string;
  voiceId: string;
  /** Default eleven_flash_v2_5. */
  modelId?: string;
  /** Default https://api.elevenlabs.io; tests point it at a loopback double. */
  baseUrl?: string;
  /** voice_settings; each omitted field keeps the voice's stored setting. */
  stability?: number;
  similarityBoost?: number;
  style?: number;
  speed?: number;
  outputFormat?: ElevenLabsOutputFormat;
  /** Deadline for the first audio byte (headers and the start of the body). Default 10000 ms. */
  requestTimeoutMs?: number;
  logger?: Logger;
}

/** Builds the provider from its validated config section; `key` names the section in secret errors. */
export function elevenLabsTtsFromConfig(config: ElevenLabsTtsConfig, env: NodeJS.ProcessEnv, logger?: Logger, key = 'tts.elevenlabs'): ElevenLabsTtsProvider {
  return new ElevenLabsTtsProvider({ ...config, apiKey: resolveSecret(config.apiKey, `${key}.apiKey`, env)!, logger });
}

function formatOf(outputFormat: ElevenLabsOutputFormat): RawAudioFormat {
  if (outputFormat === 'ulaw_8000') return { encoding: 'mulaw', sampleRate: 8000, channels: 1 };
  return { encoding: 'pcm16le', sampleRate: Number(outputFormat.slice(4)), channels: 1 };
}

/** The PCM format nearest the leg's rate, preferring one at or above it so no bandwidth is lost. */
export function elevenLabsFormatFor(sampleRate: number): ElevenLabsOutputFormat {
  const rates = [8000, 16000, 22050, 24000];
  const rate = rates.find((r) => r >= sampleRate) ?? rates[rates.length - 1];
  return `pcm_${rate}` as ElevenLabsOutputFormat;
}

/** language_code is accepted only by models with language enforcement; others answer 400 for it. */
function modelTakesLanguageCode(modelId: string): boolean {
  return /_v2_5$|^eleven_v3/.test(modelId);
}

/**
 * SSML to the text ElevenLabs speaks: like ssmlToText, but timed breaks survive as
 * `<break time="1.5s" />`, the only tag the API reads (clamped to its 3 s maximum).
 */
export function ssmlToElevenLabsText(ssml: string): string {
  const breaks: string[] = [];
  // A private-use marker carries each break through ssmlToText, which drops every tag.
  const marked = ssml.replace(/<break\b[^>]*>/gi, (tag) => {
    const seconds = breakSeconds(tag);
    if (seconds === undefined) return tag;
    breaks.push(`<break time="${seconds}s" />`);
    return ` \uE000${breaks.length - 1}\uE001 `;
  });
  return ssmlToText(marked)
    .replace(/\uE000(\d+)\uE001/g, (_m, i: string) => breaks[Number(i)])
    .replace(/\s+/g, ' ')
    .trim();
}

function breakSeconds(tag: string): number | undefined {
  const time = /\btime\s*=\s*["']\s*([\d.]+)\s*(ms|s)\s*["']/i.exec(tag);
  if (time) {
    const seconds = time[2].toLowerCase() === 'ms' ? Number(time[1]) / 1000 : Number(time[1]);
    return Number.isFinite(seconds) ? Math.round(Math.min(seconds, MAX_BREAK_SECONDS) * 100) / 100 : undefined;
  }
  // SSML strength values, mapped to the pauses SSML engines commonly use for them.
  const strength = /\bstrength\s*=\s*["'](\w[\w-]*)["']/i.exec(tag)?.[1].toLowerCase();
  const byStrength: Record<string, number> = { weak: 0.25, medium: 0.5, strong: 1, 'x-strong': 1.5 };
  return strength && strength in byStrength ? byStrength[strength] : undefined;
}

export class ElevenLabsTtsProvider implements TtsProvider {
  readonly name = PROVIDER_NAME;
  /** Default voice, model, voice settings and a forced output format change the audio for the same request. */
  readonly cacheScope: string;
  private readonly base: string;
  private readonly apiKey: string;
  private readonly voiceId: string;
  private readonly modelId: string;
  private readonly voiceSettings?: Record<string, number>;
  private readonly outputFormat?: ElevenLabsOutputFormat;
  private readonly timeoutMs: number;
  private readonly logger?: Logger;

  constructor(options: ElevenLabsTtsOptions) {
    const base = httpUrlOption(PROVIDER_NAME, 'baseUrl', options.baseUrl ?? ELEVENLABS_DEFAULT_BASE_URL);
    if (typeof options.apiKey !== 'string' || options.apiKey.trim() === '') throw new TtsError(PROVIDER_NAME, 'apiKey is required (sent as xi-api-key)');
    if (typeof options.voiceId !== 'string' || options.voiceId.trim() === '') throw new TtsError(PROVIDER_NAME, 'voiceId is required (e.g. "21m00Tcm4TlvDq8ikWAM")');
    if (options.modelId !== undefined && options.modelId.trim() === '') throw new TtsError(PROVIDER_NAME, 'modelId must not be empty');
    const settings: Record<string, number> = {};
    for (const [option, field, min, max] of [
      ['stability', 'stability', 0, 1],
      ['similarityBoost', 'similarity_boost', 0, 1],
      ['style', 'style', 0, 1],
      ['speed', 'speed', 0.7, 1.2],
    ] as const) {
      const value = options[option];
      if (value === undefined) continue;
      if (!Number.isFinite(value) || value < min || value > max) throw new TtsError(PROVIDER_NAME, `${option} must be between ${min} and ${max}, got ${value}`);
      settings[field] = value;
    }
    if (options.outputFormat !== undefined && !ELEVENLABS_OUTPUT_FORMATS.includes(options.outputFormat)) {
      throw new TtsError(PROVIDER_NAME, `outputFormat must be one of ${ELEVENLABS_OUTPUT_FORMATS.join(', ')}, got "${options.outputFormat}"`);
    }
    const timeoutMs = options.requestTimeoutMs ?? 10_000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TtsError(PROVIDER_NAME, `requestTimeoutMs must be a positive number, got ${options.requestTimeoutMs}`);
    this.base = base.href.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.voiceId = options.voiceId;
    this.modelId = options.modelId ?? ELEVENLABS_DEFAULT_MODEL;
    this.voiceSettings = Object.keys(settings).length > 0 ? settings : undefined;
    this.outputFormat = options.outputFormat;
    this.timeoutMs = timeoutMs;
    this.logger = options.logger;
    const settingsKey = Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(',');
    // The default voice speaks when a request names none; the cache key holds only the request's voice.
    this.cacheScope = `${base.host}|${this.voiceId}|${this.modelId}|${settingsKey}|${this.outputFormat ?? 'pcm'}`;
  }

  async *synthesize(req: TtsRequest, signal?: AbortSignal): AsyncIterable<Int16Array> {
    checkSampleRate(PROVIDER_NAME, req.sampleRate);
    const text = req.ssml ? ssmlToElevenLabsText(req.text) : req.text.trim();
    if (text === '' || /^(?:<break time="[\d.]+s" \/>\s*)+$/.test(text)) return;
    const outputFormat = this.outputFormat ?? elevenLabsFormatFor(req.sampleRate);
    const voiceId = req.voice || this.voiceId;
    const url = new URL(`${this.base}/v1/text-to-speech/${encodeURIComponent(voiceId)}/stream`);
    url.searchParams.set('output_format', outputFormat);
    const where = `POST ${url.origin}${url.pathname}`;
    const deadline = requestDeadline(signal, this.timeoutMs);
    const timeoutError = () => new TtsError(PROVIDER_NAME, `${where} sent no audio within ${this.timeoutMs} ms`);
    try {
      const body: Record<string, unknown> = { text, model_id: this.modelId };
      if (this.voiceSettings) body.voice_settings = this.voiceSettings;
      const language = req.language?.split(/[-_]/)[0]?.toLowerCase();
      if (language && /^[a-z]{2}$/.test(language) && modelTakesLanguageCode(this.modelId)) body.language_code = language;
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'xi-api-key': this.apiKey, 'content-type': 'application/json', accept: 'audio/*' },
          body: JSON.stringify(body),
          signal: deadline.signal,
        });
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (deadline.timedOut()) throw timeoutError();
        throw new TtsError(PROVIDER_NAME, `${where} failed: ${describeFetchError(err)}`);
      }
      if (!res.ok) throw new TtsError(PROVIDER_NAME, `${where} answered ${res.status} ${res.statusText}: ${await elevenLabsErrorMessage(res)}`);
      const contentType = (res.headers.get('content-type') ?? '').toLowerCase();
      // A 200 with JSON or HTML comes from a proxy or captive portal, not from the speech engine.
      if (contentType.startsWith('application/json') || contentType.startsWith('text/')) {
        throw new TtsError(PROVIDER_NAME, `${where} answered Content-Type "${contentType}" instead of ${outputFormat} audio: ${await errorBodySnippet(res)}`);
      }
      if (!res.body) throw new TtsError(PROVIDER_NAME, `${where} answered ${res.status} without a body`);
      const counted = { bytes: 0 };
      const audio = firstByteWithin(res.body as unknown as AsyncIterable<Uint8Array>, deadline, timeoutError, signal, counted);
      yield* decodeAudioStream(audio, { kind: 'raw', format: formatOf(outputFormat) }, req.sampleRate, where, PROVIDER_NAME);
      if (counted.bytes === 0) throw new TtsError(PROVIDER_NAME, `${where} answered 200 with an empty body (no audio)`);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const error = err instanceof TtsError ? err : new TtsError(PROVIDER_NAME, `${where}: ${describeFetchError(err)}`);
      this.logger?.warn({ err: error.message, model: this.modelId, voiceId }, 'ElevenLabs TTS failed');
      throw error;
    } finally {
      deadline.clear();
    }
  }
}


/**
 * ElevenLabs errors: `{ detail: { status, message } }` (401 invalid_api_key / quota_exceeded,
 * 429 too_many_concurrent_requests / system_busy) or FastAPI's 422 `{ detail: [{ loc, msg, type }] }`.
 */
export async function elevenLabsErrorMessage(res: Response): Promise<string> {
  const text = await errorBodySnippet(res);
  try {
    const json = JSON.parse(text) as { detail?: unknown };
    const detail = json.detail;
    if (Array.isArray(detail)) {
      const issues = detail.map((d: { loc?: unknown[]; msg?: string }) => `${Array.isArray(d.loc) ? d.loc.join('.') : '?'}: ${d.msg ?? JSON.stringify(d)}`);
      return `validation failed: ${issues.join('; ')}`;
    }
    if (detail && typeof detail === 'object') {
      const { status, message } = detail as { status?: string; message?: string };
      if (message) return `${message}${status ? ` (${status})` : ''}`;
    }
    if (typeof detail === 'string') return detail;
  } catch {
    // not JSON: the text itself is the best description
  }
  return text || '(empty body)';
}
