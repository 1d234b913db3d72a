import { describe, expect, it } from 'vitest';
import { decodeALaw, decodeMuLaw, encodeALaw, encodeMuLaw, MULAW_SILENCE } from '../../src/media/g711.js';

function allPcm(): Int16Array {
  const x = new Int16Array(65536);
  for (let i = 0; i < 65536; i++) x[i] = i - 32768;
  return x;
}

describe('G.711 round trip', () => {
  it('known code points: mu-law 0xFF and 0x7F decode to 0, A-law 0xD5 to 8 and 0x55 to -8', () => {
    expect(Array.from(decodeMuLaw(Uint8Array.of(0xff, 0x7f, 0x80, 0x00)))).toEqual([0, 0, 32124, -32124]);
    expect(Array.from(decodeALaw(Uint8Array.of(0xd5, 0x55, 0xaa, 0x2a)))).toEqual([8, -8, 32256, -32256]);
    expect(MULAW_SILENCE).toBe(0xff);
    expect(encodeMuLaw(Int16Array.of(0))[0]).toBe(0xff);
    expect(encodeALaw(Int16Array.of(0))[0]).toBe(0xd5);
  });

  it('every 16-bit sample survives mu-law with error within half its segment step (about 3% of the value)', () => {
    const pcm = allPcm();
    const back = decodeMuLaw(encodeMuLaw(pcm));
    for (let i = 0; i < pcm.length; i++) {
      const x = Math.max(-32124, Math.min(32124, pcm[i])); // beyond the largest code point, mu-law clips
      const err = Math.abs(back[i] - x);
      // Step size is 2^(exponent+3) for a segment; half a step bounds the rounding error.
      const bound = Math.max(4, (Math.abs(x) + 132) / 16 / 2 + 1);
      if (err > bound) throw new Error(`mu-law ${pcm[i]} -> ${back[i]} (error ${err} > ${bound})`);
    }
  });

  it('every 16-bit sample survives A-law with error within its segment step', () => {
    const pcm = allPcm();
    const back = decodeALaw(encodeALaw(pcm));
    for (let i = 0; i < pcm.length; i++) {
      const x = Math.max(-32256, Math.min(32256, pcm[i]));
      const err = Math.abs(back[i] - x);
      const bound = Math.max(8, Math.abs(x) / 32 + 1);
      if (err > bound) throw new Error(`A-law ${pcm[i]} -> ${back[i]} (error ${err} > ${bound})`);
    }
  });

  it('decode -> encode -> decode is the identity on every code (codes are stable)', () => {
    const codes = new Uint8Array(256).map((_, i) => i);
    const mu = decodeMuLaw(codes);
    expect(Array.from(decodeMuLaw(encodeMuLaw(mu)))).toEqual(Array.from(mu));
    const a = decodeALaw(codes);
    expect(Array.from(decodeALaw(encodeALaw(a)))).toEqual(Array.from(a));
    // A-law has no negative zero pair collapse: all 256 codes decode to distinct values.
    expect(new Set(a).size).toBe(256);
  });

  it('signal-to-quantisation-noise of a speech-level tone is about 38 dB for both laws', () => {
    const n = 8000;
    const x = new Int16Array(n);
    for (let i = 0; i < n; i++) x[i] = Math.round(3000 * Math.sin((2 * Math.PI * 1004 * i) / 8000));
    for (const [name, back] of [['mu', decodeMuLaw(encodeMuLaw(x))], ['A', decodeALaw(encodeALaw(x))]] as const) {
      let sig = 0;
      let err = 0;
      for (let i = 0; i < n; i++) {
        sig += x[i] * x[i];
        err += (back[i] - x[i]) ** 2;
      }
      const sqnr = 10 * Math.log10(sig / err);
      expect(sqnr, `${name}-law SQNR ${sqnr.toFixed(1)} dB`).toBeGreaterThan(35);
    }
  });

  it('writes into a caller-supplied buffer without allocating, and returns a view of the used part', () => {
    const out = new Int16Array(320);
    const view = decodeMuLaw(new Uint8Array(160).fill(0xff), out);
    expect(view.buffer).toBe(out.buffer);
    expect(view.length).toBe(160);
    const bytes = new Uint8Array(200);
    const enc = encodeALaw(new Int16Array(160), bytes);
    expect(enc.buffer).toBe(bytes.buffer);
    expect(enc.length).toBe(160);
  });
});
