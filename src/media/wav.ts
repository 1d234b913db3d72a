/** RIFF/WAVE read and write for PCM16 mono/stereo and G.711 (format 6 A-law, 7 mu-law). */
import { readFile, writeFile } from 'node:fs/promises';
import { decodeALaw, decodeMuLaw } from './g711.js';

export interface WavAudio {
  /** Mono PCM16; multi-channel files are down-mixed. */
  samples: Int16Array;
  sampleRate: number;
}

export class WavFormatError extends Error {}

export function parseWav(buf: Uint8Array): WavAudio {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const tag = (o: number) => String.fromCharCode(buf[o], buf[o + 1], buf[o + 2], buf[o + 3]);
  if (buf.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new WavFormatError('not a RIFF/WAVE file');
  let format = 0;
  let channels = 0;
  let sampleRate = 0;
  let bits = 0;
  let data: Uint8Array | undefined;
  let off = 12;
  while (off + 8 <= buf.length) {
    const id = tag(off);
    let size = view.getUint32(off + 4, true);
    const body = off + 8;
    // Streaming writers (espeak-ng to a pipe, some recorders) leave the data size at 0 or 0xFFFFFFFF.
    if (id === 'data' && (size === 0 || size === 0xffffffff || body + size > buf.length)) size = buf.length - body;
    if (id === 'fmt ') {
      // A cut-off header would otherwise surface as a DataView RangeError that names nothing useful.
      if (size < 16 || body + 16 > buf.length) {
        throw new WavFormatError(`WAV fmt chunk is truncated (${Math.min(size, buf.length - body)} bytes, need 16)`);
      }
      format = view.getUint16(body, true);
      channels = view.getUint16(body + 2, true);
      sampleRate = view.getUint32(body + 4, true);
      bits = view.getUint16(body + 14, true);
      if (format === 0xfffe && size >= 26) format = view.getUint16(body + 24, true); // WAVE_FORMAT_EXTENSIBLE
    } else if (id === 'data') {
      data = buf.subarray(body, body + size);
      break;
    }
    off = body + size + (size & 1);
  }
  if (!format) throw new WavFormatError('WAV has no fmt chunk');
  if (!data) throw new WavFormatError('WAV has no data chunk');
  if (channels < 1) throw new WavFormatError(`WAV channel count ${channels} is invalid`);
  let interleaved: Int16Array;
  if (format === 1 && bits === 16) {
    const n = Math.floor(data.length / 2);
    interleaved = new Int16Array(n);
    for (let i = 0; i < n; i++) interleaved[i] = view.getInt16(data.byteOffset - buf.byteOffset + i * 2, true);
  } else if (format === 1 && bits === 8) {
    interleaved = new Int16Array(data.length);
    for (let i = 0; i < data.length; i++) interleaved[i] = (data[i] - 128) << 8;
  } else if (format === 7 && bits === 8) {
    interleaved = decodeMuLaw(data);
  } else if (format === 6 && bits === 8) {
    interleaved = decodeALaw(data);
  } else {
    throw new WavFormatError(`unsupported WAV encoding: format ${format}, ${bits} bits (expected PCM16, PCM8, mu-law or A-law)`);
  }
  if (channels === 1) return { samples: interleaved, sampleRate };
  const frames = Math.floor(interleaved.length / channels);
  const mono = new Int16Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += interleaved[f * channels + c];
    mono[f] = Math.round(sum / channels);
  }
  return { samples: mono, sampleRate };
}

/** The canonical 44-byte header of a PCM16 WAV holding `dataBytes` of interleaved samples. */
export function wavHeader(dataBytes: number, sampleRate: number, channels = 1): Buffer {
  const out = Buffer.alloc(44);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(channels, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2 * channels, 28);
  out.writeUInt16LE(2 * channels, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(dataBytes, 40);
  return out;
}

/** Encodes mono PCM16 as a canonical 44-byte-header WAV. */
export function encodeWav(samples: Int16Array, sampleRate: number): Buffer {
  const out = Buffer.alloc(44 + samples.length * 2);
  wavHeader(samples.length * 2, sampleRate).copy(out, 0);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i], 44 + i * 2);
  return out;
}

export async function readWavFile(path: string): Promise<WavAudio> {
  try {
    return parseWav(await readFile(path));
  } catch (err) {
    if (err instanceof WavFormatError) throw new WavFormatError(`${path}: ${err.message}`);
    throw err;
  }
}

export async function writeWavFile(path: string, samples: Int16Array, sampleRate: number): Promise<void> {
  await writeFile(path, encodeWav(samples, sampleRate));
}
