/**
 * Plivo's dialect of the audio stream (<Stream>): `start`, then a `media` frame every 20 ms and `dtmf`
 * events to the application; for bidirectional streams, `playAudio` is played in real time, a
 * `checkpoint` is acknowledged with `playedStream` once everything before it has played, `clearAudio`
 * is answered with `clearedAudio` (checkpoints behind the cleared audio are dropped), and `sendDTMF`
 * plays digits to the party.
 */
import { randomUUID } from 'node:crypto';
import { decodeMuLaw, encodeMuLaw } from '../media/g711.js';
import { resample } from '../media/resample.js';
import { CarrierStreamClient, type StreamTrack } from './carrier-stream-client.js';
import type { PlivoCall } from './plivo-call.js';
import { plivoSignedHeaders } from './plivo-signature-headers.js';
import { FRAME_SAMPLES_8K } from './simulated-call.js';
import { HEARD_RATE } from './virtual-party.js';

export type { StreamStats } from './carrier-stream-client.js';

export interface StreamFormat {
  encoding: 'audio/x-mulaw' | 'audio/x-l16';
  sampleRate: 8000 | 16000;
}

export const DEFAULT_STREAM_CONTENT_TYPE = 'audio/x-l16;rate=8000';
/** Plivo rejects WebSocket messages over 64 KB. */
const MAX_MESSAGE_BYTES = 64 * 1024;

export class StreamConfigError extends Error {}

/** `audio/x-mulaw;rate=8000`, `audio/x-l16;rate=8000` or `audio/x-l16;rate=16000`. */
export function parseStreamContentType(raw: string): StreamFormat {
  const [type, ...params] = raw.split(';').map((s) => s.trim());
  const rateParam = params.find((p) => p.startsWith('rate='));
  const rate = rateParam ? Number(rateParam.slice(5)) : 8000;
  if (type === 'audio/x-mulaw' && rate === 8000) return { encoding: type, sampleRate: 8000 };
  if (type === 'audio/x-l16' && (rate === 8000 || rate === 16000)) return { encoding: type, sampleRate: rate };
  throw new StreamConfigError(`contentType "${raw}" is not supported by Plivo (expected audio/x-mulaw;rate=8000, audio/x-l16;rate=8000 or audio/x-l16;rate=16000)`);
}

export interface StreamClientOptions {
  url: string;
  format: StreamFormat;
  contentType: string;
  bidirectional: boolean;
  audioTrack: 'inbound' | 'outbound' | 'both';
  extraHeaders?: string;
  streamTimeoutSec: number;
}

export class PlivoStreamClient extends CarrierStreamClient {
  readonly streamId = randomUUID();
  private seq = 0;
  private chunk = 0;
  private readonly mulaw = new Uint8Array(FRAME_SAMPLES_8K);
  /** Plivo repeats the stream's extra headers on start, media and dtmf; `{}` when there are none. */
  private readonly extraHeaders: string;
  /** The same, JSON-encoded once for the media frames built by concatenation. */
  private readonly extraHeadersJson: string;

  constructor(
    private readonly plivoCall: PlivoCall,
    readonly opts: StreamClientOptions,
  ) {
    // The signature covers the http(s) form of the ws(s) URL.
    const httpUrl = opts.url.replace(/^ws(s?):/i, 'http$1:');
    super(plivoCall, {
      url: opts.url,
      headers: plivoSignedHeaders('GET', httpUrl, {}, plivoCall.env.authToken),
      contentType: opts.contentType,
      sampleRate: opts.format.sampleRate,
      tracks: opts.audioTrack === 'both' ? ['inbound', 'outbound'] : [opts.audioTrack],
      bidirectional: opts.bidirectional,
      forwardsKeys: true,
      streamTimeoutSec: opts.streamTimeoutSec,
      maxMessageBytes: MAX_MESSAGE_BYTES,
      carrier: 'Plivo',
    });
    this.extraHeaders = opts.extraHeaders || '{}';
    this.extraHeadersJson = JSON.stringify(this.extraHeaders);
  }

  protected override sendStart(): void {
    const { opts } = this;
    const start: Record<string, unknown> = {
      event: 'start',
      sequenceNumber: ++this.seq,
      start: {
        callId: this.plivoCall.callUuid,
        streamId: this.streamId,
        accountId: this.plivoCall.env.authId,
        tracks: this.config.tracks,
        mediaFormat: { encoding: opts.format.encoding, sampleRate: opts.format.sampleRate },
      },
      extra_headers: this.extraHeaders,
    };
    this.send(JSON.stringify(start));
  }

  protected override sendMedia(track: StreamTrack, pcm: Int16Array, _frameIndex: number, timestamp: number): void {
    let payload: string;
    if (this.opts.format.encoding === 'audio/x-mulaw') {
      const bytes = encodeMuLaw(pcm, this.mulaw);
      payload = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
    } else {
      // L16 is little-endian; Int16Array memory is little-endian on every platform Node supports in practice.
      payload = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).toString('base64');
    }
    this.chunk++;
    this.send(
      `{"event":"media","sequenceNumber":${++this.seq},"streamId":"${this.streamId}","media":{"track":"${track}","timestamp":"${timestamp}","chunk":${this.chunk},"payload":"${payload}"},"extra_headers":${this.extraHeadersJson}}`,
    );
  }

  protected override sendKey(digit: string): void {
    this.send(
      JSON.stringify({
        event: 'dtmf',
        sequenceNumber: ++this.seq,
        streamId: this.streamId,
        dtmf: { track: 'inbound', digit, timestamp: String(this.call.env.clock.now()) },
        extra_headers: this.extraHeaders,
      }),
    );
  }

  private sendEvent(event: Record<string, unknown>): void {
    this.send(JSON.stringify({ ...event, sequenceNumber: ++this.seq, streamId: this.streamId }));
  }

  protected override onMessage(msg: Record<string, unknown>): void {
    switch (msg.event) {
      case 'playAudio':
        return this.onPlayAudio(msg);
      case 'checkpoint':
        return this.onCheckpoint(msg);
      case 'clearAudio':
        return this.onClearAudio();
      case 'sendDTMF':
        return this.onSendDtmf(msg);
      default:
        return this.protocolError(`unknown event ${JSON.stringify(msg.event)}`);
    }
  }

  private onPlayAudio(msg: Record<string, unknown>): void {
    const { format } = this.opts;
    if (!this.queue) return this.protocolError('playAudio on a stream that is not bidirectional: Plivo plays nothing');
    const media = msg.media as Record<string, unknown> | undefined;
    if (!media || typeof media.payload !== 'string') return this.protocolError('playAudio without media.payload');
    const contentType = typeof media.contentType === 'string' ? media.contentType.split(';')[0].trim() : undefined;
    const sampleRate = Number(media.sampleRate);
    if (contentType !== format.encoding || sampleRate !== format.sampleRate) {
      return this.protocolError(
        `playAudio contentType ${String(media.contentType)} sampleRate ${String(media.sampleRate)} does not match the stream's ${format.encoding} ${format.sampleRate}: Plivo plays nothing`,
      );
    }
    const bytes = Buffer.from(media.payload, 'base64');
    let pcm: Int16Array;
    if (format.encoding === 'audio/x-mulaw') {
      pcm = decodeMuLaw(bytes);
    } else {
      if (bytes.length % 2 !== 0) return this.protocolError(`playAudio L16 payload has an odd byte count (${bytes.length})`);
      pcm = new Int16Array(bytes.length / 2);
      for (let i = 0; i < pcm.length; i++) pcm[i] = bytes.readInt16LE(i * 2);
      if (format.sampleRate !== HEARD_RATE) pcm = resample(pcm, format.sampleRate, HEARD_RATE);
    }
    this.playToParty(pcm);
  }

  private onCheckpoint(msg: Record<string, unknown>): void {
    if (!this.queue) return this.protocolError('checkpoint on a stream that is not bidirectional');
    const name = msg.name;
    if (typeof name !== 'string' || !name) return this.protocolError('checkpoint without a name');
    this.markWhenPlayed(name, () => this.sendEvent({ event: 'playedStream', name }));
  }

  private onClearAudio(): void {
    if (!this.queue) return this.protocolError('clearAudio on a stream that is not bidirectional');
    // Checkpoints still queued are dropped with the audio: only clearedAudio answers a clear.
    this.clearPlayout(false);
    this.sendEvent({ event: 'clearedAudio' });
  }

  private onSendDtmf(msg: Record<string, unknown>): void {
    const digits = msg.dtmf;
    if (typeof digits !== 'string' || !/^[0-9*#A-D]+$/.test(digits)) {
      return this.protocolError(`sendDTMF dtmf must be digits 0-9 * # A-D, got ${JSON.stringify(digits)}`);
    }
    this.call.partyHearsDigits(digits, 'stream');
  }
}
