/**
 * Playing to the party in real time, for the verbs of every carrier: PCM through a playout queue,
 * text through the TTS provider (or a placeholder tone when the simulator has none), and WAV files
 * fetched from a URL. Each resolves once the audio has been heard, or early when `signal` aborts.
 */
import { fileURLToPath } from 'node:url';
import { parseWav, readWavFile, type WavAudio } from '../media/wav.js';
import { resample } from '../media/resample.js';
import type { PlayoutQueue } from './playout-queue.js';
import type { AnySimCall } from './simulated-call.js';
import { loopAttr } from './verb-attributes.js';
import { elementChildren, innerXml, textContent, type XmlElement } from './xml-document.js';
import { HEARD_RATE } from './virtual-party.js';

/** Opens a playout queue, lets `fill` push audio into it, and resolves once everything has played. */
export async function playInRealTime(
  call: AnySimCall,
  label: string,
  signal: AbortSignal,
  fill: (queue: PlayoutQueue) => Promise<void>,
): Promise<void> {
  if (signal.aborted) return;
  const queue = call.openPlayout(label);
  const onAbort = () => queue.clear(true);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await fill(queue);
    if (!signal.aborted) await queue.drained();
  } finally {
    signal.removeEventListener('abort', onAbort);
    call.closePlayout(queue);
  }
}

export interface SpeechRequest {
  /** Plain text, or an SSML document when `ssml`. */
  text: string;
  ssml: boolean;
  language: string;
  voice: string;
  /** How many times to say it (>= 1). */
  loop: number;
}

/** The speech of a text-to-speech verb (Plivo <Speak>, Twilio <Say>): its text, or SSML when it has markup children. */
export function speechRequest(el: XmlElement, defaultVoice: string): SpeechRequest {
  const ssml = elementChildren(el).length > 0;
  return {
    text: ssml ? `<speak>${innerXml(el)}</speak>` : textContent(el),
    ssml,
    language: el.attrs.language ?? 'en-US',
    voice: el.attrs.voice ?? defaultVoice,
    loop: loopAttr(el),
  };
}

/** Roughly 155 words a minute: how long a placeholder stands in for each character of text. */
const PLACEHOLDER_MS_PER_CHAR = 65;
const PLACEHOLDER_MIN_MS = 200;

/** A soft 300 Hz tone as long as the text would take to say, so the party hears where the speech was. */
export function placeholderSpeech(text: string): Int16Array {
  const chars = text.replace(/<[^>]*>/g, '').trim().length;
  const ms = Math.max(PLACEHOLDER_MIN_MS, chars * PLACEHOLDER_MS_PER_CHAR);
  const out = new Int16Array(Math.round((ms * HEARD_RATE) / 1000));
  for (let i = 0; i < out.length; i++) out[i] = Math.round(3000 * Math.sin((2 * Math.PI * 300 * i) / HEARD_RATE));
  return out;
}

/**
 * Says `request.text` to the party (`label` on the timeline: speak, say) through the simulator's TTS
 * provider; without one, a placeholder tone of plausible length plays instead, with a warning naming
 * `what` was said (`<Speak>`, `<Say>`, ...).
 */
export async function speakInRealTime(call: AnySimCall, what: string, label: string, request: SpeechRequest, signal: AbortSignal): Promise<void> {
  if (!request.text) return;
  const tts = call.env.tts;
  if (!tts) {
    const placeholder = placeholderSpeech(request.text);
    call.warn(`${what} without a TTS provider: a ${(placeholder.length / HEARD_RATE).toFixed(2)} s placeholder tone stands in for the speech`);
    await playInRealTime(call, label, signal, async (queue) => {
      for (let i = 0; i < request.loop; i++) queue.push(placeholder);
    });
    return;
  }
  const ttsRequest = { text: request.text, ssml: request.ssml, language: request.language, voice: request.voice, sampleRate: HEARD_RATE };
  await playInRealTime(call, label, signal, async (queue) => {
    // Synthesize once, replay for loops: the same audio the carrier would repeat.
    const chunks: Int16Array[] = [];
    for await (const chunk of tts.synthesize(ttsRequest, signal)) {
      if (signal.aborted) return;
      chunks.push(chunk);
      queue.push(chunk);
    }
    for (let i = 1; i < request.loop && !signal.aborted; i++) for (const c of chunks) queue.push(c);
  });
}

/** Reads a WAV from http(s) or file://. */
export async function loadAudio(url: string, timeoutMs: number): Promise<WavAudio> {
  const parsed = new URL(url);
  if (parsed.protocol === 'file:') return readWavFile(fileURLToPath(parsed));
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`unsupported audio URL scheme ${parsed.protocol} (expected http, https or file)`);
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET ${url} answered HTTP ${res.status}`);
  return parseWav(new Uint8Array(await res.arrayBuffer()));
}

/**
 * Plays the WAV at `url` (resampled to 8 kHz) `loop` times. A file that cannot be fetched or decoded
 * is skipped with a warning naming `verb`, as carriers move on to the next verb.
 */
export async function playUrlInRealTime(call: AnySimCall, verb: string, url: string, loop: number, signal: AbortSignal): Promise<void> {
  let audio: WavAudio;
  try {
    audio = await loadAudio(url, 10_000);
  } catch (err) {
    call.warn(`<${verb}> ${url}: ${(err as Error).message}; skipped`);
    return;
  }
  const samples = audio.sampleRate === HEARD_RATE ? audio.samples : resample(audio.samples, audio.sampleRate, HEARD_RATE);
  await playInRealTime(call, 'play', signal, async (queue) => {
    for (let i = 0; i < loop; i++) queue.push(samples);
  });
}
