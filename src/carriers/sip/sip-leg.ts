/**
 * A SIP call as a uniform CarrierLeg: its audio is an RTP session (paced playout with marks, jitter
 * buffer, RFC 4733 DTMF), its call control is the SIP dialog (REFER transfer, BYE, DTMF by RTP events
 * or INFO). New offers from the peer (hold, codec change, a moved SBC) re-point the RTP session without
 * the conversation noticing.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../logger.js';
import type { CallEnd, CarrierLeg, LegCapabilities, LegEventMap, LegHangup, LegSampleRate } from '../leg.js';
import type { SipCall, SipCallEnd } from './call/sip-call.js';
import type { RtpSession } from './rtp/rtp-session.js';
import { codecByName } from './rtp/rtp-codec.js';
import type { CodecName, LocalSdpSession, NegotiatedMedia } from './sdp/sdp-negotiation.js';

export interface SipLegOptions {
  callId: string;
  carrier: string;
  call: SipCall;
  rtp: RtpSession;
  sdp: LocalSdpSession;
  media: NegotiatedMedia;
  /** Codecs we accept, in our order; a re-offer may only switch among those of the same sample rate. */
  codecs: readonly CodecName[];
  /** Seconds without RTP before the call is ended (0: never); named in the hangup cause. */
  rtpTimeoutSec: number;
  logger: Logger;
  /** Releases the RTP ports once the leg is done. */
  onClosed: () => void;
}

export class SipLeg extends EventEmitter<LegEventMap> implements CarrierLeg {
  readonly callId: string;
  readonly carrier: string;
  readonly sampleRate: LegSampleRate;
  readonly capabilities: LegCapabilities = { transfer: true, sendDtmf: true, record: false };
  private readonly call: SipCall;
  private readonly rtp: RtpSession;
  private readonly log: Logger;
  private media: NegotiatedMedia;
  private ended = false;
  private gatewayEnd?: string;

  constructor(private readonly options: SipLegOptions) {
    super();
    this.callId = options.callId;
    this.carrier = options.carrier;
    this.call = options.call;
    this.rtp = options.rtp;
    this.media = options.media;
    this.sampleRate = options.rtp.sampleRate;
    this.log = options.logger;

    this.rtp.on('audio', (frame) => this.emit('audio', frame));
    this.rtp.on('dtmf', (digit) => this.emit('dtmf', digit));
    this.rtp.on('mark', (name) => this.emit('mark', name));
    this.rtp.on('cleared', () => this.emit('cleared'));
    this.rtp.on('warning', (message) => this.emit('warning', message));
    this.rtp.on('timeout', (silentMs) => {
      const cause = `No RTP received for ${Math.round(silentMs / 1000)} s (media timeout)`;
      this.log.warn({ silentMs }, `SIP call ended: ${cause}`);
      this.gatewayEnd = cause;
      void this.call.hangup(cause);
    });
    this.call.on('dtmf', (digit) => this.emit('dtmf', digit));
    this.call.on('ended', (end) => this.finish(end));
    this.call.offerHandler = {
      answer: (offerSdp) => this.reoffer(offerSdp),
      currentOffer: () => this.options.sdp.offer({ codecs: [this.media.codec], direction: this.media.direction }),
    };
  }

  play(samples: Int16Array): void {
    if (!this.ended) this.rtp.play(samples);
  }

  mark(name: string): void {
    if (!this.ended) this.rtp.mark(name);
  }

  clear(): void {
    if (!this.ended) this.rtp.clear();
  }

  /** RFC 4733 events when the peer takes them, otherwise one INFO per digit. */
  sendDtmf(digits: string): void {
    if (!/^[0-9*#A-D]*$/i.test(digits)) throw new Error(`cannot send DTMF "${digits}": only 0-9 * # A-D are keys`);
    if (this.ended) return;
    if (this.media.telephoneEventPayloadType !== undefined) {
      this.rtp.sendDtmf(digits.toUpperCase());
      return;
    }
    void (async () => {
      for (const digit of digits.toUpperCase()) {
        await this.call.sendInfo('application/dtmf-relay', Buffer.from(`Signal=${digit}\r\nDuration=160\r\n`));
      }
    })().catch((err: unknown) => this.log.warn({ err, digits }, 'SIP INFO DTMF not delivered'));
  }

  /** Blind transfer by REFER: once the target answered, the caller is theirs and we leave the call. */
  async transfer(target: string, headers?: Record<string, string>): Promise<void> {
    const uri = /^(sips?|tel):/i.test(target) ? target : `tel:${target}`;
    await this.call.refer(uri, headers);
    this.gatewayEnd = `Transferred to ${target}`;
    this.log.info({ target }, 'SIP call transferred (REFER accepted and answered)');
    await this.call.hangup(this.gatewayEnd);
  }

  async hangup(reason: string): Promise<void> {
    if (this.ended) return;
    this.gatewayEnd ??= reason;
    await this.call.hangup(reason);
  }

  endFromCarrier(end: CallEnd): void {
    this.finish({ cause: end.cause, side: end.side });
    void this.call.hangup(end.cause);
  }

  /** Whether the leg is still up. */
  get active(): boolean {
    return !this.ended;
  }

  get rtpStats(): RtpSession['stats'] {
    return this.rtp.stats;
  }

  private reoffer(offerSdp: string): string {
    const sameRate = this.options.codecs.filter((name) => codecByName(name)?.sampleRate === this.sampleRate);
    const current = this.media.codec;
    const codecs = [current, ...sameRate.filter((c) => c !== current)];
    const { answerSdp, media } = this.options.sdp.answer(offerSdp, { codecs });
    const codec = codecByName(media.codec);
    if (codec && media.codec !== this.media.codec) this.rtp.setCodec({ ...codec, payloadType: media.payloadType }, media.telephoneEventPayloadType);
    this.rtp.setRemote(media.remote);
    this.rtp.setDirection(media.direction);
    this.log.info({ codec: media.codec, remote: `${media.remote.address}:${media.remote.port}`, direction: media.direction, onHold: media.onHold }, 'SIP media renegotiated');
    this.media = media;
    return answerSdp;
  }

  private finish(end: SipCallEnd | LegHangup): void {
    if (this.ended) return;
    this.ended = true;
    this.rtp.close();
    this.options.onClosed();
    const info: LegHangup = this.gatewayEnd !== undefined && end.side === 'gateway' ? { cause: this.gatewayEnd, side: 'gateway' } : { cause: end.cause, side: end.side };
    this.emit('hangup', info);
  }
}
