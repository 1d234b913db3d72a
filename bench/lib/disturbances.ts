/**
 * Non-speech disturbances for the false barge-in count, beyond what test/support/media-signals.ts
 * provides (clicks, white bursts): a cough, shaped as the phoneticians describe it (an explosive
 * broadband onset, then turbulent noise coloured by the vocal tract, decaying over ~300 ms).
 */
import { seededRandom } from '../../test/support/media-signals.js';

function clip16(x: number): number {
  const s = Math.round(x);
  return s > 32767 ? 32767 : s < -32768 ? -32768 : s;
}

/** Two-pole resonator coefficients (centre `hz`, bandwidth `bw`) at `rate`. */
function resonator(hz: number, bw: number, rate: number): [number, number] {
  const r = Math.exp((-Math.PI * bw) / rate);
  return [2 * r * Math.cos((2 * Math.PI * hz) / rate), -r * r];
}

/**
 * Adds a cough at `atMs` with a peak RMS of about `levelDbfs` over its first 50 ms: 5 ms attack,
 * exponential decay (time constant 80 ms), 320 ms long, noise through resonators at 600 and 1700 Hz
 * plus a broadband share.
 */
export function cough(background: Int16Array, sampleRate: number, atMs: number, levelDbfs: number, seed = 11): Int16Array {
  const rand = seededRandom(seed);
  const length = Math.round((320 * sampleRate) / 1000);
  const raw = new Float64Array(length);
  const [a1, a2] = resonator(600, 300, sampleRate);
  const [b1, b2] = resonator(1700, 500, sampleRate);
  let y1 = 0;
  let y2 = 0;
  let z1 = 0;
  let z2 = 0;
  for (let i = 0; i < length; i++) {
    const x = rand() * 2 - 1;
    const y = x + a1 * y1 + a2 * y2;
    y2 = y1;
    y1 = y;
    const z = x + b1 * z1 + b2 * z2;
    z2 = z1;
    z1 = z;
    const t = (i * 1000) / sampleRate;
    const env = t < 5 ? t / 5 : Math.exp(-(t - 5) / 80);
    raw[i] = env * (0.1 * y + 0.1 * z + 0.5 * x);
  }
  // Scale so the loud onset (first 50 ms) has the requested RMS.
  const onset = Math.round((50 * sampleRate) / 1000);
  let sum = 0;
  for (let i = 0; i < onset; i++) sum += raw[i] * raw[i];
  const gain = (32768 * 10 ** (levelDbfs / 20)) / Math.sqrt(sum / onset);
  const out = background.slice();
  const start = Math.round((atMs * sampleRate) / 1000);
  for (let i = 0; i < length && start + i < out.length; i++) out[start + i] = clip16(out[start + i] + gain * raw[i]);
  return out;
}
