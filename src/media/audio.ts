/** Audio inside Voxgate is mono PCM16 (Int16Array) at a stated sample rate; carriers convert at the edge. */
export const FRAME_MS = 20;

export function samplesPerFrame(sampleRate: number): number {
  return (sampleRate * FRAME_MS) / 1000;
}

export function durationMs(samples: number, sampleRate: number): number {
  return (samples * 1000) / sampleRate;
}

/** Root-mean-square level of PCM16 samples in dBFS (-Infinity for digital silence). */
export function rmsDbfs(samples: Int16Array): number {
  if (samples.length === 0) return -Infinity;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  const rms = Math.sqrt(sum / samples.length);
  return rms === 0 ? -Infinity : 20 * Math.log10(rms / 32768);
}

/** Joins PCM chunks into one buffer. */
export function concatPcm(parts: readonly Int16Array[]): Int16Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Int16Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
