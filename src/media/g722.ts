/**
 * ITU-T G.722 wideband ADPCM at 64 kbit/s: 16 kHz PCM16 in, one byte per two samples out.
 *
 * The 16 kHz signal is split by a 24-tap quadrature mirror filter into a 0-4 kHz and a 4-8 kHz band,
 * each sampled at 8 kHz; the low band is coded with 6 bits and the high band with 2 bits by
 * backward-adaptive ADPCM (a two-pole, six-zero predictor and a log-domain step size per band), and the
 * byte is `high << 6 | low`. Both ends run the same predictor on the decoded signal, so encoder and
 * decoder are stateful, one instance per direction of one stream, fed in order.
 *
 * The arithmetic follows the ITU fixed-point description (integer shifts and saturations), so the
 * output is bit-exact with other implementations of it; test/media/fixtures holds vectors made by
 * FFmpeg's encoder and decoder that this code reproduces byte for byte and sample for sample.
 * Only the 64 kbit/s mode is implemented (the 56 and 48 kbit/s modes drop low-band bits and are not
 * used on RTP).
 */

/** Inverse-log table for the step size: 2^(i/32) in Q11 (ITU Table 8 ILB). */
const ILB = Int16Array.of(
  2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520,
  3597, 3676, 3756, 3838, 3922, 4008,
);

/** Low band: log step-size increments by the 4-bit code (WL[RIL]). */
const LOW_LOG_STEP = Int16Array.of(-60, 3042, 1198, 538, 334, 172, 58, -30, 3042, 1198, 538, 334, 172, 58, -30, -60);
/** Low band: 4-bit inverse quantizer (QQ4), used for the predictor update (the 2 least bits are dropped there). */
const LOW_INV_Q4 = Int16Array.of(0, -2557, -1612, -1121, -786, -530, -323, -150, 2557, 1612, 1121, 786, 530, 323, 150, 0);
/** Low band: 6-bit inverse quantizer (QQ6), used for the reconstructed output. */
const LOW_INV_Q6 = Int16Array.of(
  -17, -17, -17, -17, -3101, -2738, -2376, -2088, -1873, -1689, -1535, -1399, -1279, -1170, -1072, -982, -899, -822, -750, -682, -618, -558, -501, -447, -396,
  -347, -300, -254, -211, -170, -130, -91, 3101, 2738, 2376, 2088, 1873, 1689, 1535, 1399, 1279, 1170, 1072, 982, 899, 822, 750, 682, 618, 558, 501, 447, 396,
  347, 300, 254, 211, 170, 130, 91, 54, 17, -54, -17,
);
/** Low band: quantizer decision levels (Q6 table), in units of the step size / 1024. */
const LOW_DECISION = Int16Array.of(
  35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919,
);
/** High band: 2-bit inverse quantizer (QQ2) and log step-size increments (WH). */
const HIGH_INV_Q2 = Int16Array.of(-926, -202, 926, 202);
const HIGH_LOG_STEP = Int16Array.of(798, -214);

/**
 * QMF coefficients (ITU Table 11), h0..h11 = 3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11;
 * the 24-tap filter is symmetric, so the taps applied to the odd history samples are these in reverse
 * order. They are written out in QmfHistory.push.
 */

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

function sat16(x: number): number {
  return x < -32768 ? -32768 : x > 32767 ? 32767 : x;
}

/** Step size from the log-domain factor: ILB[(nbl >> 6) & 31] shifted by (nbl >> 11). */
function stepFromLog(log: number): number {
  const mantissa = ILB[(log >> 6) & 31];
  const shift = log >> 11;
  return shift < 0 ? mantissa >> -shift : mantissa << shift;
}

/** One sub-band's ADPCM state: the adaptive predictor and the quantizer step size. */
class Band {
  /** Signal estimate for the next sample (SE). */
  estimate = 0;
  /** Zero-section part of the estimate (SZ). */
  zeroEstimate = 0;
  /** Signs of the last two partially reconstructed signals (1 = negative). */
  sign1 = 0;
  sign2 = 0;
  /** Last reconstructed signal (RLT/RHT), doubled and saturated. */
  lastRecon = 0;
  /** Pole coefficients a1, a2. */
  pole1 = 0;
  pole2 = 0;
  /**
   * The last six quantized differences (doubled), d1..d6, and the six zero coefficients b1..b6: plain
   * fields and unrolled arithmetic, since this runs twice per codeword (16 000 times a second per stream).
   */
  d1 = 0;
  d2 = 0;
  d3 = 0;
  d4 = 0;
  d5 = 0;
  d6 = 0;
  b1 = 0;
  b2 = 0;
  b3 = 0;
  b4 = 0;
  b5 = 0;
  b6 = 0;
  /** Log-domain step size (NBL/NBH) and the linear step size (DETL/DETH). */
  logStep = 0;
  step: number;

  constructor(initialStep: number) {
    this.step = initialStep;
  }

  /** Updates the predictor with the current quantized difference `d` (ITU blocks PARREC, UPPOL1/2, UPZERO, FILTEP/FILTEZ). */
  adapt(d: number): void {
    const negative = this.zeroEstimate + d < 0 ? 1 : 0;
    // +1/-1 factors of the pole updates: whether p(n) differs in sign from p(n-1), and agrees with p(n-2).
    const s1 = negative !== this.sign1 ? 1 : -1;
    const s2 = negative === this.sign2 ? 1 : -1;
    this.sign2 = this.sign1;
    this.sign1 = negative;

    let a1 = this.pole1;
    const a1c = a1 < -8191 ? -8191 : a1 > 8191 ? 8191 : a1;
    let a2 = ((s1 * a1c) >> 5) + (s2 << 7) + ((this.pole2 * 127) >> 7);
    a2 = a2 < -12288 ? -12288 : a2 > 12288 ? 12288 : a2;
    const limit = 15360 - a2;
    a1 = -192 * s1 + ((a1 * 255) >> 8);
    this.pole1 = a1 < -limit ? -limit : a1 > limit ? limit : a1;
    this.pole2 = a2;

    // Zero coefficients: leak, plus a step of 128 towards agreement in sign between d and each past d.
    if (d !== 0) {
      this.b1 = ((this.b1 * 255) >> 8) + ((this.d1 ^ d) < 0 ? -128 : 128);
      this.b2 = ((this.b2 * 255) >> 8) + ((this.d2 ^ d) < 0 ? -128 : 128);
      this.b3 = ((this.b3 * 255) >> 8) + ((this.d3 ^ d) < 0 ? -128 : 128);
      this.b4 = ((this.b4 * 255) >> 8) + ((this.d4 ^ d) < 0 ? -128 : 128);
      this.b5 = ((this.b5 * 255) >> 8) + ((this.d5 ^ d) < 0 ? -128 : 128);
      this.b6 = ((this.b6 * 255) >> 8) + ((this.d6 ^ d) < 0 ? -128 : 128);
    } else {
      this.b1 = (this.b1 * 255) >> 8;
      this.b2 = (this.b2 * 255) >> 8;
      this.b3 = (this.b3 * 255) >> 8;
      this.b4 = (this.b4 * 255) >> 8;
      this.b5 = (this.b5 * 255) >> 8;
      this.b6 = (this.b6 * 255) >> 8;
    }
    this.d6 = this.d5;
    this.d5 = this.d4;
    this.d4 = this.d3;
    this.d3 = this.d2;
    this.d2 = this.d1;
    this.d1 = sat16(d * 2);

    const sz =
      ((this.b6 * this.d6) >> 15) +
      ((this.b5 * this.d5) >> 15) +
      ((this.b4 * this.d4) >> 15) +
      ((this.b3 * this.d3) >> 15) +
      ((this.b2 * this.d2) >> 15) +
      ((this.b1 * this.d1) >> 15);
    this.zeroEstimate = sz;

    const recon = sat16((this.estimate + d) * 2);
    this.estimate = sat16(sz + ((this.pole1 * recon) >> 15) + ((this.pole2 * this.lastRecon) >> 15));
    this.lastRecon = recon;
  }

  /** Low band: predictor and step-size update from the top 4 bits of the 6-bit code. */
  updateLow(code4: number): void {
    this.adapt((this.step * LOW_INV_Q4[code4]) >> 10);
    this.logStep = clamp(((this.logStep * 127) >> 7) + LOW_LOG_STEP[code4], 0, 18432);
    this.step = stepFromLog(this.logStep - (8 << 11));
  }

  /** High band: predictor and step-size update from the 2-bit code and its dequantized difference. */
  updateHigh(dh: number, code: number): void {
    this.adapt(dh);
    this.logStep = clamp(((this.logStep * 127) >> 7) + HIGH_LOG_STEP[code & 1], 0, 22528);
    this.step = stepFromLog(this.logStep - (10 << 11));
  }
}

/**
 * QMF history: the last 24 samples at 16 kHz (in pairs), newest last. Kept in a larger buffer that is
 * compacted when full, so a push is two stores rather than a 22-element shift.
 */
class QmfHistory {
  private readonly buf = new Int16Array(1024);
  private pos = 22;
  /** Filter outputs of the last push: the odd-tap sum and the even-tap sum. */
  odd = 0;
  even = 0;

  push(first: number, second: number): void {
    const buf = this.buf;
    buf[this.pos++] = first;
    buf[this.pos++] = second;
    const b = this.pos - 24;
    // Unrolled: even taps h0..h11 on x[b], x[b+2], ...; odd taps h11..h0 on x[b+1], x[b+3], ...
    this.even =
      3 * buf[b] - 11 * buf[b + 2] + 12 * buf[b + 4] + 32 * buf[b + 6] - 210 * buf[b + 8] + 951 * buf[b + 10] +
      3876 * buf[b + 12] - 805 * buf[b + 14] + 362 * buf[b + 16] - 156 * buf[b + 18] + 53 * buf[b + 20] - 11 * buf[b + 22];
    this.odd =
      -11 * buf[b + 1] + 53 * buf[b + 3] - 156 * buf[b + 5] + 362 * buf[b + 7] - 805 * buf[b + 9] + 3876 * buf[b + 11] +
      951 * buf[b + 13] - 210 * buf[b + 15] + 32 * buf[b + 17] + 12 * buf[b + 19] - 11 * buf[b + 21] + 3 * buf[b + 23];
    if (this.pos >= buf.length) {
      buf.copyWithin(0, this.pos - 22, this.pos);
      this.pos = 22;
    }
  }
}

function outputView<T extends Uint8Array | Int16Array>(out: T | undefined, length: number, make: (n: number) => T): T {
  if (out === undefined || out.length < length) return make(length);
  return out.length === length ? out : (out.subarray(0, length) as T);
}

/** G.722 encoder for one stream: PCM16 at 16 kHz in, 64 kbit/s codewords out. */
export class G722Encoder {
  private readonly low = new Band(8);
  private readonly high = new Band(2);
  private readonly qmf = new QmfHistory();
  /** A sample left over from an odd-length call, waiting for its pair. */
  private carry = 0;
  private hasCarry = false;

  /**
   * Encodes `pcm16k` into `out` (allocated when absent or too small); returns the filled view: one byte
   * per two samples. An odd sample count leaves the last sample for the next call.
   */
  encode(pcm16k: Int16Array, out?: Uint8Array): Uint8Array {
    const total = pcm16k.length + (this.hasCarry ? 1 : 0);
    const dst = outputView(out, total >> 1, (n) => new Uint8Array(n));
    let i = 0;
    let o = 0;
    if (this.hasCarry && pcm16k.length > 0) {
      dst[o++] = encodePair(this.low, this.high, this.qmf, this.carry, pcm16k[0]);
      this.hasCarry = false;
      i = 1;
    }
    const low = this.low;
    const high = this.high;
    const qmf = this.qmf;
    for (; i + 1 < pcm16k.length; i += 2) dst[o++] = encodePair(low, high, qmf, pcm16k[i], pcm16k[i + 1]);
    if (i < pcm16k.length) {
      this.carry = pcm16k[i];
      this.hasCarry = true;
    }
    return dst;
  }
}

/** Encodes one pair of 16 kHz samples into a codeword, updating both bands. */
function encodePair(low: Band, high: Band, qmf: QmfHistory, s0: number, s1: number): number {
  qmf.push(s0, s1);
  const xlow = (qmf.odd + qmf.even) >> 14;
  const xhigh = (qmf.odd - qmf.even) >> 14;

  // High band: 2-bit quantizer (sign and one magnitude decision).
  const eh = sat16(xhigh - high.estimate);
  const magH = eh >= 0 ? eh : -(eh + 1);
  const ih = (magH < (141 * high.step) >> 8 ? 1 : 0) + (eh >= 0 ? 2 : 0);

  // Low band: 6-bit quantizer, the decision levels scaled by the step size.
  const el = sat16(xlow - low.estimate);
  const magL = ((el >= 0 ? el : -(el + 1)) + 1) << 10;
  // k = how many decision levels (scaled by the step size) the magnitude exceeds: binary search, levels ascend.
  const stepL = low.step;
  let k = 0;
  let hi = 29;
  while (k < hi) {
    const mid = (k + hi) >> 1;
    if (magL > LOW_DECISION[mid] * stepL) k = mid + 1;
    else hi = mid;
  }
  const il = (el < 0 ? (k < 2 ? 63 : 33) : 61) - k;

  high.updateHigh((high.step * HIGH_INV_Q2[ih]) >> 10, ih);
  low.updateLow(il >> 2);
  return (ih << 6) | il;
}

/** G.722 decoder for one stream: 64 kbit/s codewords in, PCM16 at 16 kHz out. */
export class G722Decoder {
  private readonly low = new Band(8);
  private readonly high = new Band(2);
  private readonly qmf = new QmfHistory();

  /** Decodes `data` into `out` (allocated when absent or too small); returns the filled view: two samples per byte. */
  decode(data: Uint8Array, out?: Int16Array): Int16Array {
    const dst = outputView(out, data.length * 2, (n) => new Int16Array(n));
    const low = this.low;
    const high = this.high;
    const qmf = this.qmf;
    for (let j = 0, o = 0; j < data.length; j++) {
      const byte = data[j];
      const il = byte & 0x3f;
      const ih = byte >> 6;

      const rlow = clamp(((low.step * LOW_INV_Q6[il]) >> 10) + low.estimate, -16384, 16383);
      low.updateLow(il >> 2);

      const dh = (high.step * HIGH_INV_Q2[ih]) >> 10;
      const rhigh = clamp(dh + high.estimate, -16384, 16383);
      high.updateHigh(dh, ih);

      qmf.push(rlow + rhigh, rlow - rhigh);
      dst[o++] = sat16(qmf.odd >> 11);
      dst[o++] = sat16(qmf.even >> 11);
    }
    return dst;
  }
}
