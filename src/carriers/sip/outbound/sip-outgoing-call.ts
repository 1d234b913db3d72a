/**
 * A call Voxgate places over SIP (the UAC side of RFC 3261 13.2): the INVITE with our SDP offer,
 * ringing from 18x, a digest retry when the trunk challenges (401/407), CANCEL when the ring timeout
 * passes, and on 2xx the dialog and the ACK. From then on it is a SipCall like any answered one.
 */
import type { SipRequest, SipResponse } from '../message/sip-message.js';
import { SipHeaders } from '../message/sip-message.js';
import { buildAuthorization, parseChallenge } from '../message/digest.js';
import { formatVia, newBranch, newCallId, newTag, parseCSeq } from '../message/headers.js';
import type { SipEndpoint } from '../transport/sip-transport.js';
import type { TimerHandle } from '../../../runtime/clock.js';
import { SipDialog, splitHostPort } from '../dialog/sip-dialog.js';
import { capabilityHeaders } from '../sip-user-agent.js';
import { SipCall, type SipCallOptions } from '../call/sip-call.js';
import { negotiateSessionTimer } from '../call/session-timer.js';

export interface OutgoingCallRequest {
  /** Request-URI and To, e.g. sip:+15551234@sbc.example.com. */
  target: string;
  /** From URI, e.g. sip:+15550001@sbc.example.com. */
  from: string;
  callerDisplayName?: string;
  destination: SipEndpoint;
  offerSdp: string;
  ringTimeoutMs: number;
  credentials?: { username: string; password: string };
  headers?: [string, string][];
}

export class SipOutgoingCall extends SipCall {
  private currentInvite: SipRequest;
  private authAttempted = false;
  private ringTimer?: TimerHandle;
  private provisional = false;
  private cancelling = false;
  private rang = false;
  private cancelReason = '';
  /** A listener for `answered`, set by the dialer (the base class's event map stays the leg's). */
  onAnswered?: (answerSdp: string) => void;
  onRinging?: () => void;

  constructor(
    options: SipCallOptions,
    private readonly request: OutgoingCallRequest,
  ) {
    const localTag = newTag();
    const invite = buildInvite(request, options, localTag);
    super(options, { invite, destination: request.destination, localTag });
    this.currentInvite = invite;
  }

  /** Sends the INVITE; the outcome arrives as `answered`/`confirmed` or `ended` (with the SIP status that ended it). */
  start(): void {
    this.send(this.currentInvite);
    this.ringTimer = this.options.clock.setTimeout(() => this.cancelOutgoing('No answer (ring timeout)'), this.request.ringTimeoutMs);
  }

  protected override cancelOutgoing(reason: string): void {
    if (this.state !== 'offered' || this.cancelling) return;
    this.cancelling = true;
    this.cancelReason = reason;
    this.ringTimer?.cancel();
    if (!this.provisional) {
      // RFC 3261 9.1: no CANCEL before a provisional response; the INVITE's own timeout (or a late answer, hung up at once) ends it.
      return;
    }
    this.sendCancel();
  }

  private sendCancel(): void {
    const invite = this.currentInvite;
    const headers = new SipHeaders();
    headers.append('Via', invite.headers.get('via')!);
    headers.append('Max-Forwards', '70');
    for (const name of ['From', 'To', 'Call-ID']) headers.append(name, invite.headers.get(name)!);
    headers.append('CSeq', `${parseCSeq(invite.headers.get('cseq')!).seq} CANCEL`);
    for (const route of invite.headers.getAll('route')) headers.append('Route', route);
    const cancel: SipRequest = { kind: 'request', method: 'CANCEL', uri: invite.uri, headers, body: Buffer.alloc(0) };
    this.options.ua.transactions.request(cancel, this.source, { onFinal: () => undefined, onTimeout: () => this.finish({ cause: this.cancelReason, side: 'gateway', status: 408 }) });
  }

  private send(invite: SipRequest): void {
    this.options.ua.transactions.request(invite, this.source, {
      onProvisional: (response) => this.onProvisional(response),
      onFinal: (response) => this.onFinal(response),
      on2xxRetransmission: (response) => this.sendAck(response),
      onTimeout: () => this.finish({ cause: 'No response from the SIP peer (408 Request Timeout)', side: 'carrier', status: 408 }),
    });
  }

  private onProvisional(response: SipResponse): void {
    if (response.status === 100) return;
    this.provisional = true;
    if (this.cancelling) {
      this.sendCancel();
      return;
    }
    if (!this.rang && (response.status === 180 || response.status === 183)) {
      this.rang = true;
      this.onRinging?.();
    }
  }

  private onFinal(response: SipResponse): void {
    this.ringTimer?.cancel();
    if (response.status >= 200 && response.status < 300) {
      this.answered(response);
      return;
    }
    if ((response.status === 401 || response.status === 407) && this.request.credentials && !this.authAttempted && !this.cancelling) {
      this.authAttempted = true;
      this.retryWithCredentials(response);
      return;
    }
    if (this.cancelling) {
      this.finish({ cause: this.cancelReason, side: 'gateway', status: response.status });
      return;
    }
    this.finish({ cause: `${response.status} ${response.reason}`.trim(), side: 'carrier', status: response.status });
  }

  private answered(response: SipResponse): void {
    this.dialog = SipDialog.fromResponse(this.currentInvite, response, this.options.contact, this.source.transport, this.options.ua.transport);
    this.options.ua.registerDialog(this.dialog.key, this);
    this.sendAck(response);
    if (this.cancelling || this.state !== 'offered') {
      // Answered as we gave up: the 2xx wins the race, so end it properly.
      this.state = 'confirmed';
      void this.bye(this.cancelReason || 'Hung up');
      return;
    }
    this.peerAllow = response.headers.getAll('allow').join(',').toUpperCase();
    const timer = negotiateSessionTimer(response, this.options.sessionExpiresSec);
    // Our offer did not ask for a timer, so one only applies when the callee named it; it refreshes as agreed.
    if (timer && response.headers.has('session-expires')) this.sessionTimer = { ...timer, refresher: /refresher\s*=\s*uas/i.test(response.headers.get('session-expires') ?? '') ? 'uac' : 'uas' };
    this.state = 'confirmed';
    this.onAnswered?.(response.body.toString('utf8'));
    this.armSessionTimer();
    this.emit('confirmed');
  }

  /** RFC 3261 22.2: the same INVITE with credentials, a new branch and the next CSeq. */
  private retryWithCredentials(response: SipResponse): void {
    const proxy = response.status === 407;
    const challengeHeader = response.headers.get(proxy ? 'proxy-authenticate' : 'www-authenticate');
    if (!challengeHeader) {
      this.finish({ cause: `${response.status} ${response.reason} (no challenge)`, side: 'carrier', status: response.status });
      return;
    }
    const { username, password } = this.request.credentials!;
    const retry: SipRequest = { ...this.currentInvite, headers: this.currentInvite.headers.clone() };
    const seq = parseCSeq(retry.headers.get('cseq')!).seq + 1;
    retry.headers.set('CSeq', `${seq} INVITE`);
    retry.headers.remove('via');
    retry.headers.prepend('Via', ourVia(this.options, this.source.transport));
    const authorization = buildAuthorization({ challenge: parseChallenge(challengeHeader), method: 'INVITE', uri: retry.uri, username, password });
    retry.headers.set(proxy ? 'Proxy-Authorization' : 'Authorization', authorization);
    this.currentInvite = retry;
    this.send(retry);
  }

  protected override sendAck(response: SipResponse): void {
    const dialog = this.dialog;
    if (!dialog) return;
    const seq = parseCSeq(response.headers.get('cseq') ?? '1 INVITE').seq;
    const ack = dialog.createRequest('ACK', { cseq: seq });
    for (const name of ['authorization', 'proxy-authorization']) {
      const value = this.currentInvite.headers.get(name);
      if (value) ack.headers.set(name === 'authorization' ? 'Authorization' : 'Proxy-Authorization', value);
    }
    this.options.ua.transactions.sendAck(ack, dialog.destination(ack));
  }
}

function ourVia(options: SipCallOptions, transport: SipEndpoint['transport']): string {
  return formatVia({ protocol: 'SIP/2.0', transport: transport.toUpperCase(), ...splitHostPort(options.ua.transport.hostPort(transport)), params: new Map([['branch', newBranch()], ['rport', null]]) });
}

function buildInvite(request: OutgoingCallRequest, options: SipCallOptions, localTag: string): SipRequest {
  const headers = new SipHeaders();
  const transport = request.destination.transport;
  headers.append('Via', ourVia(options, transport));
  headers.append('Max-Forwards', '70');
  const display = request.callerDisplayName ? `"${request.callerDisplayName.replace(/(["\\])/g, '\\$1')}" ` : '';
  headers.append('From', `${display}<${request.from}>;tag=${localTag}`);
  headers.append('To', `<${request.target}>`);
  headers.append('Call-ID', newCallId(options.ua.transport.advertisedAddress));
  headers.append('CSeq', '1 INVITE');
  headers.append('Contact', `<${options.contact}>`);
  for (const [name, value] of capabilityHeaders()) headers.append(name, value);
  for (const [name, value] of request.headers ?? []) headers.append(name, value);
  headers.append('Content-Type', 'application/sdp');
  return { kind: 'request', method: 'INVITE', uri: request.target, headers, body: Buffer.from(request.offerSdp) };
}
