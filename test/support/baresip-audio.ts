/**
 * Audio for and from the baresip phones: tones to play as a microphone, and measures of a
 * recording (how long it was audible, how loud, at what pitch).
 */
import { FRAME_MS, rmsDbfs, samplesPerFrame } from '../../src/media/audio.js';
import { readWavFile, writeWavFile } from '../../src/media/wav.js';

/** Writes `ms` of a sine at `hz` (amplitude `peak` of full scale) as a mono PCM16 WAV. */
export async function writeToneWav(path: string, options: { hz: number; ms: number; sampleRate?: number; peak?: number }): Promise<void> {
  const rate = options.sampleRate ?? 8000;
  const peak = (options.peak ?? 0.5) * 32767;
  const samples = new Int16Array(Math.round((options.ms * rate) / 1000));
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(peak * Math.sin((2 * Math.PI * options.hz * i) / rate));
  await writeWavFile(path, samples, rate);
}

export interface HeardAudio {
  sampleRate: number;
  /** Length of the whole recording. */
  totalMs: number;
  /** 20 ms frames above the threshold, times 20 ms. */
  audibleMs: number;
  /** Start of the first and end of the last audible frame (ms into the recording), -1 if none. */
  firstAudibleMs: number;
  lastAudibleMs: number;
  /** RMS in dBFS over the audible frames only (-Infinity if none). */
  audibleDbfs: number;
  /** Pitch estimate of the audible frames from their zero crossings (Hz; 0 if none). */
  audibleHz: number;
}

/** Measures a recording: frames louder than `thresholdDbfs` (default -40 dBFS) count as audible. */
export async function analyseHeard(path: string, thresholdDbfs = -40): Promise<HeardAudio> {
  const { samples, sampleRate } = await readWavFile(path);
  const frame = samplesPerFrame(sampleRate);
  const audible: Int16Array[] = [];
  let first = -1;
  let last = -1;
  let crossings = 0;
  for (let f = 0; (f + 1) * frame <= samples.length; f++) {
    const chunk = samples.subarray(f * frame, (f + 1) * frame);
    if (rmsDbfs(chunk) < thresholdDbfs) continue;
    audible.push(chunk);
    if (first < 0) first = f;
    last = f;
    for (let i = 1; i < chunk.length; i++) if (chunk[i - 1] < 0 !== chunk[i] < 0) crossings++;
  }
  const audibleSamples = new Int16Array(audible.length * frame);
  audible.forEach((chunk, i) => audibleSamples.set(chunk, i * frame));
  const audibleSeconds = audibleSamples.length / sampleRate;
  return {
    sampleRate,
    totalMs: (samples.length * 1000) / sampleRate,
    audibleMs: audible.length * FRAME_MS,
    firstAudibleMs: first < 0 ? -1 : first * FRAME_MS,
    lastAudibleMs: last < 0 ? -1 : (last + 1) * FRAME_MS,
    audibleDbfs: rmsDbfs(audibleSamples),
    audibleHz: audibleSeconds > 0 ? crossings / 2 / audibleSeconds : 0,
  };
}
