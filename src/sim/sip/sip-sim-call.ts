/**
 * One simulated SIP call, in either direction, built from Voxgate's own SIP parts: a virtual caller
 * dialing Voxgate is a UAC (SipOutgoingCall: INVITE with a PCMU/PCMA offer, CANCEL, ACK, BYE), a
 * virtual callee answering Voxgate is a UAS (SipCall: 180, 200 with the SDP answer, 486/603/480/404,
 * 487 on CANCEL, BYE). Both answer the other side's BYE and INFO. Once answered, the call's audio is
 * RTP (SipCallMedia) on the simulator's 20 ms ticker; the party, its script and the timeline are the
 * carrier-neutral SimulatedCall's, as for the Plivo and Twilio simulators.
 */
import { setTimeout as wallClockDelay } from 'node:timers/promises';
import type { SipCallEnd } from '../../carriers/sip/call/sip-call.js';
import { SipCall, type SipCallOptions } from '../../carriers/sip/call/sip-call.js';
import { SipOutgoingCall } from '../../carriers/sip/outbound/sip-outgoing-call.js';
import type { RtpPacer } from '../../carriers/rtp-media/rtp-pacer.js';
import type { RtpPortPair, RtpPortPool } from '../../carriers/sip/rtp/rtp-port-pool.js';
import type { RtpSessionStats } from '../../carriers/sip/rtp/rtp-session.js';
import { LocalSdpSession, SdpNegotiationError, type CodecName, type NegotiatedMedia } from '../../carriers/sip/sdp/sdp-negotiation.js';
import type { SipUserAgent } from '../../carriers/sip/sip-user-agent.js';
import type { ServerTransaction } from '../../carriers/sip/transaction/transactions.js';
import type { SipEndpoint, SipTransportName } from '../../carriers/sip/transport/sip-transport.js';
import { SimulatedCall, type SimEnvironment } from '../simulated-call.js';
import { calleeResponse, REFUSAL_MS, type PartyScript } from '../virtual-party.js';
import { SipCallMedia } from './sip-call-media.js';

/** What a SIP call needs from the simulator that owns it. */
export interface SipSimEnvironment extends SimEnvironment {
  ua: SipUserAgent;
  ports: RtpPortPool;
  pacer: RtpPacer;
  /** The address in our Contact, Via and SDP. */
  address: string;
  /** The codecs offered (as a caller) and accepted (as a callee), in preference order. */
  codecs: CodecName[];
  /** Our Contact URI for a call over `transport`. */
  contact(transport: SipTransportName): string;
  /** The simulator adds a finished call's RTP counters to its totals. */
  mediaClosed(stats: RtpSessionStats): void;
}

/** The virtual party's role: `caller` dials Voxgate (an inbound call for Voxgate), `callee` answers Voxgate's call. */
export type SipPartyRole = 'caller' | 'callee';

export type SipFinalStatus = 'completed' | 'busy' | 'declined' | 'no-answer' | 'canceled' | 'failed';
export type SipCallStatus = 'queued' | 'calling' | 'ringing' | 'in-progress' | SipFinalStatus;
/** Who ended the call: the virtual party, Voxgate, the simulator closing, or the network (a SIP timeout). */
export type SipEndedBy = 'party' | 'voxgate' | 'simulator' | 'network';

export interface SipSimCallResult {
  status: SipFinalStatus;
  /** 200 for an answered call; otherwise the final response that ended it (486, 603, 480, 404, 487, 408...). */
  sipStatus: number;
  endedBy: SipEndedBy;
  /** What ended the call, e.g. "Voxgate hung up (BYE)". */
  reason: string;
  durationSec: number;
  /** The codec the call's RTP used (answered calls). */
  codec?: CodecName;
  /** RTP counters of the party's side (answered calls): packets sent, received, lost, jitter. */
  rtp?: RtpSessionStats;
  /** What the party heard, 8 kHz PCM16 from answer to hangup. */
  heard: Int16Array;
}

interface SipEnding {
  status: SipFinalStatus;
  sipStatus: number;
  endedBy: SipEndedBy;
  reason: string;
}

export interface SipSimCallOptions {
  role: SipPartyRole;
  /** The SIP Call-ID: Voxgate's INVITE's (callee), or the one our INVITE will carry (caller). */
  sipCallId: string;
  from: string;
  to: string;
  script: PartyScript;
  callerName?: string;
}

/** Session timers the simulated phones ask for (RFC 4028): long enough never to matter in a simulated call. */
const SESSION_EXPIRES_SEC = 1800;
/** How long close() waits for a BYE (or CANCEL) to be answered before it stops waiting. */
const CLOSE_WAIT_MS = 2000;

export class SipSimCall extends SimulatedCall<SipSimEnvironment, SipSimCallResult> {
  readonly role: SipPartyRole;
  /** The SIP Call-ID, which Voxgate records as the call's carrier id. */
  readonly sipCallId: string;
  readonly callerName: string | undefined;
  status: SipCallStatus = 'queued';
  /** The RTP side once answered. */
  media: SipCallMedia | undefined;
  /** The signalling: SipOutgoingCall (caller) or SipCall answering Voxgate's INVITE (callee). */
  sip: SipCall | undefined;
  /** How the call ended (or is ending); undefined while it runs. */
  ending: SipEnding | undefined;
  /** Resolves once RTP flows (the call was answered); never, for a call that is not. */
  readonly mediaStarted: Promise<SipCallMedia>;
  private resolveMedia!: (media: SipCallMedia) => void;

  private ports: RtpPortPair | undefined;
  private sdp: LocalSdpSession | undefined;
  private negotiated: NegotiatedMedia | undefined;
  private rtpStats: RtpSessionStats | undefined;
  private settled = false;

  constructor(env: SipSimEnvironment, opts: SipSimCallOptions) {
    super(env, { from: opts.from, to: opts.to, script: opts.script, logContext: { sipCallId: opts.sipCallId } });
    this.role = opts.role;
    this.sipCallId = opts.sipCallId;
    this.callerName = opts.callerName;
    this.mediaStarted = new Promise((resolve) => (this.resolveMedia = resolve));
    // RTP carries its silence: pauses inside a prompt do not end what the party hears.
    this.heardPauseBridgeMs = 500;
  }

  protected override onPartyHangup(): void {
    void this.hangUp('party', `the ${this.role} hung up`);
  }

  protected override endOnMediaFailure(): void {
    void this.hangUp('simulator', 'the simulated media failed');
  }

  // ---- caller: the party dials Voxgate ----

  /** Sends the INVITE to `target` (a SIP URI naming the number, e.g. sip:+14155550100@127.0.0.1:5060) at `destination`. */
  async startCaller(target: string, destination: SipEndpoint, ringTimeoutMs: number): Promise<void> {
    this.status = 'calling';
    await this.loadParty();
    if (!(await this.bindMedia()) || this.ending) return;
    const offerSdp = this.sdp!.offer({ codecs: this.env.codecs });
    const call = new SipOutgoingCall(this.sipOptions(destination.transport), {
      target,
      from: `sip:${this.from}@${this.env.address}`,
      ...(this.callerName ? { callerDisplayName: this.callerName } : {}),
      destination,
      offerSdp,
      ringTimeoutMs,
    });
    // The Call-ID the simulator tracks the call by (Voxgate records it as the carrier id).
    call.invite.headers.set('Call-ID', this.sipCallId);
    this.sip = call;
    call.onRinging = () => this.ringing();
    call.onAnswered = (answerSdp) => this.voxgateAnswered(answerSdp);
    this.listen(call);
    call.start();
  }

  private voxgateAnswered(answerSdp: string): void {
    if (this.ending) return;
    try {
      this.negotiated = this.sdp!.acceptAnswer(answerSdp);
    } catch (err) {
      this.warn(`Voxgate's SDP answer cannot be used: ${(err as Error).message}`);
      void this.hangUp('party', 'unusable SDP answer', 'failed', err instanceof SdpNegotiationError ? err.status : 488);
      return;
    }
    this.answered();
  }

  // ---- callee: Voxgate's INVITE reached the party ----

  /** Answers Voxgate's INVITE as the party's script says: refuse, ring, decline, never answer, or answer. */
  async startCallee(transaction: ServerTransaction, calleeKnown: boolean): Promise<void> {
    const call = new SipCall(this.sipOptions(transaction.source.transport), { transaction });
    this.sip = call;
    this.listen(call);
    if (!calleeKnown) {
      this.ending = { status: 'failed', sipStatus: 404, endedBy: 'simulator', reason: `no virtual party answers ${this.to}` };
      call.reject(404, 'Not Found');
      return;
    }
    const response = calleeResponse(this.party.script);
    if (response.kind === 'busy' || response.kind === 'unreachable') {
      const [status, reason] = response.kind === 'busy' ? [486, 'Busy Here'] : [480, 'Temporarily Unavailable'];
      this.timers.push(this.env.clock.setTimeout(() => call.reject(status, reason), REFUSAL_MS));
      return;
    }
    await this.loadParty();
    if (this.ending || call.state !== 'offered') return;
    call.progress(180);
    this.ringing();
    if (response.kind === 'never-answers') return;
    const respond = response.kind === 'declines' ? () => call.reject(603, 'Decline') : () => void this.answerInvite(call);
    this.timers.push(this.env.clock.setTimeout(respond, response.afterMs));
  }

  private async answerInvite(call: SipCall): Promise<void> {
    const invite = call.invite;
    if (invite.body.length === 0) {
      call.reject(488, 'Not Acceptable Here', [['Warning', '399 simulator "an INVITE without SDP (delayed offer) is not supported"']]);
      return;
    }
    if (!(await this.bindMedia()) || this.ending || call.state !== 'offered') return;
    let answerSdp: string;
    try {
      ({ answerSdp, media: this.negotiated } = this.sdp!.answer(invite.body.toString('utf8'), { codecs: this.env.codecs }));
    } catch (err) {
      const status = err instanceof SdpNegotiationError ? err.status : 400;
      this.warn(`Voxgate's SDP offer cannot be answered: ${(err as Error).message}`);
      call.reject(status, status === 488 ? 'Not Acceptable Here' : 'Bad Request');
      return;
    }
    call.accept(answerSdp);
    this.answered();
  }

  // ---- both ----

  private ringing(): void {
    if (this.ending || this.status === 'ringing') return;
    this.state = 'ringing';
    this.status = 'ringing';
    this.record({ type: 'ringing', to: this.to });
  }

  /** The call is up: the party's script clock starts, then RTP flows (after the call's own tick, so a spoken frame leaves on its tick). */
  private answered(): void {
    this.cancelTimers();
    this.status = 'in-progress';
    this.markAnswered();
    const ports = this.ports;
    if (!ports) return;
    this.media = new SipCallMedia({
      call: this,
      rtp: ports.rtp,
      rtcp: ports.rtcp,
      negotiated: this.negotiated!,
      pacer: this.env.pacer,
      clock: this.env.clock,
      logger: this.logger,
    });
    this.addKeyListener((digit) => this.sendKey(digit));
    // Later offers from Voxgate (hold, a session refresh) are answered, and ours refresh the session.
    const sdp = this.sdp!;
    const media = this.media;
    this.sip!.offerHandler = {
      answer: (offerSdp) => {
        const { answerSdp, media: negotiated } = sdp.answer(offerSdp, { codecs: this.env.codecs });
        this.negotiated = negotiated;
        media.renegotiated(negotiated);
        return answerSdp;
      },
      currentOffer: () => sdp.offer({ codecs: [this.negotiated!.codec, ...this.env.codecs.filter((c) => c !== this.negotiated!.codec)] }),
    };
    this.resolveMedia(media);
  }

  /** The party's key: an RFC 4733 event, or SIP INFO (application/dtmf-relay) when the SDP has no telephone-event. */
  private sendKey(digit: string): boolean {
    if (this.ending) return false;
    if (this.media?.sendDigit(digit)) return true;
    const sip = this.sip;
    if (!sip || sip.state !== 'confirmed') return false;
    sip.sendInfo('application/dtmf-relay', Buffer.from(`Signal=${digit}\r\nDuration=160\r\n`)).catch((err: unknown) => this.warn(`INFO with key ${digit} not delivered: ${(err as Error).message}`));
    return true;
  }

  /**
   * Hangs up (idempotent): BYE once answered, CANCEL while a call we placed rings, 480 while Voxgate's
   * INVITE is still ringing here. Media stops at once; `ended` resolves once the signalling is done.
   */
  async hangUp(endedBy: SipEndedBy, reason: string, status?: SipFinalStatus, sipStatus?: number): Promise<void> {
    if (this.ending) return;
    const answered = this.answeredAt !== undefined;
    this.ending = {
      status: status ?? (answered ? 'completed' : 'canceled'),
      sipStatus: sipStatus ?? (answered ? 200 : 487),
      endedBy,
      reason,
    };
    this.stopMedia();
    const sip = this.sip;
    if (!sip || sip.state === 'ended') {
      await this.settleOnce();
      return;
    }
    await sip.hangup(reason);
  }

  /** Ends the call as the simulator closes: hangs up and waits (at most 2 s of wall time) for the signalling. */
  async closeFromSimulator(): Promise<void> {
    void this.hangUp('simulator', 'the simulator closed');
    await Promise.race([this.ended, wallClockDelay(CLOSE_WAIT_MS, undefined, { ref: false })]);
    await this.settleOnce();
  }

  private listen(call: SipCall): void {
    call.on('dtmf', (digit) => this.partyHearsDigits(digit, 'sip-info'));
    call.once('ended', (end) => {
      this.ending ??= this.endingOf(end);
      void this.settleOnce();
    });
  }

  /** How a call the party did not hang up ended, from what the SIP layer saw. */
  private endingOf(end: SipCallEnd): SipEnding {
    const answered = this.answeredAt !== undefined;
    // SipCall speaks from its own side: 'gateway' is this end, 'caller' the peer that sent BYE or CANCEL, 'carrier' a failure response.
    if (answered) {
      if (end.side === 'gateway') return { status: 'completed', sipStatus: 200, endedBy: 'network', reason: end.cause };
      return { status: 'completed', sipStatus: 200, endedBy: 'voxgate', reason: 'Voxgate hung up (BYE)' };
    }
    const status = end.status ?? 487;
    if (this.role === 'callee') {
      if (end.side === 'caller') return { status: 'canceled', sipStatus: 487, endedBy: 'voxgate', reason: 'Voxgate cancelled the call before it was answered' };
      return { status: finalStatusOf(status), sipStatus: status, endedBy: 'party', reason: end.cause };
    }
    if (end.side === 'gateway') {
      // We cancelled: the party's patience (ring timeout) ran out.
      return { status: 'no-answer', sipStatus: status, endedBy: 'party', reason: end.cause };
    }
    return { status: finalStatusOf(status), sipStatus: status, endedBy: status === 408 ? 'network' : 'voxgate', reason: `Voxgate answered ${end.cause}` };
  }

  private async settleOnce(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    this.stopMedia();
    const ending = this.ending!;
    this.status = ending.status;
    this.record({ type: 'hangup', cause: ending.reason, causeCode: ending.sipStatus, source: ending.endedBy });
    const answered = this.answeredAt !== undefined;
    await this.settle({
      ...ending,
      durationSec: answered ? Math.round((this.endedAt! - this.answeredAt!) / 1000) : 0,
      ...(this.negotiated && answered ? { codec: this.negotiated.codec } : {}),
      ...(this.rtpStats ? { rtp: this.rtpStats } : {}),
      heard: this.party.heard,
    });
  }

  /** Stops the party and the audio and gives the RTP ports back (idempotent); signalling goes on until the call ends. */
  private stopMedia(): void {
    if (!this.isEnded) this.stopEverything();
    if (this.media && !this.rtpStats) {
      this.rtpStats = this.media.close();
      this.env.mediaClosed(this.rtpStats);
    }
    const ports = this.ports;
    if (!ports) return;
    this.ports = undefined;
    if (!this.media) {
      for (const socket of [ports.rtp, ports.rtcp]) {
        try {
          socket.close();
        } catch {
          // already closed
        }
      }
    }
    this.env.ports.release(ports.port);
  }

  /** Binds the call's RTP port pair; false (the call ended as failed) when none is free. */
  private async bindMedia(): Promise<boolean> {
    try {
      this.ports = await this.env.ports.allocate();
    } catch (err) {
      this.warn(`no RTP port for the call: ${(err as Error).message}`);
      if (this.sip?.state === 'offered' && this.role === 'callee') {
        this.ending = { status: 'failed', sipStatus: 503, endedBy: 'simulator', reason: 'no RTP port' };
        this.sip.reject(503, 'Service Unavailable (no media ports)');
      } else {
        void this.hangUp('simulator', 'no RTP port', 'failed', 503);
      }
      return false;
    }
    if (this.ending) {
      this.stopMedia();
      return false;
    }
    this.sdp = new LocalSdpSession(this.env.address, this.ports.port);
    return true;
  }

  private sipOptions(transport: SipTransportName): SipCallOptions {
    return {
      ua: this.env.ua,
      clock: this.env.clock,
      logger: this.logger,
      contact: this.env.contact(transport),
      sessionExpiresSec: SESSION_EXPIRES_SEC,
      referTimeoutMs: 30_000,
    };
  }
}

/** The final status an unanswered call's SIP response means. */
function finalStatusOf(sipStatus: number): SipFinalStatus {
  switch (sipStatus) {
    case 486:
    case 600:
      return 'busy';
    case 603:
    case 607:
    case 608:
      return 'declined';
    case 487:
      return 'no-answer';
    default:
      return 'failed';
  }
}
