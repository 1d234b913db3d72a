/**
 * VAD cost: µs per 20 ms frame at 8 and 16 kHz, over speech (the Asterisk human prompts when
 * installed, else espeak-ng sentences) mixed with white noise at 10 dB SNR, with pauses between
 * clips as on a call. Each rate runs REPEATS passes after a warm-up; per pass the mean µs/frame, and
 * the figure reported is the median over passes (a pass is long enough that timer resolution does
 * not matter). Run: `npx tsx bench/vad-cost.ts` (prints JSON).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { resample } from '../src/media/resample.js';
import { VoiceActivityDetector } from '../src/media/vad.js';
import { readWavFile } from '../src/media/wav.js';
import { SENTENCES, concat, mixAtSnr, silence, synthesizeSpeech, whiteNoise } from '../test/support/media-signals.js';

const HUMAN_DIR = '/usr/share/asterisk/sounds/en';
const REPEATS = 15;

async function speech8k(): Promise<Int16Array> {
  const parts: Int16Array[] = [];
  if (existsSync(HUMAN_DIR)) {
    const files = readdirSync(HUMAN_DIR).filter((f) => f.endsWith('.wav')).sort().filter((_, i) => i % 6 === 0).slice(0, 40);
    for (const f of files) {
      const wav = await readWavFile(join(HUMAN_DIR, f));
      if (wav.sampleRate === 8000) parts.push(silence(800, 8000), wav.samples);
    }
  }
  if (parts.length === 0) for (const s of SENTENCES) parts.push(silence(800, 8000), await synthesizeSpeech(s, 8000));
  return concat(...parts, silence(800, 8000));
}

function measure(signal: Int16Array, sampleRate: number): { usPerFrameMedian: number; usPerFrameMin: number; frames: number } {
  const n = sampleRate / 50;
  const frameCount = Math.floor(signal.length / n);
  const views: Int16Array[] = [];
  for (let f = 0; f < frameCount; f++) views.push(signal.subarray(f * n, (f + 1) * n));
  const vad = new VoiceActivityDetector({ sampleRate });
  for (const v of views) vad.process(v); // warm-up: let the JIT optimise process()
  const passes: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    vad.reset();
    const t0 = process.hrtime.bigint();
    for (const v of views) vad.process(v);
    passes.push(Number(process.hrtime.bigint() - t0) / 1000 / frameCount);
  }
  passes.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 100) / 100;
  return { usPerFrameMedian: round(passes[Math.floor(passes.length / 2)]), usPerFrameMin: round(passes[0]), frames: frameCount };
}

export async function runVadCost(): Promise<{ rate8k: ReturnType<typeof measure>; rate16k: ReturnType<typeof measure> }> {
  const clean8k = await speech8k();
  const noisy8k = mixAtSnr(clean8k, whiteNoise(clean8k.length, -30, 1), 8000, 10);
  const clean16k = resample(clean8k, 8000, 16000);
  const noisy16k = mixAtSnr(clean16k, whiteNoise(clean16k.length, -30, 2), 16000, 10);
  return { rate8k: measure(noisy8k, 8000), rate16k: measure(noisy16k, 16000) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await runVadCost(), null, 2));
}
