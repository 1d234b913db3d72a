import { describe, expect, it } from 'vitest';
import { OpusCodec } from '../../src/media/opus.js';
import { rmsDbfs } from '../../src/media/audio.js';
import { tone } from '../support/media-signals.js';

describe('the Opus codec of browser calls', () => {
  it('keeps encoding and decoding with hundreds of codecs alive, after later ones grew the shared WASM heap (opusscript alone throws past about 80)', () => {
    const encoder = new OpusCodec(16000);
    const decoder = new OpusCodec(16000);
    // What 150 more calls' codecs allocate: the heap grows and the first codecs' views detach.
    const later = Array.from({ length: 300 }, () => new OpusCodec(16000));
    const signal = tone(440, 16000, 320 * 25, 8000);
    let decoded: Int16Array = new Int16Array(0);
    for (let i = 0; i < 25; i++) {
      const frame = signal.subarray(i * 320, (i + 1) * 320);
      const pcm = decoder.decode(encoder.encode(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength), 320));
      decoded = new Int16Array(pcm.length / 2);
      for (let k = 0; k < decoded.length; k++) decoded[k] = pcm.readInt16LE(k * 2);
    }
    expect(decoded.length).toBe(320);
    // The tone came through (-15 dBFS sent; the codec's last frame carries it).
    expect(rmsDbfs(decoded)).toBeGreaterThan(-25);
    // Every later codec works too (opusscript alone cuts the views of those past half its heap).
    for (const c of later) expect(c.decode(c.encode(Buffer.alloc(640), 320)).length).toBe(640);
    for (const c of [encoder, decoder, ...later]) c.delete();
    expect(() => encoder.encode(Buffer.alloc(640), 320)).toThrow(/after delete/);
  });
});
