/**
 * The audio codecs a SIP call may carry, with what the RTP layer needs to know about each: payload
 * type, sample rates, and the size of a 20 ms packet. All three share an 8000 Hz RTP clock, so the
 * timestamp steps 160 per 20 ms packet, and all three put exactly one payload byte per RTP clock tick
 * (G.711: one byte per 8 kHz sample; G.722: one byte per two 16 kHz samples) — the jitter buffer relies
 * on that to place partial packets by timestamp.
 */
import { G722Decoder, G722Encoder } from '../../../media/g722.js';
import { decodeALaw, decodeMuLaw, encodeALaw, encodeMuLaw } from '../../../media/g711.js';

export interface AudioEncoder {
  /** Encodes exactly `frameSamples` samples into `out` (at least `frameBytes` long). */
  encode(pcm: Int16Array, out: Uint8Array): void;
}

export interface AudioDecoder {
  /** Decodes a payload into `out` (two samples per byte for G.722, one for G.711). */
  decode(payload: Uint8Array, out: Int16Array): void;
}

export interface AudioCodec {
  name: 'PCMU' | 'PCMA' | 'G722';
  /** Static RTP payload type (RFC 3551). */
  payloadType: number;
  /** Clock rate in the rtpmap (8000 for G.722 too, an RFC 3551 quirk). */
  rtpClockRate: 8000;
  /** PCM sample rate on our side of the codec. */
  sampleRate: 8000 | 16000;
  /** Samples per 20 ms at sampleRate. */
  frameSamples: number;
  /** Payload bytes per 20 ms. */
  frameBytes: number;
  /** RTP timestamp step per 20 ms (160 for all three). */
  timestampStep: number;
  createEncoder(): AudioEncoder;
  createDecoder(): AudioDecoder;
}

/** G.711 is stateless: one shared encoder and decoder object per law. */
const muLawEncoder: AudioEncoder = { encode: (pcm, out) => void encodeMuLaw(pcm, out) };
const muLawDecoder: AudioDecoder = { decode: (payload, out) => void decodeMuLaw(payload, out) };
const aLawEncoder: AudioEncoder = { encode: (pcm, out) => void encodeALaw(pcm, out) };
const aLawDecoder: AudioDecoder = { decode: (payload, out) => void decodeALaw(payload, out) };

export const PCMU: AudioCodec = Object.freeze({
  name: 'PCMU',
  payloadType: 0,
  rtpClockRate: 8000,
  sampleRate: 8000,
  frameSamples: 160,
  frameBytes: 160,
  timestampStep: 160,
  createEncoder: () => muLawEncoder,
  createDecoder: () => muLawDecoder,
});

export const PCMA: AudioCodec = Object.freeze({
  name: 'PCMA',
  payloadType: 8,
  rtpClockRate: 8000,
  sampleRate: 8000,
  frameSamples: 160,
  frameBytes: 160,
  timestampStep: 160,
  createEncoder: () => aLawEncoder,
  createDecoder: () => aLawDecoder,
});

export const G722: AudioCodec = Object.freeze({
  name: 'G722',
  payloadType: 9,
  rtpClockRate: 8000,
  sampleRate: 16000,
  frameSamples: 320,
  frameBytes: 160,
  timestampStep: 160,
  createEncoder(): AudioEncoder {
    const encoder = new G722Encoder();
    return { encode: (pcm, out) => void encoder.encode(pcm, out) };
  },
  createDecoder(): AudioDecoder {
    const decoder = new G722Decoder();
    return { decode: (payload, out) => void decoder.decode(payload, out) };
  },
});

export const AUDIO_CODECS: readonly AudioCodec[] = [PCMU, PCMA, G722];

/** The codec an rtpmap encoding name stands for ("pcmu", "PCMA", "G722"), case-insensitive. */
export function codecByName(name: string): AudioCodec | undefined {
  const upper = name.trim().toUpperCase();
  return AUDIO_CODECS.find((c) => c.name === upper);
}

/** The codec a static payload type (0, 8, 9) stands for, when the SDP has no rtpmap for it. */
export function codecByPayloadType(payloadType: number): AudioCodec | undefined {
  return AUDIO_CODECS.find((c) => c.payloadType === payloadType);
}

/**
 * One 20 ms payload of silence for the codec. G.711 silence is a constant byte; G.722 silence depends
 * on the encoder state, so this is only a starting value (an encoder fed zeros settles on it).
 */
export function silencePayload(codec: AudioCodec): Uint8Array {
  const out = new Uint8Array(codec.frameBytes);
  const encoder = codec.createEncoder();
  const zeros = new Int16Array(codec.frameSamples);
  for (let i = 0; i < 4; i++) encoder.encode(zeros, out);
  return out;
}
