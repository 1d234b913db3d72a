import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { G722Decoder, G722Encoder } from '../../src/media/g722.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
function pcmFixture(name: string): Int16Array {
  const b = fixture(name);
  const out = new Int16Array(b.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = b.readInt16LE(i * 2);
  return out;
}

function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>): string | undefined {
  if (a.length !== b.length) return `length ${a.length} != ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `index ${i}: ${a[i]} != ${b[i]}`;
  return undefined;
}

/** SNR of `y` against `x` at the best lag within 0..maxLag samples (G.722's QMF pair delays the signal by 22 samples). */
function snrDb(x: Int16Array, y: Int16Array, lag: number, from = 0): number {
  let sig = 0;
  let err = 0;
  for (let i = from; i + lag < y.length && i < x.length; i++) {
    sig += x[i] * x[i];
    err += (y[i + lag] - x[i]) ** 2;
  }
  return 10 * Math.log10(sig / err);
}

function tone(freqs: number[], amplitude: number, samples: number): Int16Array {
  const x = new Int16Array(samples);
  for (let i = 0; i < samples; i++) {
    let v = 0;
    for (const f of freqs) v += Math.sin((2 * Math.PI * f * i) / 16000);
    x[i] = Math.round((amplitude * v) / freqs.length);
  }
  return x;
}

describe('G.722 (64 kbit/s)', () => {
  it('encodes the reference input byte-for-byte as FFmpeg does, in one call or in 20 ms frames', () => {
    const input = pcmFixture('g722-input.s16le');
    const expected = fixture('g722-ffmpeg.g722');
    expect(firstMismatch(new G722Encoder().encode(input), expected)).toBeUndefined();

    const enc = new G722Encoder();
    const out = new Uint8Array(160);
    const framed: number[] = [];
    for (let off = 0; off < input.length; off += 320) framed.push(...enc.encode(input.subarray(off, off + 320), out));
    expect(firstMismatch(framed, expected)).toBeUndefined();
  });

  it('decodes FFmpeg-encoded speech and pseudo-random codewords sample-for-sample as FFmpeg does', () => {
    expect(firstMismatch(new G722Decoder().decode(fixture('g722-ffmpeg.g722')), pcmFixture('g722-ffmpeg.s16le'))).toBeUndefined();
    // Random codewords drive the predictors into their saturations and every quantizer code.
    const random = fixture('g722-random.g722');
    const dec = new G722Decoder();
    const out = new Int16Array(320);
    const framed: number[] = [];
    for (let off = 0; off < random.length; off += 160) framed.push(...dec.decode(random.subarray(off, off + 160), out));
    expect(firstMismatch(framed, pcmFixture('g722-random.s16le'))).toBeUndefined();
  });

  it('an odd sample count carries the last sample into the next call', () => {
    const input = pcmFixture('g722-input.s16le').subarray(0, 640);
    const whole = new G722Encoder().encode(input);
    const enc = new G722Encoder();
    const a = enc.encode(input.subarray(0, 101));
    const b = enc.encode(input.subarray(101));
    expect(a.length).toBe(50);
    expect(b.length).toBe(270);
    expect(firstMismatch([...a, ...b], whole)).toBeUndefined();
  });

  // Measured: 1 kHz at -12 dBFS 47.3 dB; 300 + 1200 + 3000 Hz 33.4 dB; harmonic voice 31.3 dB; 300 + 3400 + 6000 Hz
  // 22.8 dB (the 6 kHz part rides the 2-bit high band). Thresholds sit 2-3 dB below.
  it('round trip keeps speech clean: 1 kHz tone above 45 dB SNR, voice and low-band mixes above 29 dB, a mix with 6 kHz above 20 dB', () => {
    const lag = 22; // QMF analysis + synthesis delay in samples
    const roundTrip = (x: Int16Array) => snrDb(x, new G722Decoder().decode(new G722Encoder().encode(x)), lag, 320);
    const figures = {
      tone1k: roundTrip(tone([1000], 8000, 16000)),
      lowMix: roundTrip(tone([300, 1200, 3000], 12000, 16000)),
      voice: roundTrip(pcmFixture('g722-input.s16le').subarray(0, 2400)), // the harmonic "voice" section
      wideMix: roundTrip(tone([300, 3400, 6000], 12000, 16000)),
    };
    const text = Object.entries(figures).map(([k, v]) => `${k} ${v.toFixed(1)} dB`).join(', ');
    expect(figures.tone1k, text).toBeGreaterThan(45);
    expect(figures.lowMix, text).toBeGreaterThan(30);
    expect(figures.voice, text).toBeGreaterThan(29);
    expect(figures.wideMix, text).toBeGreaterThan(20);
    // One sample off in alignment ruins it: the 22-sample codec delay is the real one.
    expect(snrDb(tone([1000], 8000, 16000), new G722Decoder().decode(new G722Encoder().encode(tone([1000], 8000, 16000))), lag + 1, 320)).toBeLessThan(15);
  });

  it('writes into caller buffers and returns views of the used part', () => {
    const bytes = new Uint8Array(200);
    const enc = new G722Encoder().encode(new Int16Array(320), bytes);
    expect(enc.buffer).toBe(bytes.buffer);
    expect(enc.length).toBe(160);
    const pcm = new Int16Array(400);
    const dec = new G722Decoder().decode(enc, pcm);
    expect(dec.buffer).toBe(pcm.buffer);
    expect(dec.length).toBe(320);
    // Silence in, near-silence out.
    expect(Math.max(...dec.map(Math.abs))).toBeLessThan(8);
  });
});
