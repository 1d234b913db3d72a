/**
 * Figure 6: frame-level VAD quality. Speech (espeak-ng voices and, when installed, the human
 * recordings of Debian's asterisk-core-sounds-en-wav) is mixed with white and babble noise at 20, 10
 * and 5 dB SNR, passed through mu-law as on a Plivo stream, and run through the gateway's VAD with
 * its default settings. Ground truth comes from the clean clip (speechFrameLabels); the decision
 * scored is `lastFrameIsSpeech`. Each run uses different noise seeds; the table shows the median.
 * Then the false barge-in count: speech-start events caused by clicks, coughs and 150 ms noise
 * bursts over a quiet line (every such event would cut a prompt).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeMuLaw, encodeMuLaw } from '../src/media/g711.js';
import { readWavFile } from '../src/media/wav.js';
import { VoiceActivityDetector } from '../src/media/vad.js';
import {
  BABBLE_VOICES,
  SENTENCES,
  babble,
  clicks,
  frameF1,
  mixAtSnr,
  noiseBurst,
  speechFrameLabels,
  synthesizeSpeech,
  whiteNoise,
} from '../test/support/media-signals.js';
import { cough } from './lib/disturbances.js';
import { median, round } from './lib/stats.js';
import { concatPcm } from '../src/media/audio.js';

export const HUMAN_SOUNDS_DIR = '/usr/share/asterisk/sounds/en';
const RATE = 8000;
const FRAME = 160;
const SNRS = [20, 10, 5];
const TALKERS = ['en-us', 'en-us+f3', 'en-gb-x-rp', 'en+m3'];

export interface VadQualityCell {
  corpus: 'espeak' | 'human';
  noise: 'white' | 'babble';
  snrDb: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface BurstRow {
  kind: 'click' | 'cough' | 'noise-150ms';
  levelDbfs: number | null;
  bursts: number;
  /** Median over runs of speech-start events (each would be a false barge-in). */
  falseBargeIns: number;
}

export interface VadQualityResult {
  runs: number;
  vad: { sampleRate: number; minSpeechMs: number; silenceMs: number };
  corpora: { name: string; clips: number; seconds: number; speechFraction: number }[];
  notes: string[];
  cells: VadQualityCell[];
  bursts: BurstRow[];
}

interface Corpus {
  name: 'espeak' | 'human';
  clean: Int16Array;
  labels: boolean[];
  clips: number;
}

/** Pads to whole frames so per-clip labels line up when clips are concatenated. */
function padToFrames(x: Int16Array): Int16Array {
  const n = Math.ceil(x.length / FRAME) * FRAME;
  if (n === x.length) return x;
  const out = new Int16Array(n);
  out.set(x);
  return out;
}

/** Clips separated by pauses, led by 1 s of line (the VAD learns the floor there, as after answer). */
function buildCorpus(name: Corpus['name'], clips: Int16Array[]): Corpus {
  const leadIn = 50 * FRAME;
  const gaps = [40, 55, 35, 60]; // frames: 0.7-1.2 s pauses between turns
  const parts: Int16Array[] = [new Int16Array(leadIn)];
  const labels: boolean[] = new Array<boolean>(leadIn / FRAME).fill(false);
  clips.forEach((clip, i) => {
    const padded = padToFrames(clip);
    parts.push(padded);
    labels.push(...speechFrameLabels(padded, RATE));
    const gap = gaps[i % gaps.length];
    parts.push(new Int16Array(gap * FRAME));
    labels.push(...new Array<boolean>(gap).fill(false));
  });
  const clean = concatPcm(parts);
  return { name, clean, labels, clips: clips.length };
}

async function espeakCorpus(sentences: number): Promise<Corpus> {
  const clips: Int16Array[] = [];
  for (let i = 0; i < sentences; i++) clips.push(await synthesizeSpeech(SENTENCES[i % SENTENCES.length], RATE, TALKERS[i % TALKERS.length]));
  return buildCorpus('espeak', clips);
}

/** Evenly spaced prompts of 1.5-6 s from the Asterisk recordings (one professional female voice). */
async function humanCorpus(count: number): Promise<Corpus | undefined> {
  if (!existsSync(HUMAN_SOUNDS_DIR)) return undefined;
  // Pre-select by file size (8 kHz 16-bit mono: 16,000 bytes a second) so only the chosen files are read.
  const files = readdirSync(HUMAN_SOUNDS_DIR)
    .filter((f) => f.endsWith('.wav'))
    .sort()
    .filter((f) => {
      const seconds = statSync(join(HUMAN_SOUNDS_DIR, f)).size / 16_000;
      return seconds >= 1.5 && seconds <= 6;
    });
  if (files.length === 0) return undefined;
  const step = Math.max(1, Math.floor(files.length / count));
  const clips: Int16Array[] = [];
  for (let i = 0; i < files.length && clips.length < count; i += step) {
    const wav = await readWavFile(join(HUMAN_SOUNDS_DIR, files[i]));
    if (wav.sampleRate === RATE) clips.push(wav.samples);
  }
  return clips.length ? buildCorpus('human', clips) : undefined;
}

/** Babble talkers: other voices saying other sentences than the foreground. */
async function babbleTalkers(count: number): Promise<Int16Array[]> {
  const out: Int16Array[] = [];
  for (let i = 0; i < count; i++) {
    const a = await synthesizeSpeech(SENTENCES[(SENTENCES.length - 1 - i) % SENTENCES.length], RATE, BABBLE_VOICES[i % BABBLE_VOICES.length]);
    const b = await synthesizeSpeech(SENTENCES[(i + 3) % SENTENCES.length], RATE, BABBLE_VOICES[i % BABBLE_VOICES.length]);
    const joined = new Int16Array(a.length + b.length);
    joined.set(a);
    joined.set(b, a.length);
    out.push(joined);
  }
  return out;
}

/** As the gateway hears it: mu-law on the wire, decoded back to PCM16. */
function throughMuLaw(x: Int16Array): Int16Array {
  return decodeMuLaw(encodeMuLaw(x));
}

function vadDecisions(signal: Int16Array): { decisions: boolean[]; speechStarts: number } {
  const vad = new VoiceActivityDetector({ sampleRate: RATE });
  const decisions: boolean[] = [];
  let speechStarts = 0;
  for (let off = 0; off + FRAME <= signal.length; off += FRAME) {
    const ev = vad.process(signal.subarray(off, off + FRAME));
    if (ev?.type === 'speech-start') speechStarts++;
    decisions.push(vad.lastFrameIsSpeech);
  }
  return { decisions, speechStarts };
}

function burstSignal(kind: BurstRow['kind'], count: number, level: number, seed: number): Int16Array {
  const spacingMs = 2500;
  const totalMs = 1500 + count * spacingMs;
  // A quiet line: hiss at -65 dBFS.
  let x = whiteNoise(Math.round((totalMs * RATE) / 1000), -65, seed);
  for (let i = 0; i < count; i++) {
    const at = 1500 + i * spacingMs;
    if (kind === 'click') x = clicks(x, RATE, [at], Math.round(32767 * 10 ** (level / 20)));
    else if (kind === 'cough') x = cough(x, RATE, at, level, seed * 100 + i);
    else x = noiseBurst(x, RATE, at, 150, level, seed * 100 + i);
  }
  return x;
}

export async function runVadQuality(opts: { quick: boolean; runs: number; log: (line: string) => void }): Promise<VadQualityResult> {
  const { quick, runs, log } = opts;
  const notes: string[] = [];
  const probe = new VoiceActivityDetector({ sampleRate: RATE });
  const corpora: Corpus[] = [await espeakCorpus(quick ? 3 : 8)];
  const human = await humanCorpus(quick ? 6 : 24);
  if (human) corpora.push(human);
  else notes.push(`human recordings skipped: ${HUMAN_SOUNDS_DIR} is absent (apt-get install asterisk-core-sounds-en-wav)`);
  const talkers = await babbleTalkers(6);

  const cells: VadQualityCell[] = [];
  for (const corpus of corpora) {
    for (const noise of ['white', 'babble'] as const) {
      for (const snr of SNRS) {
        const scores = [];
        for (let run = 0; run < runs; run++) {
          const seed = 1 + run;
          const n = noise === 'white' ? whiteNoise(corpus.clean.length, -30, seed) : babble(talkers, corpus.clean.length, -30, seed + 7);
          const noisy = throughMuLaw(mixAtSnr(corpus.clean, n, RATE, snr));
          scores.push(frameF1(vadDecisions(noisy).decisions, corpus.labels));
        }
        const cell: VadQualityCell = {
          corpus: corpus.name,
          noise,
          snrDb: snr,
          precision: round(median(scores.map((s) => s.precision)), 3),
          recall: round(median(scores.map((s) => s.recall)), 3),
          f1: round(median(scores.map((s) => s.f1)), 3),
        };
        cells.push(cell);
        log(`  vad ${corpus.name} ${noise} ${snr} dB: P ${cell.precision} R ${cell.recall} F1 ${cell.f1}`);
      }
    }
  }

  const burstCount = quick ? 10 : 30;
  const bursts: BurstRow[] = [];
  const kinds: [BurstRow['kind'], number | null][] = [
    ['click', -6],
    ['cough', -20],
    ['cough', -10],
    ['noise-150ms', -20],
    ['noise-150ms', -10],
  ];
  for (const [kind, level] of kinds) {
    const counts: number[] = [];
    for (let run = 0; run < runs; run++) counts.push(vadDecisions(throughMuLaw(burstSignal(kind, burstCount, level ?? -6, run + 1))).speechStarts);
    bursts.push({ kind, levelDbfs: level, bursts: burstCount, falseBargeIns: median(counts) });
    log(`  vad bursts ${kind} ${level} dBFS: ${median(counts)} false barge-ins of ${burstCount}`);
  }

  return {
    runs,
    vad: { sampleRate: RATE, minSpeechMs: probe.minSpeechMs, silenceMs: probe.silenceMs },
    corpora: corpora.map((c) => ({
      name: c.name,
      clips: c.clips,
      seconds: round(c.clean.length / RATE, 1),
      speechFraction: round(c.labels.filter(Boolean).length / c.labels.length, 3),
    })),
    notes,
    cells,
    bursts,
  };
}
