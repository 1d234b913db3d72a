/**
 * Sample-rate conversion for mono PCM16 between telephony and TTS rates (8000, 16000, 22050, 24000 Hz,
 * and any other pair whose reduced ratio L/M keeps the filter table small).
 *
 * Method: rational polyphase resampling with a Kaiser-windowed sinc. Output sample n sits at input
 * time t = n·M/L; it is the sum of the K input samples around t weighted by the kernel at their
 * distances. Those distances depend only on the phase (n·M mod L), so the L×K weights are computed
 * once per rate pair and cached. The kernel's cutoff follows the lower of the two Nyquist rates, so
 * downsampling is band-limited before decimation (no aliasing) and upsampling removes the images.
 * For output at 8 kHz the passband reaches 3.4 kHz (the G.711 channel band) and the stopband starts at
 * 3.8 kHz with 70 dB attenuation. The kernel is centred on t, so output is time-aligned with input
 * (no group delay to compensate downstream); the streaming form holds back K/2 input samples of
 * look-ahead until flush().
 */

/** Stopband attenuation of the anti-alias/anti-image filter, in dB. */
const STOPBAND_DB = 70;
/** Passband and stopband edges as fractions of the lower Nyquist frequency. */
const PASSBAND_EDGE = 0.85;
const STOPBAND_EDGE = 0.95;
/** Largest weight table accepted (L·K floats); odd rate pairs beyond it are refused rather than allocating megabytes. */
const MAX_TABLE = 1 << 20;

interface ResamplePlan {
  /** Up- and down-sampling factors of the reduced ratio toRate/fromRate = up/down. */
  up: number;
  down: number;
  /** Taps per phase (even): input samples fromBase-taps/2+1 .. fromBase+taps/2 contribute. */
  taps: number;
  /** weights[phase * taps + k] multiplies input sample floor(t) - taps/2 + 1 + k. */
  weights: Float64Array;
}

const plans = new Map<string, ResamplePlan>();

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind, for the Kaiser window. */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

function checkRate(name: string, rate: number): void {
  if (!Number.isInteger(rate) || rate <= 0 || rate > 384_000) {
    throw new RangeError(`${name} must be a positive integer sample rate in Hz, got ${rate}`);
  }
}

function planFor(fromRate: number, toRate: number): ResamplePlan {
  const key = `${fromRate}:${toRate}`;
  const cached = plans.get(key);
  if (cached) return cached;
  checkRate('fromRate', fromRate);
  checkRate('toRate', toRate);
  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;

  const lowNyquist = Math.min(fromRate, toRate) / 2;
  // Frequencies in cycles per input sample.
  const cutoff = ((PASSBAND_EDGE + STOPBAND_EDGE) / 2) * (lowNyquist / fromRate);
  const transition = (STOPBAND_EDGE - PASSBAND_EDGE) * (lowNyquist / fromRate);
  const beta = 0.1102 * (STOPBAND_DB - 8.7);
  // Kaiser's length estimate, in input samples, rounded up to an even tap count.
  const length = (STOPBAND_DB - 7.95) / (2.285 * 2 * Math.PI * transition);
  const taps = 2 * Math.ceil(length / 2);
  if (up * taps > MAX_TABLE) {
    throw new RangeError(`resampling ${fromRate} Hz to ${toRate} Hz needs ${up} filter phases; the ratio is too irregular`);
  }

  const half = taps / 2;
  const i0Beta = besselI0(beta);
  const weights = new Float64Array(up * taps);
  for (let phase = 0; phase < up; phase++) {
    const frac = phase / up; // t - floor(t)
    let sum = 0;
    const row = phase * taps;
    for (let k = 0; k < taps; k++) {
      const dist = frac + half - 1 - k; // t - input index
      const x = 2 * cutoff * dist;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const r = dist / half;
      const window = r * r >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - r * r)) / i0Beta;
      const w = 2 * cutoff * sinc * window;
      weights[row + k] = w;
      sum += w;
    }
    // Exact unity DC gain on every phase, so a constant input never turns into a ripple at the phase rate.
    for (let k = 0; k < taps; k++) weights[row + k] /= sum;
  }
  const plan = { up, down, taps, weights };
  plans.set(key, plan);
  return plan;
}

/**
 * Chunked resampling with state carried across chunks, so the concatenated output equals the
 * whole-buffer result (no clicks at chunk boundaries). push() returns what can be computed so far;
 * flush() returns the tail (the last taps/2 input samples' worth) and readies the resampler for a new stream.
 */
export class StreamResampler {
  private readonly plan: ResamplePlan;
  private readonly passthrough: boolean;
  /** Pending input samples; buf[0] holds input index bufStart (negative indices are the zero pre-roll). */
  private buf: Float64Array;
  private bufLen = 0;
  private bufStart = 0;
  /** Next output index, and its position in input time as base + phase/up. */
  private outIndex = 0;
  private base = 0;
  private phase = 0;
  private inputTotal = 0;

  constructor(
    readonly fromRate: number,
    readonly toRate: number,
  ) {
    this.plan = planFor(fromRate, toRate);
    this.passthrough = fromRate === toRate;
    this.buf = new Float64Array(Math.max(4096, this.plan.taps * 4));
    this.reset();
  }

  private reset(): void {
    const half = this.plan.taps / 2;
    // Pre-roll of zeros stands for the silence before the stream, so the first outputs need no special case.
    this.buf.fill(0, 0, half);
    this.bufLen = half;
    this.bufStart = -half;
    this.outIndex = 0;
    this.base = 0;
    this.phase = 0;
    this.inputTotal = 0;
  }

  push(chunk: Int16Array): Int16Array {
    if (this.passthrough) return chunk.slice();
    this.append(chunk, chunk.length);
    this.inputTotal += chunk.length;
    // Output n needs input up to base + taps/2.
    const lastAvailable = this.bufStart + this.bufLen - 1;
    return this.produce(lastAvailable - this.plan.taps / 2, Infinity);
  }

  flush(): Int16Array {
    if (this.passthrough) return new Int16Array(0);
    const { up, down, taps } = this.plan;
    // Exactly ceil(inputTotal·up/down) outputs in all: the ones whose time falls inside the input.
    const totalOut = Math.ceil((this.inputTotal * up) / down);
    this.append(null, taps);
    const out = this.produce(Infinity, totalOut);
    this.reset();
    return out;
  }

  /** Appends `count` samples from `chunk` (zeros when null), first dropping input no output needs any more. */
  private append(chunk: Int16Array | null, count: number): void {
    const keepFrom = this.base - this.plan.taps / 2 + 1;
    const drop = Math.min(this.bufLen, Math.max(0, keepFrom - this.bufStart));
    if (drop > 0) {
      this.buf.copyWithin(0, drop, this.bufLen);
      this.bufLen -= drop;
      this.bufStart += drop;
    }
    if (this.bufLen + count > this.buf.length) {
      const grown = new Float64Array(Math.max(this.buf.length * 2, this.bufLen + count));
      grown.set(this.buf.subarray(0, this.bufLen));
      this.buf = grown;
    }
    if (chunk) for (let i = 0; i < count; i++) this.buf[this.bufLen + i] = chunk[i];
    else this.buf.fill(0, this.bufLen, this.bufLen + count);
    this.bufLen += count;
  }

  /** Computes outputs while their base index is <= maxBase and the output index is below outLimit. */
  private produce(maxBase: number, outLimit: number): Int16Array {
    const { up, down, taps, weights } = this.plan;
    const half = taps / 2;
    // Count first so the result is allocated once at its exact size.
    let count = 0;
    {
      let base = this.base;
      let phase = this.phase;
      while (base <= maxBase && this.outIndex + count < outLimit) {
        count++;
        phase += down;
        base += Math.floor(phase / up);
        phase %= up;
      }
    }
    const out = new Int16Array(count);
    const buf = this.buf;
    let base = this.base;
    let phase = this.phase;
    for (let n = 0; n < count; n++) {
      const start = base - half + 1 - this.bufStart;
      const row = phase * taps;
      let acc = 0;
      for (let k = 0; k < taps; k++) acc += weights[row + k] * buf[start + k];
      const s = Math.round(acc);
      out[n] = s > 32767 ? 32767 : s < -32768 ? -32768 : s;
      phase += down;
      base += Math.floor(phase / up);
      phase %= up;
    }
    this.base = base;
    this.phase = phase;
    this.outIndex += count;
    return out;
  }
}

/** Resamples a whole buffer; returns `input` itself when the rates are equal. */
export function resample(input: Int16Array, fromRate: number, toRate: number): Int16Array {
  if (fromRate === toRate) {
    checkRate('fromRate', fromRate);
    return input;
  }
  const stream = new StreamResampler(fromRate, toRate);
  const head = stream.push(input);
  const tail = stream.flush();
  if (tail.length === 0) return head;
  const out = new Int16Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}
