/**
 * One SIP call's signalling, from the INVITE to the last BYE: answering (provisional, 200 with the SDP
 * answer retransmitted until the ACK, BYE when none comes), the dialog's requests both ways (BYE,
 * re-INVITE and UPDATE offers, INFO DTMF and metadata, REFER with its NOTIFY progress, OPTIONS),
 * session timers (RFC 4028) and CANCEL. Media lives in the leg; this class only tells it what SDP says.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../../logger.js';
import type { Clock, TimerHandle } from '../../../runtime/clock.js';
import type { HangupSide } from '../../../events/call-events.js';
import type { SipRequest, SipResponse } from '../message/sip-message.js';
import { buildResponse } from '../message/responses.js';
import { newTag, parseNameAddr } from '../message/headers.js';
import type { SipEndpoint } from '../transport/sip-transport.js';
import { T1, T2, type ServerTransaction } from '../transaction/transactions.js';
import { SipDialog } from '../dialog/sip-dialog.js';
import { capabilityHeaders, type SipDialogUser, type SipUserAgent } from '../sip-user-agent.js';
import { parseDtmfInfo } from './dtmf-info.js';
import { negotiateSessionTimer, type SessionTimer } from './session-timer.js';

export interface SipCallEnd {
  cause: string;
  side: HangupSide;
  /** The SIP status that ended it, when one did (487 cancelled, 408 no ACK...). */
  status?: number;
  /** The call's own watchdog ended it: no RTP, or the session timer ran out. */
  reason?: 'media-timeout' | 'session-timeout';
}

export interface SipCallEvents {
  /** The peer acknowledged our 200 (UAS) or answered (UAC): the call is up. */
  confirmed: [];
  /** The call is over; emitted once. */
  ended: [end: SipCallEnd];
  /** A key pressed, carried by SIP INFO (application/dtmf-relay or application/dtmf). */
  dtmf: [digit: string];
  /** Any other INFO body (metadata from the peer), already answered 200. */
  info: [contentType: string, body: Buffer];
}

/** What the media side answers when the peer makes a new offer (re-INVITE, UPDATE); throw SdpNegotiationError-like errors with a `status` to refuse. */
export interface SipOfferHandler {
  answer(offerSdp: string): string;
  /** Our current SDP, re-offered in a session refresh re-INVITE, or as the offer in the 200 to a re-INVITE without SDP. */
  currentOffer(): string;
  /**
   * The peer's answer, carried by its ACK, to the offer we put in a 200 (a re-INVITE without SDP).
   * Without it the answer goes to `answer` as if it were an offer, which re-points the media but makes
   * an answer to an answer, which RFC 3264 has no place for.
   */
  acceptAnswer?(answerSdp: string): void;
}

export interface SipCallOptions {
  ua: SipUserAgent;
  clock: Clock;
  logger: Logger;
  /** Our Contact URI for this call. */
  contact: string;
  /** Session-Expires we ask for when the peer supports timers; RFC 4028's Min-SE floor is 90 s. */
  sessionExpiresSec: number;
  /** How long a REFER may wait for its final NOTIFY. */
  referTimeoutMs: number;
}

type CallState = 'offered' | 'answering' | 'confirmed' | 'ending' | 'ended';

export class SipCall extends EventEmitter<SipCallEvents> implements SipDialogUser {
  state: CallState = 'offered';
  dialog?: SipDialog;
  /** The INVITE that started the call: the peer's (answering) or ours (calling out). */
  readonly invite: SipRequest;
  /** Where the INVITE came from (answering), or where ours went (calling out). */
  readonly source: SipEndpoint;
  offerHandler?: SipOfferHandler;
  protected readonly log: Logger;
  protected readonly localTag: string;
  /** The peer's Allow header, to choose UPDATE or re-INVITE for session refreshes. */
  protected peerAllow = '';
  private readonly transaction?: ServerTransaction;
  private okResponse?: SipResponse;
  private okRetransmit?: TimerHandle;
  /**
   * The 2xx (to the INVITE or a re-INVITE) waiting for its ACK: its CSeq number, and whether that 2xx
   * carried our offer (a re-INVITE without SDP), so the ACK carries the answer. Any other ACK, however
   * well addressed, acknowledges nothing and its body is not SDP we asked for.
   */
  private pendingAck?: { cseq: number; answerInAck: boolean };
  private ackWait?: TimerHandle;
  protected sessionTimer?: SessionTimer;
  private sessionTimerHandle?: TimerHandle;
  private pendingRefer?: { resolve: () => void; reject: (err: Error) => void; timer: TimerHandle };
  /** Hangups waiting for the ACK of our 200 before they may send the BYE. */
  private ackWaiters: (() => void)[] = [];

  /** Answering: `start` is the peer's INVITE transaction. Calling out (a subclass): our INVITE and where it goes. */
  constructor(
    protected readonly options: SipCallOptions,
    start: { transaction: ServerTransaction } | { invite: SipRequest; destination: SipEndpoint; localTag: string },
  ) {
    super();
    this.log = options.logger;
    if ('transaction' in start) {
      this.transaction = start.transaction;
      this.invite = start.transaction.request;
      this.source = start.transaction.source;
      this.localTag = newTag();
      this.peerAllow = this.invite.headers.getAll('allow').join(',').toUpperCase();
      options.ua.registerPending(start.transaction, this);
    } else {
      this.invite = start.invite;
      this.source = start.destination;
      this.localTag = start.localTag;
    }
  }

  get callId(): string {
    return this.invite.headers.get('call-id') ?? '';
  }

  /** 180 Ringing (or 183 with early media SDP). */
  progress(status: 180 | 183 = 180, sdp?: string): void {
    if (this.state !== 'offered' || !this.transaction) return;
    this.transaction.respond(this.response(status, sdp));
  }

  /** Refuses the call (busy 486, declined 603, no route 404, no codec 488...). */
  reject(status: number, reason?: string, headers: [string, string][] = []): void {
    if (this.state !== 'offered' || !this.transaction) return;
    this.transaction.respond(buildResponse(this.invite, status, { reason, toTag: this.localTag, headers }));
    this.options.ua.unregisterPending(this.transaction);
    this.finish({ cause: reason ?? `Refused with ${status}`, side: 'gateway', status });
  }

  /**
   * Answers with our SDP: the dialog starts now; the 200 is retransmitted (T1 doubling to T2) until the
   * ACK, and after 64*T1 without one the call is ended with a BYE, as RFC 3261 13.3.1.4 says.
   */
  accept(answerSdp: string): void {
    if (this.state !== 'offered' || !this.transaction) return;
    this.state = 'answering';
    this.options.ua.unregisterPending(this.transaction);
    this.dialog = SipDialog.fromInvite(this.invite, this.source, this.localTag, this.options.contact, this.options.ua.transport);
    this.options.ua.registerDialog(this.dialog.key, this);
    this.sessionTimer = negotiateSessionTimer(this.invite, this.options.sessionExpiresSec);
    const extra: [string, string][] = this.sessionTimer ? this.sessionTimer.responseHeaders : [];
    this.okResponse = this.response(200, answerSdp, extra);
    this.pendingAck = { cseq: cseqOf(this.invite), answerInAck: false };
    this.transaction.respond(this.okResponse);
    this.retransmitUntilAck(this.okResponse, () => {
      this.log.warn({ sipCallId: this.callId }, 'SIP peer never acknowledged the 200 OK; ending the call');
      void this.bye('No ACK for 200 OK', 408);
      this.releaseAckWaiters();
    });
  }

  /** Ends the call from our side: BYE once up, 480 while still offered (a call we place is cancelled instead). */
  async hangup(reason: string, endReason?: SipCallEnd['reason']): Promise<void> {
    if (this.state === 'offered' && !this.transaction) {
      this.cancelOutgoing(reason);
      return;
    }
    if (this.state === 'offered') {
      this.reject(480, 'Temporarily Unavailable');
      this.finish({ cause: reason, side: 'gateway' });
      return;
    }
    if (this.state === 'answering') {
      // RFC 3261 15: no BYE before the ACK of our 2xx, or before we stop waiting for it (64*T1).
      await new Promise<void>((resolve) => this.ackWaiters.push(resolve));
    }
    if (this.state === 'answering' || this.state === 'confirmed') await this.bye(reason, undefined, endReason);
  }

  /**
   * Blind transfer (RFC 3515): REFER the peer to `target`; resolves when the NOTIFY says the target
   * answered (the caller is then the target's, and we hang up), rejects with what went wrong otherwise.
   */
  refer(target: string, headers: Record<string, string> = {}, referredBy?: string): Promise<void> {
    const dialog = this.dialog;
    if (this.state !== 'confirmed' || !dialog) return Promise.reject(new Error(`cannot transfer: the call is ${this.state}`));
    if (this.pendingRefer) return Promise.reject(new Error('a transfer is already in progress'));
    const extra: [string, string][] = [
      ['Refer-To', target.startsWith('<') ? target : `<${target}>`],
      ['Referred-By', referredBy ? (referredBy.startsWith('<') ? referredBy : `<${referredBy}>`) : dialog.state.localParty],
      ...Object.entries(headers),
    ];
    const request = dialog.createRequest('REFER', { headers: extra });
    return new Promise<void>((resolve, reject) => {
      const timer = this.options.clock.setTimeout(() => {
        this.pendingRefer = undefined;
        reject(new Error(`transfer to ${target}: no final NOTIFY within ${Math.round(this.options.referTimeoutMs / 1000)} s`));
      }, this.options.referTimeoutMs);
      this.pendingRefer = { resolve, reject, timer };
      const fail = (message: string) => {
        timer.cancel();
        this.pendingRefer = undefined;
        reject(new Error(message));
      };
      this.options.ua.transactions.request(request, dialog.destination(request), {
        onFinal: (response) => {
          if (response.status >= 300) fail(`transfer to ${target} refused by the peer: ${response.status} ${response.reason}`);
        },
        onTimeout: () => fail(`transfer to ${target}: the peer did not answer the REFER`),
      });
    });
  }

  /** Sends an INFO in the dialog (metadata to the peer); resolves with the peer's status. */
  sendInfo(contentType: string, body: Buffer): Promise<number> {
    const dialog = this.dialog;
    if (this.state !== 'confirmed' || !dialog) return Promise.reject(new Error(`cannot send INFO: the call is ${this.state}`));
    const request = dialog.createRequest('INFO', { body, contentType });
    return new Promise((resolve, reject) => {
      this.options.ua.transactions.request(request, dialog.destination(request), {
        onFinal: (response) => resolve(response.status),
        onTimeout: () => reject(new Error('the peer did not answer the INFO')),
      });
    });
  }

  /** Calling out: give up before the answer (a subclass sends the CANCEL). */
  protected cancelOutgoing(reason: string): void {
    this.finish({ cause: reason, side: 'gateway' });
  }

  onCancel(): void {
    if (this.state !== 'offered' || !this.transaction) return;
    this.transaction.respond(buildResponse(this.invite, 487, { toTag: this.localTag }));
    this.options.ua.unregisterPending(this.transaction);
    this.finish({ cause: 'Caller cancelled', side: 'caller', status: 487 });
  }

  onDialogRequest(request: SipRequest, _source: SipEndpoint, transaction: ServerTransaction | undefined): void {
    const dialog = this.dialog;
    if (!dialog) return;
    if (request.method === 'ACK') {
      this.onAck(request);
      return;
    }
    if (!transaction) return;
    if (!dialog.acceptRemoteSeq(request)) {
      transaction.reply(500, { reason: 'Server Internal Error (CSeq out of order)', headers: [['Retry-After', '1']] });
      return;
    }
    switch (request.method) {
      case 'BYE':
        transaction.reply(200);
        this.finish({ cause: 'Caller hung up (BYE)', side: 'caller' });
        return;
      case 'INVITE':
        this.onReInvite(request, transaction);
        return;
      case 'UPDATE':
        this.onUpdate(request, transaction);
        return;
      case 'INFO':
        this.onInfo(request, transaction);
        return;
      case 'NOTIFY':
        this.onNotify(request, transaction);
        return;
      case 'OPTIONS':
        transaction.reply(200, { headers: capabilityHeaders() });
        return;
      case 'REFER':
        transaction.reply(603, { reason: 'Decline (Voxgate does not follow transfers from the peer)' });
        return;
      case 'CANCEL':
        transaction.reply(200); // the INVITE it cancels was already answered; nothing to cancel (RFC 3261 9.2)
        return;
      default:
        transaction.reply(405, { headers: [['Allow', capabilityHeaders()[0][1]]] });
    }
  }

  private onAck(request: SipRequest): void {
    const pending = this.pendingAck;
    if (!pending || cseqOf(request) !== pending.cseq) {
      // A repeated ACK, one for an older INVITE, or a forged one: it acknowledges nothing, and its body moves no media.
      return;
    }
    this.pendingAck = undefined;
    this.okRetransmit?.cancel();
    this.ackWait?.cancel();
    this.okRetransmit = undefined;
    this.ackWait = undefined;
    if (pending.answerInAck && request.body.length > 0 && this.offerHandler) {
      // Offer in our 200 (a re-INVITE without SDP), answer in the ACK.
      try {
        const handler = this.offerHandler;
        if (handler.acceptAnswer) handler.acceptAnswer(request.body.toString('utf8'));
        else handler.answer(request.body.toString('utf8'));
      } catch (err) {
        this.log.warn({ err }, 'SIP ACK carried an SDP answer we cannot use');
      }
    }
    if (this.state === 'answering') {
      this.state = 'confirmed';
      this.armSessionTimer();
      this.emit('confirmed');
    }
    this.releaseAckWaiters();
  }

  private releaseAckWaiters(): void {
    const waiters = this.ackWaiters;
    this.ackWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private onReInvite(request: SipRequest, transaction: ServerTransaction): void {
    if (this.state !== 'confirmed' && this.state !== 'answering') {
      transaction.reply(this.state === 'ending' ? 481 : 491);
      return;
    }
    if (this.okRetransmit) {
      transaction.reply(491, { reason: 'Request Pending', toTag: this.localTag });
      return;
    }
    let sdp: string;
    try {
      sdp = this.negotiate(request);
    } catch (err) {
      transaction.reply(statusOf(err, 488), { reason: messageOf(err) });
      return;
    }
    this.dialog!.refreshTarget(request);
    this.sessionTimer = negotiateSessionTimer(request, this.options.sessionExpiresSec) ?? this.sessionTimer;
    const ok = buildResponse(request, 200, {
      headers: [['Contact', `<${this.options.contact}>`], ...capabilityHeaders(), ...(this.sessionTimer?.responseHeaders ?? [])],
      body: Buffer.from(sdp),
      contentType: 'application/sdp',
    });
    this.pendingAck = { cseq: cseqOf(request), answerInAck: request.body.length === 0 };
    transaction.respond(ok);
    this.retransmitUntilAck(ok, () => this.log.warn({ sipCallId: this.callId }, 'SIP peer never acknowledged the re-INVITE 200 OK'));
    this.armSessionTimer();
  }

  private onUpdate(request: SipRequest, transaction: ServerTransaction): void {
    let sdp: string | undefined;
    if (request.body.length > 0) {
      try {
        sdp = this.negotiate(request);
      } catch (err) {
        transaction.reply(statusOf(err, 488), { reason: messageOf(err) });
        return;
      }
    }
    this.dialog!.refreshTarget(request);
    this.sessionTimer = negotiateSessionTimer(request, this.options.sessionExpiresSec) ?? this.sessionTimer;
    transaction.reply(200, {
      headers: [['Contact', `<${this.options.contact}>`], ...(this.sessionTimer?.responseHeaders ?? [])],
      ...(sdp ? { body: Buffer.from(sdp), contentType: 'application/sdp' } : {}),
    });
    this.armSessionTimer();
  }

  /** The SDP answer to a new offer, or (no SDP in the request) our current SDP as the offer. */
  private negotiate(request: SipRequest): string {
    if (!this.offerHandler) throw Object.assign(new Error('Not Acceptable Here (no media)'), { status: 488 });
    if (request.body.length === 0) return this.offerHandler.currentOffer();
    return this.offerHandler.answer(request.body.toString('utf8'));
  }

  private onInfo(request: SipRequest, transaction: ServerTransaction): void {
    const contentType = (request.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
    const digit = parseDtmfInfo(contentType, request.body);
    transaction.reply(200);
    if (digit !== undefined) {
      if (digit) this.emit('dtmf', digit);
      return;
    }
    if (request.body.length > 0) this.emit('info', contentType, request.body);
  }

  private onNotify(request: SipRequest, transaction: ServerTransaction): void {
    transaction.reply(200);
    const event = (request.headers.get('event') ?? '').split(';')[0].trim().toLowerCase();
    const refer = this.pendingRefer;
    if (event !== 'refer' || !refer) return;
    const line = request.body.toString('utf8').split(/\r?\n/)[0] ?? '';
    const match = /^SIP\/2\.0\s+(\d{3})\s*(.*)$/.exec(line.trim());
    if (!match) return;
    const status = Number(match[1]);
    if (status < 200) return;
    refer.timer.cancel();
    this.pendingRefer = undefined;
    if (status < 300) refer.resolve();
    else refer.reject(new Error(`transfer target answered ${status} ${match[2]}`.trim()));
  }

  /** RFC 4028: when we are the refresher, refresh at half the interval; either way, end a session nobody refreshed. */
  protected armSessionTimer(): void {
    this.sessionTimerHandle?.cancel();
    const timer = this.sessionTimer;
    if (!timer || this.state !== 'confirmed') return;
    if (timer.refresher === 'uas') {
      this.sessionTimerHandle = this.options.clock.setTimeout(() => this.refreshSession(), (timer.expiresSec * 1000) / 2);
      return;
    }
    const graceSec = Math.min(32, timer.expiresSec / 3);
    this.sessionTimerHandle = this.options.clock.setTimeout(() => {
      this.log.warn({ sipCallId: this.callId, sessionExpires: timer.expiresSec }, 'SIP session timer expired: the peer stopped refreshing the session');
      void this.bye('Session timer expired', 408, 'session-timeout');
    }, (timer.expiresSec - graceSec) * 1000);
  }

  private refreshSession(): void {
    const dialog = this.dialog;
    const timer = this.sessionTimer;
    if (!dialog || !timer || this.state !== 'confirmed' || !this.offerHandler) return;
    const method = this.peerAllow.includes('UPDATE') ? 'UPDATE' : 'INVITE';
    const request = dialog.createRequest(method, {
      headers: [['Session-Expires', `${timer.expiresSec};refresher=uac`], ['Supported', 'timer']], // we send this refresh, so we are its UAC (RFC 4028 7.4)
      ...(method === 'INVITE' ? { body: Buffer.from(this.offerHandler.currentOffer()), contentType: 'application/sdp' } : {}),
    });
    this.options.ua.transactions.request(request, dialog.destination(request), {
      onFinal: (response) => {
        if (response.status >= 200 && response.status < 300) {
          if (method === 'INVITE') this.sendAck(response);
          this.armSessionTimer();
        } else if (response.status === 481 || response.status === 408) {
          void this.bye('Session refresh failed', response.status, 'session-timeout');
        } else {
          this.armSessionTimer();
        }
      },
      onTimeout: () => void this.bye('Session refresh timed out', 408, 'session-timeout'),
    });
  }

  protected sendAck(response: SipResponse): void {
    const dialog = this.dialog;
    if (!dialog) return;
    const seq = Number((response.headers.get('cseq') ?? '0').split(/\s+/)[0]);
    const ack = dialog.createRequest('ACK', { cseq: seq });
    this.options.ua.transactions.sendAck(ack, dialog.destination(ack));
  }

  onInvite2xxRetransmission(response: SipResponse): void {
    this.sendAck(response);
  }

  private retransmitUntilAck(response: SipResponse, onGiveUp: () => void): void {
    this.okRetransmit?.cancel();
    this.ackWait?.cancel();
    if (this.source.transport === 'udp') {
      let interval = T1;
      const resend = () => {
        this.options.ua.transactions.sendResponse(response, this.source);
        interval = Math.min(interval * 2, T2);
        this.okRetransmit = this.options.clock.setTimeout(resend, interval);
      };
      this.okRetransmit = this.options.clock.setTimeout(resend, interval);
    }
    this.ackWait = this.options.clock.setTimeout(() => {
      this.okRetransmit?.cancel();
      this.okRetransmit = undefined;
      this.ackWait = undefined;
      onGiveUp();
    }, 64 * T1);
  }

  protected async bye(cause: string, status?: number, reason?: SipCallEnd['reason']): Promise<void> {
    const dialog = this.dialog;
    if (!dialog || this.state === 'ending' || this.state === 'ended') return;
    this.state = 'ending';
    this.okRetransmit?.cancel();
    this.ackWait?.cancel();
    const request = dialog.createRequest('BYE', { headers: [['Reason', `SIP;cause=${status ?? 200};text="${cause.replace(/["\\\r\n]/g, ' ')}"`]] });
    // The call is over once the BYE is sent: a peer that vanished must not keep it open for Timer F's 32 s.
    this.options.ua.transactions.request(request, dialog.destination(request), {
      onFinal: (response) => {
        if (response.status >= 300) this.log.info({ sipCallId: this.callId, status: response.status }, 'SIP peer refused our BYE; the call is over on our side');
      },
      onTimeout: () => this.log.info({ sipCallId: this.callId }, 'SIP peer never answered our BYE; the call is over on our side'),
    });
    this.finish({ cause, side: 'gateway', status, ...(reason ? { reason } : {}) });
  }

  private response(status: number, sdp?: string, extra: [string, string][] = []): SipResponse {
    return buildResponse(this.invite, status, {
      toTag: this.localTag,
      copyRecordRoute: true,
      headers: [['Contact', `<${this.options.contact}>`], ...capabilityHeaders(), ...extra],
      ...(sdp ? { body: Buffer.from(sdp), contentType: 'application/sdp' } : {}),
    });
  }

  protected finish(end: SipCallEnd): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.okRetransmit?.cancel();
    this.ackWait?.cancel();
    this.sessionTimerHandle?.cancel();
    if (this.pendingRefer) {
      this.pendingRefer.timer.cancel();
      this.pendingRefer.reject(new Error('the call ended before the transfer completed'));
      this.pendingRefer = undefined;
    }
    if (this.dialog) this.options.ua.unregisterDialog(this.dialog.key);
    this.releaseAckWaiters();
    this.emit('ended', end);
  }
}

/** The display name and user part of a From/To value: who is calling, what number was called. */
export function partyOf(value: string | undefined): { user: string; displayName?: string } {
  if (!value) return { user: '' };
  try {
    const nameAddr = parseNameAddr(value);
    const match = /^(?:sips?|tel):(?:([^@;?]*)@)?([^;?]*)/i.exec(nameAddr.uri);
    const user = decodeURIComponent(match?.[1] ?? match?.[2] ?? '');
    return { user, ...(nameAddr.displayName ? { displayName: nameAddr.displayName } : {}) };
  } catch {
    return { user: '' };
  }
}

function cseqOf(message: SipRequest): number {
  return Number((message.headers.get('cseq') ?? '').trim().split(/\s+/)[0]) || 0;
}

function statusOf(err: unknown, fallback: number): number {
  const status = (err as { status?: unknown }).status;
  return typeof status === 'number' ? status : fallback;
}

function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/[\r\n]/g, ' ').slice(0, 120);
}
