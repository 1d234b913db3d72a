/**
 * Generic HTTP TTS (the `AI_TTS_URL` role): POST `{ text, language, voice, ssml }` as JSON; the
 * server answers either with audio, or with JSON `{ audio_url }` naming audio to GET.
 *
 * Audio content types: `audio/wav` / `audio/x-wav` / `audio/wave`, `audio/L16;rate=N` (RFC 2586:
 * big-endian, unless `endianness=little-endian` as IBM Watson sends), `audio/pcm;rate=N`
 * (little-endian), `audio/basic`, `audio/x-mulaw;rate=N`, `audio/PCMU`, `audio/x-alaw;rate=N`;
 * an optional `channels=N` is down-mixed. Everything is decoded while the body arrives: raw formats
 * chunk by chunk, WAV by buffering only until its header and the data chunk start have arrived.
 * Output is resampled to the request's rate with one StreamResampler per synthesis.
 */
import type { Logger } from '../../logger.js';
import { decodeALaw, decodeMuLaw } from '../../media/g711.js';
import { StreamResampler } from '../../media/resample.js';
import { TtsError, type TtsProvider, type TtsRequest } from './provider.js';

const PROVIDER_NAME = 'http';

export type AudioEncoding = 'pcm16le' | 'pcm16be' | 'pcm8' | 'mulaw' | 'alaw';

export interface RawAudioFormat {
  encoding: AudioEncoding;
  sampleRate: number;
  channels: number;
}

/** What a Content-Type announces: a raw format, a WAV file (format in its header), or nothing usable. */
export type AnnouncedAudio = { kind: 'raw'; format: RawAudioFormat } | { kind: 'wav' } | { kind: 'unsupported'; reason: string };

export const SUPPORTED_AUDIO_TYPES =
  'audio/wav, audio/x-wav, audio/L16;rate=N, audio/pcm;rate=N, audio/basic, audio/x-mulaw;rate=N, audio/x-alaw;rate=N';

/** Reads a Content-Type such as `audio/L16; rate=16000; channels=1`. */
export function announcedAudio(contentType: string): AnnouncedAudio {
  const [rawType, ...rawParams] = contentType.split(';');
  const type = rawType.trim().toLowerCase();
  const params = new Map<string, string>();
  for (const p of rawParams) {
    const eq = p.indexOf('=');
    if (eq > 0) params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim().replace(/^"|"$/g, '').toLowerCase());
  }
  if (type === 'audio/wav' || type === 'audio/x-wav' || type === 'audio/wave' || type === 'audio/vnd.wave') return { kind: 'wav' };
  const channels = params.has('channels') ? Number(params.get('channels')) : 1;
  if (!Number.isInteger(channels) || channels < 1 || channels > 8) {
    return { kind: 'unsupported', reason: `channels=${params.get('channels')} is not a channel count` };
  }
  const rate = (fallback?: number): number | string => {
    const r = params.get('rate');
    if (r === undefined) return fallback ?? `${type} needs a rate parameter (e.g. ${type};rate=16000)`;
    const n = Number(r);
    return Number.isInteger(n) && n >= 4000 && n <= 192000 ? n : `rate=${r} is not a sample rate between 4000 and 192000`;
  };
  let encoding: AudioEncoding;
  let sampleRate: number | string;
  switch (type) {
    case 'audio/l16':
      encoding = params.get('endianness') === 'little-endian' ? 'pcm16le' : 'pcm16be';
      sampleRate = rate();
      break;
    case 'audio/pcm':
    case 'audio/x-pcm':
      encoding = 'pcm16le';
      sampleRate = rate();
      break;
    case 'audio/basic':
    case 'audio/pcmu':
    case 'audio/x-mulaw':
    case 'audio/mulaw':
      encoding = 'mulaw';
      sampleRate = rate(8000);
      break;
    case 'audio/pcma':
    case 'audio/x-alaw':
    case 'audio/alaw':
      encoding = 'alaw';
      sampleRate = rate(8000);
      break;
    default:
      return { kind: 'unsupported', reason: `unsupported Content-Type "${contentType || '(none)'}" (expected ${SUPPORTED_AUDIO_TYPES})` };
  }
  if (typeof sampleRate === 'string') return { kind: 'unsupported', reason: `Content-Type "${contentType}": ${sampleRate}` };
  return { kind: 'raw', format: { encoding, sampleRate, channels } };
}

/**
 * Turns bytes of one raw format into mono PCM16, carrying a partial frame (odd byte, half a stereo
 * frame) over to the next chunk so network chunk boundaries never shift the sample alignment.
 */
export class RawAudioDecoder {
  private readonly bytesPerSample: number;
  private readonly frameBytes: number;
  private readonly carry: Uint8Array;
  private carryLen = 0;

  constructor(readonly format: RawAudioFormat) {
    this.bytesPerSample = format.encoding === 'pcm16le' || format.encoding === 'pcm16be' ? 2 : 1;
    this.frameBytes = this.bytesPerSample * format.channels;
    this.carry = new Uint8Array(this.frameBytes);
  }

  /** Mono PCM16 for the whole frames available so far. */
  decode(chunk: Uint8Array): Int16Array {
    let bytes = chunk;
    if (this.carryLen > 0) {
      bytes = new Uint8Array(this.carryLen + chunk.length);
      bytes.set(this.carry.subarray(0, this.carryLen));
      bytes.set(chunk, this.carryLen);
      this.carryLen = 0;
    }
    const frames = Math.floor(bytes.length / this.frameBytes);
    const used = frames * this.frameBytes;
    if (used < bytes.length) {
      this.carry.set(bytes.subarray(used));
      this.carryLen = bytes.length - used;
    }
    const channels = this.format.channels;
    const interleaved = this.samples(bytes.subarray(0, used));
    if (channels === 1) return interleaved;
    const mono = new Int16Array(frames);
    for (let f = 0; f < frames; f++) {
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += interleaved[f * channels + c];
      mono[f] = Math.round(sum / channels);
    }
    return mono;
  }

  /** Bytes of an incomplete frame left at the end of the stream (a truncated body). */
  get pendingBytes(): number {
    return this.carryLen;
  }

  private samples(bytes: Uint8Array): Int16Array {
    switch (this.format.encoding) {
      case 'mulaw':
        return decodeMuLaw(bytes);
      case 'alaw':
        return decodeALaw(bytes);
      case 'pcm8': {
        const out = new Int16Array(bytes.length);
        for (let i = 0; i < bytes.length; i++) out[i] = (bytes[i] - 128) << 8;
        return out;
      }
      case 'pcm16le': {
        const out = new Int16Array(bytes.length >> 1);
        for (let i = 0, j = 0; i < out.length; i++, j += 2) out[i] = ((bytes[j] | (bytes[j + 1] << 8)) << 16) >> 16;
        return out;
      }
      case 'pcm16be': {
        const out = new Int16Array(bytes.length >> 1);
        for (let i = 0, j = 0; i < out.length; i++, j += 2) out[i] = (((bytes[j] << 8) | bytes[j + 1]) << 16) >> 16;
        return out;
      }
    }
  }
}

/** Largest WAV header (RIFF chunks before `data`) buffered before giving up; real headers are < 1 KB. */
const MAX_WAV_HEADER = 64 * 1024;

/**
 * Reads a WAV header from the start of a stream. Returns the format and the offset of the first
 * data byte once enough bytes have arrived, undefined while more are needed; throws on a bad header.
 * The data chunk's size is ignored: streaming servers write 0 or 0xFFFFFFFF there.
 */
export function parseWavHeader(buf: Uint8Array): { format: RawAudioFormat; dataOffset: number } | undefined {
  const tag = (o: number) => String.fromCharCode(buf[o], buf[o + 1], buf[o + 2], buf[o + 3]);
  if (buf.length < 12) return undefined;
  if (tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error('not a RIFF/WAVE file');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let fmt: RawAudioFormat | undefined;
  let off = 12;
  while (off + 8 <= buf.length) {
    const id = tag(off);
    const size = view.getUint32(off + 4, true);
    const body = off + 8;
    if (id === 'data') {
      if (!fmt) throw new Error('WAV data chunk comes before its fmt chunk');
      return { format: fmt, dataOffset: body };
    }
    if (id === 'fmt ') {
      if (size < 16) throw new Error(`WAV fmt chunk is truncated (${size} bytes, need 16)`);
      if (body + 16 > buf.length) return undefined;
      let format = view.getUint16(body, true);
      const channels = view.getUint16(body + 2, true);
      const sampleRate = view.getUint32(body + 4, true);
      const bits = view.getUint16(body + 14, true);
      if (format === 0xfffe) {
        if (size < 26) throw new Error('WAV extensible fmt chunk is truncated');
        if (body + 26 > buf.length) return undefined;
        format = view.getUint16(body + 24, true);
      }
      let encoding: AudioEncoding;
      if (format === 1 && bits === 16) encoding = 'pcm16le';
      else if (format === 1 && bits === 8) encoding = 'pcm8';
      else if (format === 7 && bits === 8) encoding = 'mulaw';
      else if (format === 6 && bits === 8) encoding = 'alaw';
      else throw new Error(`unsupported WAV encoding: format ${format}, ${bits} bits (expected PCM16, PCM8, mu-law or A-law)`);
      if (channels < 1 || channels > 8) throw new Error(`WAV channel count ${channels} is invalid`);
      if (sampleRate < 4000 || sampleRate > 192000) throw new Error(`WAV sample rate ${sampleRate} Hz is out of range`);
      fmt = { encoding, sampleRate, channels };
    }
    off = body + size + (size & 1);
  }
  if (buf.length > MAX_WAV_HEADER) throw new Error(`no WAV data chunk in the first ${MAX_WAV_HEADER} bytes`);
  return undefined;
}

/**
 * Decodes a streamed audio body to mono PCM16 at `outRate`, yielding as bytes arrive. `describe`
 * names the source in errors (e.g. "GET https://host/a.wav").
 */
export async function* decodeAudioStream(
  body: AsyncIterable<Uint8Array>,
  announced: { kind: 'raw'; format: RawAudioFormat } | { kind: 'wav' },
  outRate: number,
  describe: string,
  provider = PROVIDER_NAME,
): AsyncGenerator<Int16Array> {
  let decoder = announced.kind === 'raw' ? new RawAudioDecoder(announced.format) : undefined;
  let resampler: StreamResampler | undefined;
  const startDecoding = (format: RawAudioFormat) => {
    decoder = new RawAudioDecoder(format);
    resampler = format.sampleRate === outRate ? undefined : new StreamResampler(format.sampleRate, outRate);
  };
  if (decoder) startDecoding(decoder.format);
  let header: Uint8Array | undefined; // WAV bytes buffered until the data chunk starts
  let received = 0;
  try {
    for await (const chunk of body) {
      received += chunk.length;
      let bytes = chunk;
      if (!decoder) {
        header = header ? concatBytes(header, chunk) : chunk;
        let parsed;
        try {
          parsed = parseWavHeader(header);
        } catch (err) {
          throw new TtsError(provider, `${describe} returned an unreadable WAV: ${(err as Error).message}`);
        }
        if (!parsed) continue;
        startDecoding(parsed.format);
        bytes = header.subarray(parsed.dataOffset);
        header = undefined;
      }
      const pcm = decoder!.decode(bytes);
      if (pcm.length === 0) continue;
      const out = resampler ? resampler.push(pcm) : pcm;
      if (out.length > 0) yield out;
    }
  } catch (err) {
    if (err instanceof TtsError) throw err;
    throw new TtsError(provider, `${describe}: the audio body broke off after ${received} bytes: ${describeFetchError(err)}`);
  }
  if (!decoder) {
    throw new TtsError(provider, `${describe} returned ${received} bytes, too few for a WAV header and data chunk`);
  }
  if (resampler) {
    const tail = resampler.flush();
    if (tail.length > 0) yield tail;
  }
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Up to 300 characters of an error body, for the TtsError message. */
export async function errorBodySnippet(res: Response): Promise<string> {
  try {
    const text = (await res.text()).trim().replace(/\s+/g, ' ');
    return text.length > 300 ? `${text.slice(0, 300)}…` : text;
  } catch {
    return '';
  }
}

export function describeFetchError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  // undici reports "fetch failed" and keeps the reason (ECONNREFUSED, bad port...) in `cause`.
  if (e?.cause?.code) return `${e.cause.code}${e.cause.message ? ` (${e.cause.message})` : ''}`;
  if (e?.cause?.message) return e.cause.message;
  return e?.message ?? String(err);
}

/** Aborts on the caller's signal, or when `timeoutMs` passes before `clear()` (the answer's headers arrived). */
export function requestDeadline(signal: AbortSignal | undefined, timeoutMs: number): { signal: AbortSignal; clear(): void; timedOut(): boolean } {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`no answer within ${timeoutMs} ms`));
  }, timeoutMs);
  const onAbort = () => controller.abort(signal!.reason);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    clear: () => clearTimeout(timer),
    timedOut: () => timedOut,
  };
}

/**
 * Passes an answer body through, keeping the request deadline armed until the first audio byte:
 * streaming TTS services send their headers at once and may take seconds before any audio. A body
 * cut by the deadline becomes `timeoutError()`; `counted.bytes` tracks what arrived (for errors).
 */
export async function* firstByteWithin(
  body: AsyncIterable<Uint8Array>,
  deadline: { clear(): void; timedOut(): boolean },
  timeoutError: () => Error,
  signal?: AbortSignal,
  counted: { bytes: number } = { bytes: 0 },
): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of body) {
      if (counted.bytes === 0 && chunk.length > 0) deadline.clear();
      counted.bytes += chunk.length;
      yield chunk;
    }
  } catch (err) {
    if (!signal?.aborted && deadline.timedOut()) throw timeoutError();
    throw err;
  }
}

export function checkSampleRate(provider: string, sampleRate: number): void {
  if (!Number.isInteger(sampleRate) || sampleRate < 4000 || sampleRate > 192000) {
    throw new TtsError(provider, `sampleRate must be an integer between 4000 and 192000, got ${sampleRate}`);
  }
}

// ---------------------------------------------------------------------------------------------

export interface HttpTtsOptions {
  /** The TTS endpoint (`AI_TTS_URL`). */
  url: string;
  /** Sent as `Authorization: Bearer <token>` to the TTS URL and to audio URLs on the same origin. */
  token?: string;
  /** Deadline for each answer's headers (the POST, then the audio_url GET). Default 10000 ms. */
  requestTimeoutMs?: number;
  logger?: Logger;
}

/** Parses a provider's URL option; anything but an absolute http(s) URL is a TtsError naming the option. */
export function httpUrlOption(provider: string, option: string, value: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new TtsError(provider, `${option} must be an absolute http(s) URL, got "${value}"`);
  return url;
}

export class HttpTtsProvider implements TtsProvider {
  readonly name = PROVIDER_NAME;
  readonly cacheScope: string;
  private readonly url: URL;
  private readonly token?: string;
  private readonly timeoutMs: number;
  private readonly logger?: Logger;

  constructor(options: HttpTtsOptions) {
    const url = httpUrlOption(PROVIDER_NAME, 'url', options.url);
    const timeoutMs = options.requestTimeoutMs ?? 10_000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new TtsError(PROVIDER_NAME, `requestTimeoutMs must be a positive number, got ${options.requestTimeoutMs}`);
    }
    this.url = url;
    this.token = options.token;
    this.timeoutMs = timeoutMs;
    this.logger = options.logger;
    // Different endpoints are different voices: the URL is part of the cache key.
    this.cacheScope = url.href;
  }

  async *synthesize(req: TtsRequest, signal?: AbortSignal): AsyncIterable<Int16Array> {
    checkSampleRate(PROVIDER_NAME, req.sampleRate);
    if (req.text.trim() === '') return;
    try {
      const body = JSON.stringify({ text: req.text, language: req.language, voice: req.voice ?? null, ssml: req.ssml === true });
      let res = await this.fetchAnswer('POST', this.url, body, signal);
      const what = `POST ${this.url.href}`;
      let source = what;
      let contentType = res.headers.get('content-type') ?? '';
      if (contentType.toLowerCase().startsWith('application/json')) {
        const audioUrl = await this.audioUrlFrom(res, what);
        res = await this.fetchAnswer('GET', audioUrl, undefined, signal);
        source = `GET ${audioUrl.href}`;
        contentType = res.headers.get('content-type') ?? '';
      }
      const announced = announcedAudio(contentType);
      if (announced.kind === 'unsupported') {
        await res.body?.cancel().catch(() => {});
        throw new TtsError(PROVIDER_NAME, `${source} answered with ${announced.reason}`);
      }
      if (!res.body) throw new TtsError(PROVIDER_NAME, `${source} answered ${res.status} without a body`);
      yield* decodeAudioStream(res.body as unknown as AsyncIterable<Uint8Array>, announced, req.sampleRate, source);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const error = err instanceof TtsError ? err : new TtsError(PROVIDER_NAME, `${this.url.href}: ${describeFetchError(err)}`);
      this.logger?.warn({ err: error.message, url: this.url.href }, 'HTTP TTS failed');
      throw error;
    }
  }

  private async fetchAnswer(method: 'POST' | 'GET', url: URL, body: string | undefined, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { accept: `${SUPPORTED_AUDIO_TYPES.replace(/;rate=N/g, '')}, application/json` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token && url.origin === this.url.origin) headers.authorization = `Bearer ${this.token}`;
    const deadline = requestDeadline(signal, this.timeoutMs);
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body, signal: deadline.signal });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (deadline.timedOut()) throw new TtsError(PROVIDER_NAME, `${method} ${url.href} gave no answer within ${this.timeoutMs} ms`);
      throw new TtsError(PROVIDER_NAME, `${method} ${url.href} failed: ${describeFetchError(err)}`);
    } finally {
      deadline.clear();
    }
    if (!res.ok) {
      const detail = await errorBodySnippet(res);
      throw new TtsError(PROVIDER_NAME, `${method} ${url.href} answered ${res.status} ${res.statusText}${detail ? `: ${detail}` : ''}`);
    }
    return res;
  }

  private async audioUrlFrom(res: Response, what: string): Promise<URL> {
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new TtsError(PROVIDER_NAME, `${what} answered application/json that does not parse: ${text.slice(0, 200)}`);
    }
    const audioUrl = (json as { audio_url?: unknown } | null)?.audio_url;
    if (typeof audioUrl !== 'string' || audioUrl === '') {
      throw new TtsError(PROVIDER_NAME, `${what} answered JSON without a string "audio_url": ${text.slice(0, 200)}`);
    }
    let url: URL;
    try {
      url = new URL(audioUrl, this.url); // relative audio URLs resolve against the TTS endpoint
    } catch {
      throw new TtsError(PROVIDER_NAME, `${what} answered an invalid audio_url "${audioUrl}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TtsError(PROVIDER_NAME, `${what} answered audio_url "${audioUrl}", expected http(s)`);
    }
    return url;
  }
}
