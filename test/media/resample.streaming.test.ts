import { describe, expect, it } from 'vitest';
import { resample, StreamResampler } from '../../src/media/resample.js';
import { concat, seededRandom, synthesizeSpeech, tone } from '../support/media-signals.js';

function streamIn(input: Int16Array, from: number, to: number, chunkSizes: number[]): Int16Array {
  const stream = new StreamResampler(from, to);
  const parts: Int16Array[] = [];
  let off = 0;
  for (let k = 0; off < input.length; k++) {
    const n = chunkSizes[k % chunkSizes.length];
    parts.push(stream.push(input.subarray(off, off + n)));
    off += n;
  }
  parts.push(stream.flush());
  return concat(...parts);
}

describe('StreamResampler output is continuous across chunk boundaries', () => {
  it('TTS speech pushed in irregular chunks equals the whole-buffer result (22050 -> 8000)', async () => {
    const speech = await synthesizeSpeech('Your call is important to us. Please hold the line.', 22050);
    const whole = resample(speech, 22050, 8000);
    const streamed = streamIn(speech, 22050, 8000, [1, 441, 1000, 7, 2205, 333]);
    expect(streamed.length).toBe(whole.length);
    let maxDiff = 0;
    for (let i = 0; i < whole.length; i++) maxDiff = Math.max(maxDiff, Math.abs(whole[i] - streamed[i]));
    expect(maxDiff, `max sample difference ${maxDiff}`).toBeLessThanOrEqual(1);
  });

  it('every rate pair streams to the same samples as the whole buffer, with random chunking', () => {
    const rand = seededRandom(42);
    for (const [from, to] of [[8000, 16000], [16000, 8000], [8000, 22050], [24000, 8000], [22050, 24000], [24000, 16000]]) {
      const input = tone(700, from, from, 12000);
      const sizes = Array.from({ length: 16 }, () => 1 + Math.floor(rand() * 900));
      const whole = resample(input, from, to);
      const streamed = streamIn(input, from, to, sizes);
      expect(streamed.length, `${from}->${to}`).toBe(whole.length);
      let maxDiff = 0;
      for (let i = 0; i < whole.length; i++) maxDiff = Math.max(maxDiff, Math.abs(whole[i] - streamed[i]));
      expect(maxDiff, `${from}->${to}`).toBeLessThanOrEqual(1);
    }
  });

  it('20 ms chunks give 20 ms of output each once primed, and flush() completes the length', () => {
    const stream = new StreamResampler(22050, 8000);
    const input = tone(440, 22050, 22050);
    let total = 0;
    const lengths: number[] = [];
    for (let off = 0; off < input.length; off += 441) {
      const out = stream.push(input.subarray(off, off + 441));
      lengths.push(out.length);
      total += out.length;
    }
    total += stream.flush().length;
    expect(total).toBe(8000);
    // After the look-ahead is filled, each 441-sample chunk yields 160 samples (give or take one).
    for (const n of lengths.slice(5)) expect(Math.abs(n - 160)).toBeLessThanOrEqual(1);
  });

  it('is reusable after flush() and starts the next stream from silence', () => {
    const stream = new StreamResampler(8000, 16000);
    const a = tone(300, 8000, 800);
    const first = concat(stream.push(a), stream.flush());
    const second = concat(stream.push(a), stream.flush());
    expect(Array.from(second)).toEqual(Array.from(first));
  });
});
