/**
 * G.711 mu-law and A-law (ITU-T G.711). Decoding uses 256-entry tables and encoding a 64 K-entry
 * table built once, so the per-frame work is one array lookup per sample.
 */

function muLawDecodeSample(u: number): number {
  u = ~u & 0xff;
  const sign = u & 0x80;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return sign ? -magnitude : magnitude;
}

function muLawEncodeSample(pcm: number): number {
  const BIAS = 0x84;
  const CLIP = 32635;
  const sign = (pcm >> 8) & 0x80;
  if (sign) pcm = -pcm;
  if (pcm > CLIP) pcm = CLIP;
  pcm += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (pcm & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (pcm >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function aLawDecodeSample(a: number): number {
  a ^= 0x55;
  const sign = a & 0x80;
  const exponent = (a >> 4) & 0x07;
  let magnitude = (a & 0x0f) << 4;
  magnitude += exponent === 0 ? 8 : 0x108;
  if (exponent > 1) magnitude <<= exponent - 1;
  return sign ? magnitude : -magnitude;
}

function aLawEncodeSample(pcm: number): number {
  let sign = 0x80;
  if (pcm < 0) {
    sign = 0;
    pcm = -pcm - 1;
  }
  if (pcm > 32767) pcm = 32767;
  let exponent = 7;
  for (let mask = 0x4000; (pcm & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = exponent === 0 ? (pcm >> 4) & 0x0f : (pcm >> (exponent + 3)) & 0x0f;
  return ((sign | (exponent << 4) | mantissa) ^ 0x55) & 0xff;
}

const MULAW_TO_PCM = new Int16Array(256);
const ALAW_TO_PCM = new Int16Array(256);
for (let i = 0; i < 256; i++) {
  MULAW_TO_PCM[i] = muLawDecodeSample(i);
  ALAW_TO_PCM[i] = aLawDecodeSample(i);
}
const PCM_TO_MULAW = new Uint8Array(65536);
const PCM_TO_ALAW = new Uint8Array(65536);
for (let i = 0; i < 65536; i++) {
  const pcm = i < 32768 ? i : i - 65536;
  PCM_TO_MULAW[i] = muLawEncodeSample(pcm);
  PCM_TO_ALAW[i] = aLawEncodeSample(pcm);
}

/** Decodes mu-law bytes into `out` (allocated when not given); returns the filled view. */
export function decodeMuLaw(input: Uint8Array, out?: Int16Array): Int16Array {
  const dst = out === undefined || out.length < input.length ? new Int16Array(input.length) : out.length === input.length ? out : out.subarray(0, input.length);
  for (let i = 0; i < input.length; i++) dst[i] = MULAW_TO_PCM[input[i]];
  return dst;
}

export function encodeMuLaw(input: Int16Array, out?: Uint8Array): Uint8Array {
  const dst = out === undefined || out.length < input.length ? new Uint8Array(input.length) : out.length === input.length ? out : out.subarray(0, input.length);
  for (let i = 0; i < input.length; i++) dst[i] = PCM_TO_MULAW[input[i] & 0xffff];
  return dst;
}

export function decodeALaw(input: Uint8Array, out?: Int16Array): Int16Array {
  const dst = out === undefined || out.length < input.length ? new Int16Array(input.length) : out.length === input.length ? out : out.subarray(0, input.length);
  for (let i = 0; i < input.length; i++) dst[i] = ALAW_TO_PCM[input[i]];
  return dst;
}

export function encodeALaw(input: Int16Array, out?: Uint8Array): Uint8Array {
  const dst = out === undefined || out.length < input.length ? new Uint8Array(input.length) : out.length === input.length ? out : out.subarray(0, input.length);
  for (let i = 0; i < input.length; i++) dst[i] = PCM_TO_ALAW[input[i] & 0xffff];
  return dst;
}

/** mu-law encoding of digital silence (0xFF), used to fill gaps in real-time streams. */
export const MULAW_SILENCE = 0xff;
