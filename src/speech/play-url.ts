/**
 * Audio for the bot's playUrl activity: http(s), file: and data: URLs, in the media formats of the
 * bot API (wav/lpcm16 by default, raw/lpcm16 at 16 kHz, raw/mulaw and raw/alaw at 8 kHz),
 * converted to the leg's rate.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { decodeALaw, decodeMuLaw } from '../media/g711.js';
import { resample } from '../media/resample.js';
import { parseWav } from '../media/wav.js';

export const MAX_PLAY_URL_BYTES = 20 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 10_000;

export class PlayUrlError extends Error {}

async function fetchBytes(url: string, signal: AbortSignal): Promise<Uint8Array> {
  if (url.startsWith('data:')) {
    const comma = url.indexOf(',');
    if (comma < 0) throw new PlayUrlError('data: URL without a comma');
    const meta = url.slice(5, comma);
    const body = url.slice(comma + 1);
    return meta.endsWith(';base64') ? Buffer.from(body, 'base64') : Buffer.from(decodeURIComponent(body), 'latin1');
  }
  if (url.startsWith('file:')) return readFile(fileURLToPath(url));
  if (!/^https?:\/\//.test(url)) throw new PlayUrlError(`unsupported playUrl scheme in "${url.slice(0, 40)}" (expected http, https, file or data)`);
  const res = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)]) });
  if (!res.ok) throw new PlayUrlError(`GET ${url} answered ${res.status}`);
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > MAX_PLAY_URL_BYTES) throw new PlayUrlError(`GET ${url}: ${declared} bytes is over the ${MAX_PLAY_URL_BYTES}-byte limit`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (bytes.length > MAX_PLAY_URL_BYTES) throw new PlayUrlError(`GET ${url}: ${bytes.length} bytes is over the ${MAX_PLAY_URL_BYTES}-byte limit`);
  return bytes;
}

function decode(bytes: Uint8Array, mediaFormat: string | undefined): { samples: Int16Array; sampleRate: number } {
  const format = (mediaFormat ?? 'wav/lpcm16').toLowerCase();
  if (format.startsWith('wav/')) return parseWav(bytes);
  if (format === 'raw/lpcm16') {
    const samples = new Int16Array(bytes.length >> 1);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(i * 2, true);
    return { samples, sampleRate: 16000 };
  }
  if (format === 'raw/mulaw') return { samples: decodeMuLaw(bytes), sampleRate: 8000 };
  if (format === 'raw/alaw') return { samples: decodeALaw(bytes), sampleRate: 8000 };
  throw new PlayUrlError(`unsupported playUrlMediaFormat "${mediaFormat}" (expected wav/lpcm16, raw/lpcm16, raw/mulaw or raw/alaw)`);
}

export async function loadPlayUrlAudio(url: string, opts: { mediaFormat?: string; sampleRate: number; signal: AbortSignal }): Promise<Int16Array> {
  const bytes = await fetchBytes(url, opts.signal);
  const audio = decode(bytes, opts.mediaFormat);
  return resample(audio.samples, audio.sampleRate, opts.sampleRate);
}
