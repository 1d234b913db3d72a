import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeMuLaw } from '../../src/media/g711.js';
import { encodeWav, parseWav, readWavFile, WavFormatError, writeWavFile } from '../../src/media/wav.js';

interface Chunk {
  id: string;
  body: Uint8Array;
}

function fmtBody(format: number, channels: number, rate: number, bits: number): Uint8Array {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(format, 0);
  b.writeUInt16LE(channels, 2);
  b.writeUInt32LE(rate, 4);
  b.writeUInt32LE((rate * channels * bits) / 8, 8);
  b.writeUInt16LE((channels * bits) / 8, 12);
  b.writeUInt16LE(bits, 14);
  return b;
}

/** Builds a RIFF file from chunks, padding odd-sized ones as the spec requires. */
function riff(chunks: Chunk[]): Buffer {
  const parts: Buffer[] = [];
  for (const c of chunks) {
    const head = Buffer.alloc(8);
    head.write(c.id, 0, 'ascii');
    head.writeUInt32LE(c.body.length, 4);
    parts.push(head, Buffer.from(c.body));
    if (c.body.length & 1) parts.push(Buffer.alloc(1));
  }
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(12);
  head.write('RIFF', 0, 'ascii');
  head.writeUInt32LE(4 + body.length, 4);
  head.write('WAVE', 8, 'ascii');
  return Buffer.concat([head, body]);
}

function pcmBytes(samples: number[]): Uint8Array {
  const b = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => b.writeInt16LE(s, i * 2));
  return b;
}

describe('WAV read and write', () => {
  it('encodeWav -> parseWav returns the same samples and rate', () => {
    const samples = Int16Array.from({ length: 1001 }, (_, i) => ((i * 7919) % 65536) - 32768);
    const wav = parseWav(encodeWav(samples, 16000));
    expect(wav.sampleRate).toBe(16000);
    expect(Array.from(wav.samples)).toEqual(Array.from(samples));
  });

  it('writes and reads a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'voxgate-wav-'));
    try {
      const samples = Int16Array.of(0, 1, -1, 32767, -32768);
      await writeWavFile(join(dir, 'a.wav'), samples, 8000);
      const back = await readWavFile(join(dir, 'a.wav'));
      expect(Array.from(back.samples)).toEqual(Array.from(samples));
      expect(back.sampleRate).toBe(8000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('skips unknown chunks, including odd-sized ones with their pad byte', () => {
    const buf = riff([
      { id: 'LIST', body: new Uint8Array(7).fill(0x41) },
      { id: 'fmt ', body: fmtBody(1, 1, 8000, 16) },
      { id: 'fact', body: new Uint8Array(3) },
      { id: 'data', body: pcmBytes([100, -200, 300]) },
    ]);
    const wav = parseWav(buf);
    expect(Array.from(wav.samples)).toEqual([100, -200, 300]);
  });

  it('down-mixes stereo to mono by averaging the channels', () => {
    const buf = riff([
      { id: 'fmt ', body: fmtBody(1, 2, 22050, 16) },
      { id: 'data', body: pcmBytes([1000, 3000, -1000, -3001, 32767, 32767]) },
    ]);
    const wav = parseWav(buf);
    expect(wav.sampleRate).toBe(22050);
    expect(Array.from(wav.samples)).toEqual([2000, -2000, 32767]);
  });

  it('decodes a mu-law WAV (format 7)', () => {
    const pcm = Int16Array.of(0, 1000, -1000, 8000);
    const buf = riff([
      { id: 'fmt ', body: fmtBody(7, 1, 8000, 8) },
      { id: 'data', body: encodeMuLaw(pcm) },
    ]);
    const wav = parseWav(buf);
    expect(wav.samples.length).toBe(4);
    pcm.forEach((x, i) => expect(Math.abs(wav.samples[i] - x)).toBeLessThanOrEqual(Math.max(8, Math.abs(x) / 16)));
  });

  it('accepts a streaming writer data size of 0 or 0xFFFFFFFF by reading to the end of the file', () => {
    const buf = riff([
      { id: 'fmt ', body: fmtBody(1, 1, 8000, 16) },
      { id: 'data', body: pcmBytes([5, 6, 7, 8]) },
    ]);
    buf.writeUInt32LE(0xffffffff, 12 + 8 + 16 + 4);
    expect(Array.from(parseWav(buf).samples)).toEqual([5, 6, 7, 8]);
  });

  it('truncated or garbage input gives a WavFormatError naming the problem', () => {
    const good = encodeWav(Int16Array.of(1, 2, 3), 8000);
    expect(() => parseWav(new Uint8Array(0))).toThrow(WavFormatError);
    expect(() => parseWav(Buffer.from('hello, this is not audio at all'))).toThrow(/not a RIFF\/WAVE file/);
    expect(() => parseWav(good.subarray(0, 20))).toThrow(/fmt chunk/);
    expect(() => parseWav(riff([{ id: 'fmt ', body: fmtBody(1, 1, 8000, 16) }]))).toThrow(/no data chunk/);
    expect(() => parseWav(riff([{ id: 'data', body: pcmBytes([1]) }]))).toThrow(/no fmt chunk/);
    expect(() => parseWav(riff([{ id: 'fmt ', body: fmtBody(3, 1, 8000, 32) }, { id: 'data', body: new Uint8Array(8) }]))).toThrow(
      /unsupported WAV encoding: format 3, 32 bits/,
    );
    expect(() => parseWav(riff([{ id: 'fmt ', body: fmtBody(1, 0, 8000, 16) }, { id: 'data', body: new Uint8Array(8) }]))).toThrow(/channel count 0/);
    // A fmt chunk cut short must not read past the buffer (RangeError) but say what is wrong.
    const shortFmt = riff([{ id: 'fmt ', body: new Uint8Array(6) }]);
    expect(() => parseWav(shortFmt)).toThrow(WavFormatError);
  });

  it('readWavFile names the file in the error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'voxgate-wav-'));
    try {
      await writeFile(join(dir, 'bad.wav'), 'garbage');
      await expect(readWavFile(join(dir, 'bad.wav'))).rejects.toThrow(/bad\.wav: not a RIFF\/WAVE file/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
