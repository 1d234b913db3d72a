/**
 * Test signals for the media DSP tests and the VAD benchmark: synthetic speech (espeak-ng, offline
 * WASM), line noises (white, hum, babble), impulsive disturbances (clicks, bursts), mixing at a
 * stated SNR, frame-level ground-truth labels and scoring. Everything is deterministic: noises take a
 * seed, so a failing run can be replayed exactly.
 */
import { concatPcm, samplesPerFrame } from '../../src/media/audio.js';
import { resample } from '../../src/media/resample.js';
import { parseWav } from '../../src/media/wav.js';

export const SENTENCES = [
  'Thank you for calling. Please tell me briefly what you are calling about today.',
  'I would like to check the status of my order, it was supposed to arrive on Monday.',
  'The quick brown fox jumps over the lazy dog while seven wizards quietly vex the jury.',
  'Could you transfer me to someone in billing? I think I was charged twice this month.',
  'My account number is four five seven two, and my postcode is nine one zero three.',
  'Yes, that is correct. Please send the confirmation to my email address as soon as possible.',
  'We have received your request and a representative will call you back within the hour.',
  'Sorry, I did not catch that. Could you say it again a little more slowly, please?',
];

/** espeak-ng voice variants used for babble, so the talkers differ in pitch and timbre. */
export const BABBLE_VOICES = ['en-us', 'en-us+f3', 'en+m3', 'en-gb-x-rp', 'en+f2', 'en-us+m5'];

const speechCache = new Map<string, Int16Array>();

type ESpeakNgFactory = (opts: {
  arguments: string[];
  print: (s: string) => void;
  printErr: (s: string) => void;
}) => Promise<{ FS: { readFile(path: string): Uint8Array } }>;

/** The package ships no type declarations; this is the one entry point the helpers use. */
async function loadESpeakNg(): Promise<ESpeakNgFactory> {
  const specifier: string = 'espeak-ng';
  return ((await import(specifier)) as { default: ESpeakNgFactory }).default;
}

/** Speaks `text` with espeak-ng and returns mono PCM16 at `sampleRate` (espeak produces 22050 Hz). */
export async function synthesizeSpeech(text: string, sampleRate = 8000, voice = 'en-us'): Promise<Int16Array> {
  const key = `${voice}|${sampleRate}|${text}`;
  const cached = speechCache.get(key);
  if (cached) return cached;
  const es = await (await loadESpeakNg())({ arguments: ['-v', voice, '-w', '/out.wav', text], print: () => {}, printErr: () => {} });
  const wav = parseWav(es.FS.readFile('/out.wav'));
  const samples = resample(wav.samples, wav.sampleRate, sampleRate);
  speechCache.set(key, samples);
  return samples;
}

/** Milliseconds of digital silence. */
export function silence(ms: number, sampleRate: number): Int16Array {
  return new Int16Array(Math.round((ms * sampleRate) / 1000));
}

export function concat(...parts: Int16Array[]): Int16Array {
  return concatPcm(parts);
}

/** mulberry32: small, fast, seedable; Math.random cannot be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function clip16(x: number): number {
  const s = Math.round(x);
  return s > 32767 ? 32767 : s < -32768 ? -32768 : s;
}

/** Gaussian white noise at the given RMS level in dBFS. */
export function whiteNoise(samples: number, levelDbfs: number, seed = 1): Int16Array {
  const rand = seededRandom(seed);
  const rms = 32768 * 10 ** (levelDbfs / 20);
  const out = new Int16Array(samples);
  for (let i = 0; i < samples; i += 2) {
    // Box-Muller gives two independent normals per pair of uniforms.
    const r = Math.sqrt(-2 * Math.log(1 - rand()));
    const th = 2 * Math.PI * rand();
    out[i] = clip16(rms * r * Math.cos(th));
    if (i + 1 < samples) out[i + 1] = clip16(rms * r * Math.sin(th));
  }
  return out;
}

/** Mains hum: a fundamental (50 or 60 Hz) with decaying odd and even harmonics, at an RMS level in dBFS. */
export function hum(samples: number, sampleRate: number, levelDbfs: number, fundamentalHz = 50, harmonics = 8): Int16Array {
  const raw = new Float64Array(samples);
  for (let h = 1; h <= harmonics; h++) {
    const amp = 1 / h;
    const w = (2 * Math.PI * fundamentalHz * h) / sampleRate;
    for (let i = 0; i < samples; i++) raw[i] += amp * Math.sin(w * i + h);
  }
  return scaleToLevel(raw, levelDbfs);
}

/** Sine tone with the given peak amplitude. */
export function tone(frequencyHz: number, sampleRate: number, samples: number, amplitude = 10000): Int16Array {
  const out = new Int16Array(samples);
  const w = (2 * Math.PI * frequencyHz) / sampleRate;
  for (let i = 0; i < samples; i++) out[i] = clip16(amplitude * Math.sin(w * i));
  return out;
}

/**
 * Babble: several talkers summed, each circularly shifted by a different offset so their pauses do
 * not line up (as in a call centre or a cafe), scaled to an RMS level in dBFS.
 */
export function babble(talkers: Int16Array[], samples: number, levelDbfs: number, seed = 7): Int16Array {
  const rand = seededRandom(seed);
  const raw = new Float64Array(samples);
  for (const talker of talkers) {
    const shift = Math.floor(rand() * talker.length);
    for (let i = 0; i < samples; i++) raw[i] += talker[(i + shift) % talker.length];
  }
  return scaleToLevel(raw, levelDbfs);
}

function scaleToLevel(raw: Float64Array, levelDbfs: number): Int16Array {
  let sum = 0;
  for (let i = 0; i < raw.length; i++) sum += raw[i] * raw[i];
  const rms = Math.sqrt(sum / Math.max(1, raw.length));
  const gain = rms === 0 ? 0 : (32768 * 10 ** (levelDbfs / 20)) / rms;
  const out = new Int16Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = clip16(raw[i] * gain);
  return out;
}

/** Single-sample clicks of the given peak amplitude at the given times (ms), over a silent or given background. */
export function clicks(background: Int16Array, sampleRate: number, atMs: number[], amplitude = 20000): Int16Array {
  const out = background.slice();
  for (const ms of atMs) {
    const i = Math.round((ms * sampleRate) / 1000);
    // A real click is a short damped transient, not one sample: a few samples of decaying ringing.
    for (let k = 0; k < 8 && i + k < out.length; k++) out[i + k] = clip16(out[i + k] + amplitude * (k % 2 ? -1 : 1) * 0.6 ** k);
  }
  return out;
}

/** Adds a white-noise burst of `durationMs` at `atMs` with the given RMS level (dBFS). */
export function noiseBurst(background: Int16Array, sampleRate: number, atMs: number, durationMs: number, levelDbfs: number, seed = 3): Int16Array {
  const out = background.slice();
  const start = Math.round((atMs * sampleRate) / 1000);
  const burst = whiteNoise(Math.round((durationMs * sampleRate) / 1000), levelDbfs, seed);
  for (let i = 0; i < burst.length && start + i < out.length; i++) out[start + i] = clip16(out[start + i] + burst[i]);
  return out;
}

/** Adds `b` onto `a` (length of `a`; `b` repeats if shorter). */
export function mix(a: Int16Array, b: Int16Array, gainB = 1): Int16Array {
  const out = new Int16Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = clip16(a[i] + gainB * b[i % b.length]);
  return out;
}

/**
 * Active speech level per ITU-T P.56 method B, in dBFS, and the activity threshold it implies.
 * The envelope (|x| through two one-pole smoothers, 30 ms) is compared against thresholds one octave
 * (6 dB) apart; each threshold counts the samples at or above it plus a 200 ms hangover. The active
 * level is the signal power over the counted samples at the threshold that sits 15.9 dB under the
 * level it yields (interpolated between thresholds). Unlike an RMS over the whole clip it does not
 * depend on how much silence surrounds the speech, so an SNR figure based on it means the same for
 * a terse prompt and a chatty one.
 */
export function p56ActiveLevel(clean: Int16Array, sampleRate: number): { levelDbfs: number; thresholdDbfs: number; activity: number } {
  const THRESHOLDS = 16;
  const MARGIN_DB = 15.9;
  const g = Math.exp(-1 / (sampleRate * 0.03));
  const hangover = Math.round(0.2 * sampleRate);
  const count = new Float64Array(THRESHOLDS);
  const hold = new Float64Array(THRESHOLDS).fill(hangover);
  let sq = 0;
  let p = 0;
  let q = 0;
  for (let i = 0; i < clean.length; i++) {
    const x = clean[i];
    sq += x * x;
    p = g * p + (1 - g) * Math.abs(x);
    q = g * q + (1 - g) * p;
    for (let j = 0; j < THRESHOLDS; j++) {
      if (q >= 2 ** j) {
        count[j]++;
        hold[j] = 0;
      } else if (hold[j] < hangover) {
        count[j]++;
        hold[j]++;
      }
    }
  }
  const full = 20 * Math.log10(32768);
  const none = { levelDbfs: -Infinity, thresholdDbfs: -Infinity, activity: 0 };
  if (sq === 0) return none;
  let prevLevel = NaN;
  let prevDelta = NaN;
  for (let j = 0; j < THRESHOLDS; j++) {
    if (count[j] === 0) break;
    const level = 10 * Math.log10(sq / count[j]);
    const delta = level - 20 * Math.log10(2 ** j);
    if (delta <= MARGIN_DB) {
      // Interpolate to where level - threshold equals the margin.
      const t = j === 0 ? 0 : (prevDelta - MARGIN_DB) / (prevDelta - delta);
      const at = j === 0 ? level : prevLevel + t * (level - prevLevel);
      const activity = sq / 10 ** (at / 10) / clean.length;
      return { levelDbfs: at - full, thresholdDbfs: at - full - MARGIN_DB, activity };
    }
    prevLevel = level;
    prevDelta = delta;
  }
  // Every threshold leaves more than the margin: the speech is so loud it is active throughout.
  return { levelDbfs: 10 * Math.log10(sq / clean.length) - full, thresholdDbfs: -Infinity, activity: 1 };
}

/**
 * Speech level in dBFS: by default the ITU-T P.56 active speech level (see p56ActiveLevel); with
 * `labels`, the mean power over the labelled 20 ms frames.
 */
export function activeLevelDbfs(clean: Int16Array, sampleRate: number, labels?: boolean[]): number {
  if (!labels) return p56ActiveLevel(clean, sampleRate).levelDbfs;
  const n = samplesPerFrame(sampleRate);
  let sum = 0;
  let count = 0;
  for (let f = 0; f < labels.length; f++) {
    if (!labels[f]) continue;
    for (let i = f * n; i < (f + 1) * n; i++) sum += clean[i] * clean[i];
    count += n;
  }
  return count === 0 ? -Infinity : 10 * Math.log10(sum / count / 32768 ** 2);
}

function rmsOf(x: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i] * x[i];
  return Math.sqrt(sum / Math.max(1, x.length));
}

/** Mixes noise into clean speech so that the P.56 active speech level minus the noise RMS level equals `snrDb`. */
export function mixAtSnr(clean: Int16Array, noise: Int16Array, sampleRate: number, snrDb: number): Int16Array {
  const speechDb = activeLevelDbfs(clean, sampleRate);
  const noiseDb = 20 * Math.log10(rmsOf(noise) / 32768);
  return mix(clean, noise, 10 ** ((speechDb - snrDb - noiseDb) / 20));
}

function framePowers(clean: Int16Array, sampleRate: number): Float64Array {
  const n = samplesPerFrame(sampleRate);
  const frames = Math.floor(clean.length / n);
  const power = new Float64Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let i = f * n; i < (f + 1) * n; i++) sum += clean[i] * clean[i];
    power[f] = sum / n / 32768 ** 2;
  }
  return power;
}

/** Gaps (ms) shorter than this between speech islands belong to the utterance. */
export const LABEL_MERGE_GAP_MS = 150;
/** Islands (ms) shorter than this, after merging, are not speech. */
export const LABEL_MIN_ISLAND_MS = 40;

/**
 * Ground truth for frame-level VAD scoring, from the clean signal. Chosen before tuning the
 * detector, and not tuned to it:
 * 1. A 20 ms frame is active when its power is at least the clip's ITU-T P.56 active speech level
 *    minus `marginDb` (default 15.9 dB, P.56's own margin: the frames P.56 itself counts as active,
 *    without its 200 ms hangover). Relative to the active level, not the peak, so one loud syllable
 *    does not decide what counts as speech; 15.9 dB keeps weak consonants and the decay of vowels and
 *    drops breath noise and room tails.
 * 2. Gaps shorter than LABEL_MERGE_GAP_MS (150 ms) between active islands are speech: stop closures,
 *    syllable boundaries and the micro-pauses of fluent speech are part of the utterance for turn-
 *    taking (a caller is not "done" in them, and a barge-in decision should not flicker across them).
 *    Pauses of 150 ms and more are perceived as pauses and stay non-speech.
 * 3. Islands shorter than LABEL_MIN_ISLAND_MS (40 ms, a single frame) left after merging are not
 *    speech: a lone frame is a lip click or breath transient, not a syllable.
 * The earlier labelling (every frame within 25 dB of the loudest frame, no merging) is kept as
 * `peakMarginFrameLabels` so figures can be compared across the change.
 */
export function speechFrameLabels(clean: Int16Array, sampleRate: number, marginDb = 15.9): boolean[] {
  const power = framePowers(clean, sampleRate);
  const level = p56ActiveLevel(clean, sampleRate).levelDbfs;
  const labels: boolean[] = new Array<boolean>(power.length).fill(false);
  if (level === -Infinity) return labels;
  const threshold = 10 ** ((level - marginDb) / 10);
  for (let f = 0; f < power.length; f++) labels[f] = power[f] >= threshold;
  const mergeFrames = Math.ceil(LABEL_MERGE_GAP_MS / 20); // a gap of fewer frames than this is merged
  const minFrames = Math.ceil(LABEL_MIN_ISLAND_MS / 20);
  let lastActive = -1;
  for (let f = 0; f < labels.length; f++) {
    if (!labels[f]) continue;
    if (lastActive >= 0 && f - lastActive - 1 > 0 && f - lastActive - 1 < mergeFrames) labels.fill(true, lastActive + 1, f);
    lastActive = f;
  }
  for (let f = 0; f < labels.length; ) {
    if (!labels[f]) {
      f++;
      continue;
    }
    let end = f;
    while (end < labels.length && labels[end]) end++;
    if (end - f < minFrames) labels.fill(false, f, end);
    f = end;
  }
  return labels;
}

/**
 * The labelling used before speechFrameLabels moved to P.56: a frame is speech when its power is
 * within `marginDb` of the loudest frame's, with no gap merging. Kept to report figures under both.
 */
export function peakMarginFrameLabels(clean: Int16Array, sampleRate: number, marginDb = 25): boolean[] {
  const power = framePowers(clean, sampleRate);
  let peak = 0;
  for (let f = 0; f < power.length; f++) if (power[f] > peak) peak = power[f];
  const threshold = peak * 10 ** (-marginDb / 10);
  const labels: boolean[] = [];
  for (let f = 0; f < power.length; f++) labels.push(peak > 0 && power[f] >= threshold);
  return labels;
}

export interface FrameScore {
  precision: number;
  recall: number;
  f1: number;
}

export function frameF1(decisions: boolean[], labels: boolean[]): FrameScore {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < Math.min(decisions.length, labels.length); i++) {
    if (decisions[i] && labels[i]) tp++;
    else if (decisions[i]) fp++;
    else if (labels[i]) fn++;
  }
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 1 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

/** Splits audio into whole 20 ms frames (views, no copies). */
export function frames(samples: Int16Array, sampleRate: number): Int16Array[] {
  const n = samplesPerFrame(sampleRate);
  const out: Int16Array[] = [];
  for (let off = 0; off + n <= samples.length; off += n) out.push(samples.subarray(off, off + n));
  return out;
}

/** Amplitude of the `frequencyHz` component (Goertzel), over samples [from, to). */
export function goertzelAmplitude(x: Int16Array, frequencyHz: number, sampleRate: number, from = 0, to = x.length): number {
  const c = 2 * Math.cos((2 * Math.PI * frequencyHz) / sampleRate);
  let s1 = 0;
  let s2 = 0;
  for (let i = from; i < to; i++) {
    const s = x[i] + c * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return (2 * Math.sqrt(Math.max(0, s1 * s1 + s2 * s2 - c * s1 * s2))) / (to - from);
}
