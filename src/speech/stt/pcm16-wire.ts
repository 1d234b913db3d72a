/**
 * PCM16 as the little-endian bytes every STT wire format here carries (LINEAR16, WAV data, raw
 * WebSocket frames). Int16Array memory is in host order, so big-endian hosts swap byte by byte.
 */
import { endianness } from 'node:os';

const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';

/** Copies the samples into `target` (at least samples.byteLength long) as little-endian bytes. */
export function copyPcm16LittleEndian(samples: Int16Array, target: Buffer): void {
  if (HOST_IS_LITTLE_ENDIAN) {
    Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).copy(target);
    return;
  }
  for (let i = 0; i < samples.length; i++) target.writeInt16LE(samples[i]!, i * 2);
}

/** A new buffer with the samples as little-endian bytes (the caller may reuse its sample buffer). */
export function pcm16LittleEndian(samples: Int16Array): Buffer {
  const out = Buffer.allocUnsafe(samples.byteLength);
  copyPcm16LittleEndian(samples, out);
  return out;
}

/** Whether Int16Array memory already is the wire order, so a view of it can be sent without a copy. */
export const hostIsLittleEndian = HOST_IS_LITTLE_ENDIAN;
