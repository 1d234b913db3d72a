/**
 * Twilio's dialect of the audio stream (Media Streams): `connected`, `start` (with the <Parameter>s as
 * customParameters), a `media` frame every 20 ms, `dtmf` on bidirectional streams only, `mark` echoed
 * once the audio before it has played, and `stop` when Twilio ends the stream. Numeric fields go out as
 * strings, as Twilio sends them. From the application, on a bidirectional (<Connect>) stream: `media`
 * (base64 mu-law 8 kHz, any length), `mark` and `clear` (drops the queued audio and echoes every
 * pending mark at once). Everything is mu-law 8 kHz.
 */
import { decodeMuLaw, encodeMuLaw } from '../../media/g711.js';
import { computeTwilioSignature } from '../../carriers/twilio/signature.js';
import { CarrierStreamClient, type StreamTrack } from '../carrier-stream-client.js';
import { FRAME_SAMPLES_8K } from '../simulated-call.js';
import type { TwilioCall } from './twilio-call.js';
import { newSid } from './twilio-ids.js';

export interface TwilioStreamOptions {
  url: string;
  /** <Connect><Stream>: bidirectional, sends dtmf; <Start><Stream>: listen-only. */
  bidirectional: boolean;
  tracks: readonly StreamTrack[];
  customParameters: Record<string, string>;
  /** The <Stream name>, for <Stop><Stream name>. */
  name?: string;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export class TwilioMediaStreamClient extends CarrierStreamClient {
  /** The streamSid. */
  readonly streamId = newSid('MZ');
  readonly name: string | undefined;
  private sequenceNumber = 0;
  private readonly chunks: Record<StreamTrack, number> = { inbound: 0, outbound: 0 };
  private readonly mulaw = new Uint8Array(FRAME_SAMPLES_8K);

  constructor(
    private readonly twilioCall: TwilioCall,
    readonly streamOptions: TwilioStreamOptions,
  ) {
    super(twilioCall, {
      url: streamOptions.url,
      // Twilio signs the WebSocket URL itself (wss://...), with no parameters.
      headers: { 'X-Twilio-Signature': computeTwilioSignature(twilioCall.env.authToken, streamOptions.url) },
      contentType: 'audio/x-mulaw;rate=8000',
      sampleRate: 8000,
      tracks: streamOptions.tracks,
      bidirectional: streamOptions.bidirectional,
      forwardsKeys: streamOptions.bidirectional,
      carrier: 'Twilio',
    });
    this.name = streamOptions.name;
  }

  private nextSequenceNumber(): string {
    return String(++this.sequenceNumber);
  }

  protected override sendStart(): void {
    const call = this.twilioCall;
    this.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
    this.send(
      JSON.stringify({
        event: 'start',
        sequenceNumber: this.nextSequenceNumber(),
        start: {
          streamSid: this.streamId,
          accountSid: call.env.accountSid,
          callSid: call.callSid,
          tracks: this.config.tracks,
          customParameters: this.streamOptions.customParameters,
          mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        },
        streamSid: this.streamId,
      }),
    );
  }

  protected override sendMedia(track: StreamTrack, pcm: Int16Array, frameIndex: number): void {
    const bytes = encodeMuLaw(pcm, this.mulaw);
    const payload = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
    const chunk = ++this.chunks[track];
    // timestamp: ms since the stream started, on the 20 ms frame grid.
    const timestamp = (frameIndex - this.firstFrame) * 20;
    this.send(
      `{"event":"media","sequenceNumber":"${this.nextSequenceNumber()}","media":{"track":"${track}","chunk":"${chunk}","timestamp":"${timestamp}","payload":"${payload}"},"streamSid":"${this.streamId}"}`,
    );
  }

  protected override sendKey(digit: string): void {
    this.send(JSON.stringify({ event: 'dtmf', streamSid: this.streamId, sequenceNumber: this.nextSequenceNumber(), dtmf: { track: 'inbound_track', digit } }));
  }

  protected override beforeClose(): void {
    const call = this.twilioCall;
    this.send(
      JSON.stringify({ event: 'stop', sequenceNumber: this.nextSequenceNumber(), streamSid: this.streamId, stop: { accountSid: call.env.accountSid, callSid: call.callSid } }),
    );
  }

  protected override onMessage(msg: Record<string, unknown>): void {
    const event = msg.event;
    if (event !== 'media' && event !== 'mark' && event !== 'clear') return this.protocolError(`unknown event ${JSON.stringify(event)} (Twilio accepts media, mark and clear)`);
    if (!this.queue) return this.protocolError(`${event} on a listen-only <Start><Stream>: Twilio plays nothing`);
    if (msg.streamSid !== this.streamId) return this.protocolError(`${event} with streamSid ${JSON.stringify(msg.streamSid)}, not this stream's ${this.streamId}`);
    if (event === 'media') return this.onMedia(msg);
    if (event === 'mark') return this.onMark(msg);
    // Every mark still queued is echoed at once, as Twilio does on clear.
    this.clearPlayout(true);
  }

  private onMedia(msg: Record<string, unknown>): void {
    const media = msg.media as Record<string, unknown> | undefined;
    const payload = media?.payload;
    if (typeof payload !== 'string' || payload.length === 0) return this.protocolError('media without media.payload');
    if (!BASE64.test(payload)) return this.protocolError('media.payload is not base64 (Twilio expects base64 mu-law 8 kHz audio)');
    this.playToParty(decodeMuLaw(Buffer.from(payload, 'base64')));
  }

  private onMark(msg: Record<string, unknown>): void {
    const name = (msg.mark as Record<string, unknown> | undefined)?.name;
    if (typeof name !== 'string' || !name) return this.protocolError('mark without mark.name');
    this.markWhenPlayed(name, () =>
      this.send(JSON.stringify({ event: 'mark', sequenceNumber: this.nextSequenceNumber(), streamSid: this.streamId, mark: { name } })),
    );
  }
}
