/**
 * OpenAI-compatible speech (`POST {baseUrl}/audio/speech`): OpenAI itself and self-hosted servers
 * that copy its API. Asks for `response_format: "pcm"` (raw 24 kHz PCM16 little-endian mono, no
 * header) and yields it while the body streams in, resampled to the request's rate. The API takes
 * plain text only, so SSML is reduced to its text content.
 */
import type { Logger } from '../../logger.js';
import {
  httpUrlOption,
  checkSampleRate,
  decodeAudioStream,
  describeFetchError,
  errorBodySnippet,
  requestDeadline,
} from './http-tts.js';
import { TtsError, type TtsProvider, type TtsRequest } from './provider.js';

/** OpenAI's `pcm` response format is 24 kHz. */
export const OPENAI_PCM_SAMPLE_RATE = 24000;

const PROVIDER_NAME = 'openai';

export interface OpenAiTtsOptions {
  /** API root such as https://api.openai.com/v1 (the provider appends /audio/speech). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`; self-hosted servers may need none. */
  apiKey?: string;
  /** tts-1, tts-1-hd, gpt-4o-mini-tts, or the self-hosted server's model name. */
  model: string;
  /** Default voice when the request names none. Default "alloy". */
  voice?: string;
  /** 0.25-4.0; omitted from the request when not set (the server's default, 1.0). */
  speed?: number;
  /** Deadline for the answer's headers. Default 15000 ms. */
  requestTimeoutMs?: number;
  logger?: Logger;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/**
 * Reduces SSML to the text it speaks: tags dropped (a <break> or block element becomes a space so
 * words do not run together), comments and CDATA markers removed, entities decoded, whitespace collapsed.
 */
export function ssmlToText(ssml: string): string {
  return ssml
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<\?[\s\S]*?\?>/g, ' ')
    .replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1')
    .replace(/<\/?(?:break|p|s|speak|voice|prosody|emphasis|say-as|lang|mark|audio|sub|phoneme|w)\b[^>]*>/gi, (tag) =>
      /^<\/?(?:break|p|s|speak|voice|mark)\b/i.test(tag) ? ' ' : '',
    )
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, ent: string) => {
      if (ent[0] === '#') {
        const code = ent[1] === 'x' || ent[1] === 'X' ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10);
        return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
      }
      return ENTITIES[ent.toLowerCase()] ?? m;
    })
    .replace(/\s+/g, ' ')
    .replace(/ ([,.;:!?])/g, '$1')
    .trim();
}

export class OpenAiTtsProvider implements TtsProvider {
  readonly name = PROVIDER_NAME;
  /** Model and speed change the audio for the same text and voice. */
  readonly cacheScope: string;
  private readonly endpoint: URL;
  private readonly apiKey?: string;
  private readonly model: string;
  private readonly voice: string;
  private readonly speed?: number;
  private readonly timeoutMs: number;
  private readonly logger?: Logger;

  constructor(options: OpenAiTtsOptions) {
    const base = httpUrlOption(PROVIDER_NAME, 'baseUrl', options.baseUrl);
    if (typeof options.model !== 'string' || options.model.trim() === '') {
      throw new TtsError(PROVIDER_NAME, 'model is required (e.g. "tts-1" or "gpt-4o-mini-tts")');
    }
    if (options.speed !== undefined && (!Number.isFinite(options.speed) || options.speed < 0.25 || options.speed > 4)) {
      throw new TtsError(PROVIDER_NAME, `speed must be between 0.25 and 4.0, got ${options.speed}`);
    }
    const timeoutMs = options.requestTimeoutMs ?? 15_000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new TtsError(PROVIDER_NAME, `requestTimeoutMs must be a positive number, got ${options.requestTimeoutMs}`);
    }
    this.endpoint = new URL(`${base.href.replace(/\/+$/, '')}/audio/speech`);
    this.apiKey = options.apiKey;
    this.model = options.model;
    this.voice = options.voice ?? 'alloy';
    this.speed = options.speed;
    this.timeoutMs = timeoutMs;
    this.logger = options.logger;
    this.cacheScope = `${base.host}|${this.model}|speed=${this.speed ?? 1}`;
  }

  async *synthesize(req: TtsRequest, signal?: AbortSignal): AsyncIterable<Int16Array> {
    checkSampleRate(PROVIDER_NAME, req.sampleRate);
    const input = req.ssml ? ssmlToText(req.text) : req.text.trim();
    if (input === '') return;
    const where = `POST ${this.endpoint.href}`;
    try {
      const body: Record<string, unknown> = { model: this.model, input, voice: req.voice || this.voice, response_format: 'pcm' };
      if (this.speed !== undefined) body.speed = this.speed;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
      const deadline = requestDeadline(signal, this.timeoutMs);
      let res: Response;
      try {
        res = await fetch(this.endpoint, { method: 'POST', headers, body: JSON.stringify(body), signal: deadline.signal });
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (deadline.timedOut()) throw new TtsError(PROVIDER_NAME, `${where} gave no answer within ${this.timeoutMs} ms`);
        throw new TtsError(PROVIDER_NAME, `${where} failed: ${describeFetchError(err)}`);
      } finally {
        deadline.clear();
      }
      if (!res.ok) throw new TtsError(PROVIDER_NAME, `${where} answered ${res.status} ${res.statusText}: ${await openAiErrorMessage(res)}`);
      const contentType = (res.headers.get('content-type') ?? '').toLowerCase();
      // A 200 with JSON or HTML is a proxy or a server that ignored response_format, not audio.
      if (contentType.startsWith('application/json') || contentType.startsWith('text/')) {
        throw new TtsError(
          PROVIDER_NAME,
          `${where} answered Content-Type "${contentType}" instead of raw PCM: ${await errorBodySnippet(res)}`,
        );
      }
      if (!res.body) throw new TtsError(PROVIDER_NAME, `${where} answered ${res.status} without a body`);
      yield* decodeAudioStream(
        res.body as unknown as AsyncIterable<Uint8Array>,
        { kind: 'raw', format: { encoding: 'pcm16le', sampleRate: OPENAI_PCM_SAMPLE_RATE, channels: 1 } },
        req.sampleRate,
        where,
        PROVIDER_NAME,
      );
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const error = err instanceof TtsError ? err : new TtsError(PROVIDER_NAME, `${where}: ${describeFetchError(err)}`);
      this.logger?.warn({ err: error.message, model: this.model }, 'OpenAI TTS failed');
      throw error;
    }
  }
}

/** OpenAI errors are `{ error: { message, type, code } }`; other servers send text or `{ detail }`. */
async function openAiErrorMessage(res: Response): Promise<string> {
  const text = await errorBodySnippet(res);
  try {
    const json = JSON.parse(text) as { error?: { message?: string; type?: string; code?: string } | string; detail?: unknown };
    if (json.error && typeof json.error === 'object' && json.error.message) {
      const kind = [json.error.type, json.error.code].filter(Boolean).join('/');
      return `${json.error.message}${kind ? ` (${kind})` : ''}`;
    }
    if (typeof json.error === 'string') return json.error;
    if (json.detail !== undefined) return typeof json.detail === 'string' ? json.detail : JSON.stringify(json.detail);
  } catch {
    // not JSON: the text itself is the best description
  }
  return text || '(empty body)';
}
