/**
 * A SIP call as a uniform CarrierLeg: its audio is an RTP session (paced playout with marks, jitter
 * buffer, RFC 4733 DTMF), its call control is the SIP dialog (REFER transfer, BYE, DTMF by RTP events
 * or INFO). New offers from the peer (hold, codec change, a moved SBC) re-point the RTP session without
 * the conversation noticing.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../logger.js';
import type { CallEnd, CarrierLeg, LegCapabilities, LegEventMap, LegHangup, LegSampleRate, TransferRequest } from '../leg.js';
import { StreamResampler } from '../../media/resample.js';
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
  logger: Logger;
  /** Releases the RTP ports once the leg is done. */
  onClosed: () => void;
  /** Calls a transfer target and resolves once it answered (bridge transfers); rejects with why it did not. */
  dialTarget: (target: string, headers: Record<string, string>) => Promise<BridgedParty>;
}

/** The far end of a bridged transfer: its call and its audio. */
export interface BridgedParty {
  call: SipCall;
  rtp: RtpSession;
  /** Releases its RTP ports. */
  release(): void;
}

export class SipLeg extends EventEmitter<LegEventMap> implements CarrierLeg {
  readonly callId: string;
  readonly carrier: string;
  readonly sampleRate: LegSampleRate;
  readonly capabilities: LegCapabilities = { transfer: true, bridgeTransfer: true, sendDtmf: true, sendMetadata: true, record: false };
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
      void this.call.hangup(cause, 'media-timeout');
    });
    this.call.on('dtmf', (digit) => this.emit('dtmf', digit));
    this.call.on('ended', (end) => this.finish(end));
    this.call.offerHandler = {
      answer: (offerSdp) => this.reoffer(offerSdp),
      currentOffer: () => this.options.sdp.offer({ codecs: [this.media.codec], direction: this.media.direction }),
      acceptAnswer: (answerSdp) => this.apply(this.options.sdp.acceptAnswer(answerSdp)),
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

  /**
   * Blind: REFER the caller's side to the target; once the target answered (NOTIFY 200), the caller is
   * theirs and we leave the call. Bridge: call the target ourselves and join the two calls' audio,
   * staying in the path until either side hangs up.
   */
  async transfer({ target, headers = {}, mode = 'blind', referredBy }: TransferRequest): Promise<void> {
    if (mode === 'bridge') {
      const party = await this.options.dialTarget(target, headers);
      this.bridge(party, target);
      return;
    }
    const uri = /^(sips?|tel):/i.test(target) ? target : `tel:${target}`;
    await this.call.refer(uri, headers, referredBy);
    const cause = `Transferred to ${target}`;
    this.gatewayEnd = cause;
    this.log.info({ target }, 'SIP call transferred (REFER accepted and answered)');
    // Leave the call once the transfer is reported done, so the conversation ends as transferred, not as a hangup.
    setImmediate(() => void this.call.hangup(cause));
  }

  /** The bot's metadata to the peer as SIP INFO with a JSON body (seed 004, 6.13.2). */
  async sendMetadata(metadata: unknown): Promise<void> {
    const status = await this.call.sendInfo('application/json', Buffer.from(JSON.stringify(metadata ?? {})));
    if (status >= 300) throw new Error(`the SIP peer refused the metadata INFO with ${status}`);
  }

  /**
   * Joins the caller and the transfer target: each side's decoded frames are played to the other
   * (resampled when one is wideband), and the first to hang up ends the other.
   */
  private bridge(party: BridgedParty, target: string): void {
    this.gatewayEnd = `Bridged to ${target}`;
    this.rtp.clear();
    // Frames are reused by their emitters and play() takes ownership, so each hop hands on a copy (push copies, resampling or not).
    const toTarget = new StreamResampler(this.sampleRate, party.rtp.sampleRate);
    const toCaller = new StreamResampler(party.rtp.sampleRate, this.sampleRate);
    this.rtp.on('audio', (frame) => party.rtp.play(toTarget.push(frame)));
    party.rtp.on('audio', (frame) => this.rtp.play(toCaller.push(frame)));
    party.rtp.on('timeout', (silentMs) => void party.call.hangup(`No RTP received for ${Math.round(silentMs / 1000)} s (media timeout)`));
    party.call.on('ended', (end) => {
      party.rtp.close();
      party.release();
      if (!this.ended) void this.call.hangup(`Transfer target hung up (${end.cause})`);
    });
    this.call.on('ended', () => void party.call.hangup('Caller hung up'));
    this.log.info({ target }, 'SIP call bridged to the transfer target');
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
    this.apply(media);
    return answerSdp;
  }

  /** Re-points the RTP session at what the latest offer/answer agreed (codec, address, hold). */
  private apply(media: NegotiatedMedia): void {
    const codec = codecByName(media.codec);
    if (codec && media.codec !== this.media.codec) {
      this.rtp.setCodec({ ...codec, payloadType: media.sendPayloadType ?? media.payloadType }, media.sendTelephoneEventPayloadType ?? media.telephoneEventPayloadType);
    }
    this.rtp.setRemote(media.remote);
    this.rtp.setDirection(media.direction);
    this.log.info({ codec: media.codec, remote: `${media.remote.address}:${media.remote.port}`, direction: media.direction, onHold: media.onHold }, 'SIP media renegotiated');
    this.media = media;
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
