/** <Play loop>url</Play>: a WAV from http(s) or file://, resampled to 8 kHz, played in real time. */
import { fileURLToPath } from 'node:url';
import { parseWav, readWavFile, type WavAudio } from '../../media/wav.js';
import { resample } from '../../media/resample.js';
import { NEXT, resolveUrl, type VerbContext, type VerbResult } from '../xml-executor.js';
import { textContent, type XmlElement } from '../plivo-xml.js';
import { HEARD_RATE } from '../virtual-party.js';
import { numberAttr } from './attributes.js';
import { playInRealTime } from './playback.js';

export async function loadAudio(url: string, timeoutMs: number): Promise<WavAudio> {
  const parsed = new URL(url);
  if (parsed.protocol === 'file:') return readWavFile(fileURLToPath(parsed));
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`unsupported audio URL scheme ${parsed.protocol} (expected http, https or file)`);
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET ${url} answered HTTP ${res.status}`);
  return parseWav(new Uint8Array(await res.arrayBuffer()));
}

export async function execPlay(ctx: VerbContext, el: XmlElement): Promise<VerbResult> {
  const { call, signal } = ctx;
  const raw = textContent(el);
  if (!raw) throw new Error('<Play> has no URL');
  const url = resolveUrl(raw, ctx.documentUrl);
  let audio: WavAudio;
  try {
    audio = await loadAudio(url, 10_000);
  } catch (err) {
    // Plivo skips a file it cannot fetch or decode and moves on.
    call.warn(`<Play> ${url}: ${(err as Error).message}; skipped`);
    return NEXT;
  }
  const samples = audio.sampleRate === HEARD_RATE ? audio.samples : resample(audio.samples, audio.sampleRate, HEARD_RATE);
  const loop = numberAttr(el, 'loop', 1, 0, 10_000) || 10_000;
  await playInRealTime(call, 'play', signal, async (queue) => {
    for (let i = 0; i < loop; i++) queue.push(samples);
  });
  return NEXT;
}
