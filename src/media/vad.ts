/**
 * Voice activity detection with endpointing, for 20 ms PCM16 frames at 8000 or 16000 Hz.
 *
 * Design (why it holds up on phone lines):
 * - Each frame is Hann-windowed and transformed over 40 ms (this frame and the previous: 512/1024-point FFT, 15.6 Hz bins, enough to resolve 60 Hz hum harmonics instead of seeing them beat); only 250-3750 Hz
 *   counts (telephone speech lives there; mains hum and its low harmonics sit below it), split into
 *   BAND_COUNT bands.
 * - Noise floor per band: the 30th percentile of band power over the last 5 s (a sliding histogram,
 *   so a frame costs a few steps). Any stationary noise (white, hum, line hiss) becomes the floor; a
 *   percentile well above the minimum also lands on the typical level of fluctuating babble rather than
 *   its dips, while the pauses a caller makes keep the caller's own speech out of it.
 * - Frame statistic: in-band SNR in dB (frame power over floor, summed over the bands). A frame is
 *   speech above SNR_THRESHOLD_DB, if it is not near-silent (ENERGY_GATE_DBFS) and not far below the
 *   caller's tracked speech peak (DYNAMIC_RANGE_DB: background talk, echo, crosstalk).
 * - The raw decision adds a short hangover to bridge the weak tails of syllables.
 * - Endpointing uses the decision without hangover: speech-start after minSpeechMs of speech frames
 *   (gaps up to 100 ms allowed, so stop consonants do not restart the count), which rejects clicks
 *   and short bursts; speech-end after silenceMs of non-speech frames.
 * All state is preallocated; process() does no allocation.
 */
import { FRAME_MS } from './audio.js';

export interface VadOptions {
  sampleRate: number;
  /** Speech must last this long before speech-start. Default 200. */
  minSpeechMs?: number;
  /** Endpoint (speech-end) after this much non-speech. Default 700. */
  silenceMs?: number;
}

export type VadEvent = { type: 'speech-start'; speechStartedMsAgo: number } | { type: 'speech-end'; speechMs: number };

const BAND_LOW_HZ = 250;
const BAND_HIGH_HZ = 3750;
const BAND_COUNT = 10;
/** Noise-floor window (frames) and the percentile of band power within it taken as the floor. */
const FLOOR_WINDOW_FRAMES = 250;
const FLOOR_PERCENTILE = 0.3;
/** The percentile sits below the mean noise power; this factor compensates (about 0.6 dB). */
const FLOOR_BIAS = 1.15;
/** Histogram resolution of band power (dB per bin) and range. */
const HIST_DB_PER_BIN = 0.5;
const HIST_MIN_DB = -30;
const HIST_BINS = 340;
/** In-band SNR (dB) above which a frame is speech. */
const SNR_THRESHOLD_DB = 7;
/** Frames quieter than this (dBFS RMS) are never speech, whatever the floor. */
const ENERGY_GATE_DBFS = -60;
/** Frames of hangover after a speech frame in the raw decision. */
const HANGOVER_FRAMES = 3;
/** Frames more than this below the caller's tracked speech peak are not the caller. */
const DYNAMIC_RANGE_DB = 25;
/** Longest gap (ms) inside a speech candidate before minSpeechMs counting starts over. */
const MAX_CANDIDATE_GAP_MS = 100;
/** Decay of the tracked speech peak level per frame (1 dB/s), so a caller who turns quieter is followed. */
const PEAK_DECAY_DB = 0.02;
/** Power floor per band so digital silence gives a finite ratio. */
const TINY_POWER = 1e-3;

export class VoiceActivityDetector {
  readonly sampleRate: number;
  readonly minSpeechMs: number;
  readonly silenceMs: number;

  private readonly frameSamples: number;
  private readonly fftSize: number;
  /** Analysis spans the previous frame and this one (40 ms), so 60 Hz hum harmonics are resolved, not beating. */
  private readonly window: Float64Array;
  private readonly previous: Float64Array;
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  private readonly cosTable: Float64Array;
  private readonly sinTable: Float64Array;
  private readonly bitReverse: Uint16Array;
  /** bandStart[b] .. bandStart[b+1]-1 are the FFT bins of band b. */
  private readonly bandStart: Uint16Array;
  private readonly bandPower: Float64Array;
  /** Per band: histogram of band power (dB bins) over the last FLOOR_WINDOW_FRAMES frames. */
  private readonly histogram: Uint16Array;
  /** Ring of the bins recorded, history[b * FLOOR_WINDOW_FRAMES + i], to remove them as they age out. */
  private readonly history: Uint16Array;
  /** Per band: the percentile bin, and how many recorded frames lie below it. */
  private readonly floorBin: Int32Array;
  private readonly belowFloor: Int32Array;
  private readonly noise: Float64Array;
  private readonly energyGate: number;

  private frameIndex = 0;
  private historyCount = 0;
  private historyPos = 0;
  private hangover = 0;
  private peakDb = -Infinity;
  private rawSpeech = false;
  private decision = false;
  private inSpeech = false;
  // Candidate before speech-start.
  private candidateStart = -1;
  private candidateFrames = 0;
  private candidateGap = 0;
  // Current utterance after speech-start.
  private utteranceStart = 0;
  private lastSpeechFrame = 0;
  private silenceFrames = 0;

  constructor(opts: VadOptions) {
    if (opts.sampleRate !== 8000 && opts.sampleRate !== 16000) {
      throw new RangeError(`VAD sampleRate must be 8000 or 16000, got ${opts.sampleRate}`);
    }
    const minSpeechMs = opts.minSpeechMs ?? 200;
    const silenceMs = opts.silenceMs ?? 700;
    if (!(minSpeechMs >= 0) || !Number.isFinite(minSpeechMs)) throw new RangeError(`VAD minSpeechMs must be >= 0, got ${opts.minSpeechMs}`);
    if (!(silenceMs > 0) || !Number.isFinite(silenceMs)) throw new RangeError(`VAD silenceMs must be > 0, got ${opts.silenceMs}`);
    this.sampleRate = opts.sampleRate;
    this.minSpeechMs = minSpeechMs;
    this.silenceMs = silenceMs;
    this.frameSamples = (opts.sampleRate * FRAME_MS) / 1000;
    this.fftSize = opts.sampleRate === 8000 ? 512 : 1024;

    const n = this.fftSize;
    const span = 2 * this.frameSamples;
    this.window = new Float64Array(span);
    for (let i = 0; i < span; i++) this.window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / span);
    this.previous = new Float64Array(this.frameSamples);
    this.re = new Float64Array(n);
    this.im = new Float64Array(n);
    this.cosTable = new Float64Array(n / 2);
    this.sinTable = new Float64Array(n / 2);
    for (let i = 0; i < n / 2; i++) {
      this.cosTable[i] = Math.cos((2 * Math.PI * i) / n);
      this.sinTable[i] = -Math.sin((2 * Math.PI * i) / n);
    }
    const bits = Math.log2(n);
    this.bitReverse = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.bitReverse[i] = r;
    }
    const binHz = opts.sampleRate / n;
    this.bandStart = new Uint16Array(BAND_COUNT + 1);
    for (let b = 0; b <= BAND_COUNT; b++) {
      this.bandStart[b] = Math.round((BAND_LOW_HZ + ((BAND_HIGH_HZ - BAND_LOW_HZ) * b) / BAND_COUNT) / binHz);
    }
    this.bandPower = new Float64Array(BAND_COUNT);
    this.histogram = new Uint16Array(BAND_COUNT * HIST_BINS);
    this.history = new Uint16Array(BAND_COUNT * FLOOR_WINDOW_FRAMES);
    this.floorBin = new Int32Array(BAND_COUNT);
    this.belowFloor = new Int32Array(BAND_COUNT);
    this.noise = new Float64Array(BAND_COUNT);
    this.energyGate = this.frameSamples * (32768 * 10 ** (ENERGY_GATE_DBFS / 20)) ** 2;
    this.reset();
  }

  /** Raw per-frame decision of the last processed frame. */
  get lastFrameIsSpeech(): boolean {
    return this.decision;
  }

  /** True between speech-start and speech-end. */
  get speaking(): boolean {
    return this.inSpeech;
  }

  reset(): void {
    this.frameIndex = 0;
    this.historyCount = 0;
    this.historyPos = 0;
    this.hangover = 0;
    this.peakDb = -Infinity;
    this.rawSpeech = false;
    this.decision = false;
    this.inSpeech = false;
    this.candidateStart = -1;
    this.candidateFrames = 0;
    this.candidateGap = 0;
    this.utteranceStart = 0;
    this.lastSpeechFrame = 0;
    this.silenceFrames = 0;
    this.histogram.fill(0);
    this.floorBin.fill(0);
    this.belowFloor.fill(0);
    this.noise.fill(0);
    this.previous.fill(0);
  }

  process(frame: Int16Array): VadEvent | null {
    if (frame.length !== this.frameSamples) {
      throw new RangeError(`VAD frame must hold ${this.frameSamples} samples (20 ms at ${this.sampleRate} Hz), got ${frame.length}`);
    }
    const energy = this.analyse(frame);
    let speech = energy >= this.energyGate && this.snrDb() > SNR_THRESHOLD_DB;
    if (speech) {
      const db = 10 * Math.log10(energy);
      this.peakDb = db > this.peakDb ? db : this.peakDb - PEAK_DECAY_DB;
      // Much quieter than the caller's own speech: background talk, echo or crosstalk, not the caller.
      if (db < this.peakDb - DYNAMIC_RANGE_DB) speech = false;
    } else if (this.peakDb > -Infinity) this.peakDb -= PEAK_DECAY_DB;
    this.rawSpeech = speech;
    this.trackNoise();
    if (this.rawSpeech) this.hangover = HANGOVER_FRAMES;
    else if (this.hangover > 0) this.hangover--;
    this.decision = this.rawSpeech || this.hangover > 0;
    const event = this.endpoint(this.rawSpeech);
    this.frameIndex++;
    return event;
  }

  /** Fills bandPower from the windowed FFT; returns the frame's time-domain energy (sum of squares). */
  private analyse(frame: Int16Array): number {
    const { re, im, window, bitReverse } = this;
    const n = this.fftSize;
    re.fill(0);
    im.fill(0);
    let energy = 0;
    const prev = this.previous;
    const m = frame.length;
    for (let i = 0; i < m; i++) {
      const x = frame[i];
      energy += x * x;
      re[bitReverse[i]] = prev[i] * window[i];
      re[bitReverse[m + i]] = x * window[m + i];
      prev[i] = x;
    }
    // Iterative radix-2 FFT on the bit-reversed input.
    for (let size = 2; size <= n; size <<= 1) {
      const halfSize = size >> 1;
      const step = n / size;
      for (let start = 0; start < n; start += size) {
        for (let k = 0; k < halfSize; k++) {
          const wr = this.cosTable[k * step];
          const wi = this.sinTable[k * step];
          const a = start + k;
          const b = a + halfSize;
          const tr = re[b] * wr - im[b] * wi;
          const ti = re[b] * wi + im[b] * wr;
          re[b] = re[a] - tr;
          im[b] = im[a] - ti;
          re[a] += tr;
          im[a] += ti;
        }
      }
    }
    for (let b = 0; b < BAND_COUNT; b++) {
      let sum = 0;
      const end = this.bandStart[b + 1];
      for (let k = this.bandStart[b]; k < end; k++) sum += re[k] * re[k] + im[k] * im[k];
      this.bandPower[b] = sum / (end - this.bandStart[b]) + TINY_POWER;
    }
    return energy;
  }

  /** In-band power of this frame over the noise floor, in dB. */
  private snrDb(): number {
    if (this.frameIndex === 0) return 0; // no floor yet: the first frame seeds it
    let power = 0;
    let noise = 0;
    for (let b = 0; b < BAND_COUNT; b++) {
      power += this.bandPower[b];
      noise += this.noise[b];
    }
    return 10 * Math.log10(power / noise);
  }

  /**
   * Slides each band's power histogram by one frame and re-reads the percentile. The percentile bin
   * moves incrementally (with the count below it kept up to date), so a frame costs a few steps, not a sort.
   */
  private trackNoise(): void {
    const full = this.historyCount === FLOOR_WINDOW_FRAMES;
    const count = full ? FLOOR_WINDOW_FRAMES : this.historyCount + 1;
    const rank = Math.floor(FLOOR_PERCENTILE * (count - 1));
    for (let b = 0; b < BAND_COUNT; b++) {
      const hist = b * HIST_BINS;
      const slot = b * FLOOR_WINDOW_FRAMES + this.historyPos;
      let ptr = this.floorBin[b];
      let below = this.belowFloor[b];
      if (full) {
        const old = this.history[slot];
        this.histogram[hist + old]--;
        if (old < ptr) below--;
      }
      const db = 10 * Math.log10(this.bandPower[b]);
      let bin = Math.floor((db - HIST_MIN_DB) / HIST_DB_PER_BIN);
      bin = bin < 0 ? 0 : bin >= HIST_BINS ? HIST_BINS - 1 : bin;
      this.history[slot] = bin;
      this.histogram[hist + bin]++;
      if (bin < ptr) below++;
      // Move ptr to the bin holding the rank-th smallest recorded power.
      while (below > rank) {
        ptr--;
        below -= this.histogram[hist + ptr];
      }
      while (below + this.histogram[hist + ptr] <= rank) {
        below += this.histogram[hist + ptr];
        ptr++;
      }
      this.floorBin[b] = ptr;
      this.belowFloor[b] = below;
      this.noise[b] = FLOOR_BIAS * 10 ** ((HIST_MIN_DB + (ptr + 0.5) * HIST_DB_PER_BIN) / 10);
    }
    this.historyPos = (this.historyPos + 1) % FLOOR_WINDOW_FRAMES;
    if (!full) this.historyCount++;
  }

  private endpoint(speech: boolean): VadEvent | null {
    const f = this.frameIndex;
    if (!this.inSpeech) {
      if (speech) {
        if (this.candidateStart < 0) this.candidateStart = f;
        this.candidateFrames++;
        this.candidateGap = 0;
        if (this.candidateFrames * FRAME_MS >= this.minSpeechMs) {
          this.inSpeech = true;
          this.utteranceStart = this.candidateStart;
          this.lastSpeechFrame = f;
          this.silenceFrames = 0;
          this.candidateStart = -1;
          this.candidateFrames = 0;
          return { type: 'speech-start', speechStartedMsAgo: (f - this.utteranceStart + 1) * FRAME_MS };
        }
      } else if (this.candidateStart >= 0 && ++this.candidateGap * FRAME_MS > MAX_CANDIDATE_GAP_MS) {
        this.candidateStart = -1;
        this.candidateFrames = 0;
        this.candidateGap = 0;
      }
      return null;
    }
    if (speech) {
      this.lastSpeechFrame = f;
      this.silenceFrames = 0;
      return null;
    }
    if (++this.silenceFrames * FRAME_MS >= this.silenceMs) {
      this.inSpeech = false;
      this.silenceFrames = 0;
      return { type: 'speech-end', speechMs: (this.lastSpeechFrame - this.utteranceStart + 1) * FRAME_MS };
    }
    return null;
  }
}
