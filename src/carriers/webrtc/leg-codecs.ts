/**
 * The audio codecs of a browser call, each as one 20 ms frame in and one RTP payload out. Opus runs
 * in libopus (WASM, opusscript) directly at the leg's rate: libopus decodes to and encodes from 8 or
 * 16 kHz itself (RFC 7587 keeps the RTP clock at 48 kHz whatever the rate), so no resampler sits in
 * the path. PCMU/PCMA reuse the G.711 tables of src/media. Our buffers are made once per call;
 * opusscript hands back a fresh Buffer per packet, which is its API's one allocation.
 */
import { OpusCodec } from '../../media/opus.js';
import { decodeALaw, decodeMuLaw, encodeALaw, encodeMuLaw } from '../../media/g711.js';
import { samplesPerFrame } from '../../media/audio.js';
import type { LegSampleRate } from '../leg.js';
import type { WebRtcCodecName } from './webrtc-config.js';

/** Opus packets carry at most 120 ms; at 16 kHz that is 1920 samples. */
const MAX_DECODED_SAMPLES = 1920;

export interface LegCodec {
  readonly name: WebRtcCodecName;
  /** RTP clock rate (48000 for Opus, 8000 for G.711). */
  readonly clockRate: number;
  /** PCM rate on the leg's side. */
  readonly sampleRate: LegSampleRate;
  /** RTP timestamp step of one 20 ms packet. */
  readonly timestampStep: number;
  /** Decodes one payload into `decoded` (the codec's own buffer); returns how many samples it holds. */
  decode(payload: Buffer): number;
  /** The buffer decode() fills (reused for every packet). */
  readonly decoded: Int16Array;
  /** Encodes one 20 ms frame (samplesPerFrame(sampleRate) samples) into an RTP payload. */
  encode(frame: Int16Array): Buffer;
  /** Frees the codec's native state. */
  close(): void;
}

class OpusLegCodec implements LegCodec {
  readonly name = 'opus';
  readonly clockRate = 48000;
  readonly timestampStep = 960;
  readonly decoded = new Int16Array(MAX_DECODED_SAMPLES);
  private readonly encoder: OpusCodec;
  private readonly decoder: OpusCodec;
  private readonly frameSamples: number;
  /** PCM16 LE bytes handed to the encoder, with an Int16Array view over the same memory. */
  private readonly pcmBytes: Buffer;
  private readonly pcmView: Int16Array;

  constructor(readonly sampleRate: LegSampleRate) {
    this.encoder = new OpusCodec(sampleRate);
    this.decoder = new OpusCodec(sampleRate);
    this.frameSamples = samplesPerFrame(sampleRate);
    this.pcmBytes = Buffer.alloc(this.frameSamples * 2);
    this.pcmView = new Int16Array(this.pcmBytes.buffer, this.pcmBytes.byteOffset, this.frameSamples);
  }

  decode(payload: Buffer): number {
    const pcm = this.decoder.decode(payload);
    const n = Math.min(pcm.length >> 1, MAX_DECODED_SAMPLES);
    for (let i = 0; i < n; i++) this.decoded[i] = pcm.readInt16LE(i * 2);
    return n;
  }

  encode(frame: Int16Array): Buffer {
    this.pcmView.set(frame);
    return this.encoder.encode(this.pcmBytes, this.frameSamples);
  }

  close(): void {
    this.encoder.delete();
    this.decoder.delete();
  }
}

class G711LegCodec implements LegCodec {
  readonly clockRate = 8000;
  readonly sampleRate = 8000;
  readonly timestampStep = 160;
  private readonly frame = new Int16Array(160);
  /** Browsers send 20 ms; up to 120 ms per packet is taken, in a second buffer. */
  private readonly long = new Int16Array(960);
  private last: Int16Array = this.frame;
  private readonly payload = Buffer.alloc(160);

  constructor(
    readonly name: 'PCMU' | 'PCMA',
    private readonly decodeLaw: (input: Uint8Array, out: Int16Array) => unknown,
    private readonly encodeLaw: (input: Int16Array, out: Uint8Array) => unknown,
  ) {}

  get decoded(): Int16Array {
    return this.last;
  }

  decode(payload: Buffer): number {
    if (payload.length > this.long.length) return 0;
    // The G.711 tables fill a buffer of exactly the payload's length in place; other lengths would need a view per packet.
    this.last = payload.length === this.frame.length ? this.frame : this.long;
    this.decodeLaw(payload, this.last);
    return payload.length;
  }

  /** Returns the codec's own payload buffer: the sender reads it before encode() is called again. */
  encode(frame: Int16Array): Buffer {
    this.encodeLaw(frame, this.payload);
    return this.payload;
  }

  close(): void {}
}

/** The codec for a negotiated name; Opus at `opusRate` (the configured leg rate). */
export function createLegCodec(name: WebRtcCodecName, opusRate: LegSampleRate): LegCodec {
  switch (name) {
    case 'opus':
      return new OpusLegCodec(opusRate);
    case 'PCMU':
      return new G711LegCodec('PCMU', decodeMuLaw, encodeMuLaw);
    case 'PCMA':
      return new G711LegCodec('PCMA', decodeALaw, encodeALaw);
  }
}
