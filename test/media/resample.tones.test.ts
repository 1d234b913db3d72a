import { describe, expect, it } from 'vitest';
import { resample } from '../../src/media/resample.js';
import { goertzelAmplitude, tone } from '../support/media-signals.js';

const RATES = [8000, 16000, 22050, 24000];

/** Amplitude of `hz` in the middle 80% of `x` (skips the edges where the filter meets the zero padding). */
function amplitudeAt(x: Int16Array, hz: number, rate: number): number {
  return goertzelAmplitude(x, hz, rate, Math.floor(x.length / 10), Math.floor((x.length * 9) / 10));
}

describe('resample keeps in-band tones and removes out-of-band ones', () => {
  it('a 1 kHz tone survives 22050 -> 8000 with its frequency and level', () => {
    const out = resample(tone(1000, 22050, 22050, 10000), 22050, 8000);
    expect(out.length).toBe(8000);
    expect(amplitudeAt(out, 1000, 8000)).toBeGreaterThan(9900);
    expect(amplitudeAt(out, 1000, 8000)).toBeLessThan(10100);
    // The energy is at 1 kHz and not next to it.
    expect(amplitudeAt(out, 1100, 8000)).toBeLessThan(100);
  });

  it('a 1 kHz tone survives 8000 -> 16000 with no image at 7 kHz', () => {
    const out = resample(tone(1000, 8000, 8000, 10000), 8000, 16000);
    expect(out.length).toBe(16000);
    expect(Math.abs(amplitudeAt(out, 1000, 16000) - 10000)).toBeLessThan(100);
    expect(amplitudeAt(out, 7000, 16000)).toBeLessThan(10); // image of 1 kHz around the old Nyquist
  });

  it('a 3.8 kHz tone at 22050 is strongly attenuated going to 8000 (anti-alias filter, G.711 band)', () => {
    const out = resample(tone(3800, 22050, 22050, 10000), 22050, 8000);
    expect(amplitudeAt(out, 3800, 8000)).toBeLessThan(10000 * 10 ** (-40 / 20));
  });

  it('a 4.2 kHz tone at 22050 does not alias to 3.8 kHz at 8000', () => {
    const out = resample(tone(4200, 22050, 22050, 10000), 22050, 8000);
    expect(amplitudeAt(out, 3800, 8000)).toBeLessThan(10000 * 10 ** (-60 / 20));
  });

  it('every pair of supported rates keeps a 1 kHz tone within 0.1 dB and gives ceil(n * to / from) samples', () => {
    for (const from of RATES) {
      for (const to of RATES) {
        if (from === to) continue;
        const input = tone(1000, from, from + 37, 8000);
        const out = resample(input, from, to);
        expect(out.length, `${from}->${to}`).toBe(Math.ceil(((from + 37) * to) / from));
        const level = 20 * Math.log10(amplitudeAt(out, 1000, to) / 8000);
        expect(Math.abs(level), `${from}->${to} level ${level.toFixed(3)} dB`).toBeLessThan(0.1);
      }
    }
  });

  it('returns the same buffer when the rates are equal, and names a bad rate', () => {
    const x = tone(500, 8000, 160);
    expect(resample(x, 8000, 8000)).toBe(x);
    expect(() => resample(x, 0, 8000)).toThrow(/fromRate must be a positive integer/);
    expect(() => resample(x, 8000, 44.1)).toThrow(/toRate must be a positive integer/);
  });

  it('does not wrap around on full-scale input (clips instead)', () => {
    const square = new Int16Array(2205);
    for (let i = 0; i < square.length; i++) square[i] = Math.floor(i / 50) % 2 ? 32767 : -32768;
    const out = resample(square, 22050, 8000);
    // Gibbs overshoot must saturate, never flip sign: the middle of each half-period keeps its sign.
    for (let k = 1; k < 20; k++) {
      const mid = Math.round(((k * 50 + 25) * 8000) / 22050);
      expect(Math.sign(out[mid]), `half-period ${k}`).toBe(k % 2 ? 1 : -1);
    }
  });
});
