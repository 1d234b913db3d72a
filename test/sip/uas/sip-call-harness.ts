/**
 * SipCall and the user agent on a fake clock and an in-memory network: what the call sends is
 * recorded with the fake time it left at, and the test plays the peer by delivering parsed messages.
 * For timer behaviour (2xx retransmissions, the BYE when no ACK comes, session timers) without waiting.
 */
import { EventEmitter } from 'node:events';
import { silentLogger } from '../../../src/logger.js';
import { parseSipMessage, type SipMessage, type SipRequest, type SipResponse } from '../../../src/carriers/sip/message/index.js';
import type { SipEndpoint, SipTransport, SipTransportName } from '../../../src/carriers/sip/transport/sip-transport.js';
import { SipUserAgent } from '../../../src/carriers/sip/sip-user-agent.js';
import { InboundAccess } from '../../../src/carriers/sip/inbound-access.js';
import { SipCall, type SipOfferHandler } from '../../../src/carriers/sip/call/sip-call.js';
import { FakeClock } from '../../support/fake-clock.js';
import { newBranch, newCallId, newTag, sdpOffer } from '../../support/sip-test-client.js';

export interface Sent {
  message: SipMessage;
  destination: SipEndpoint;
  /** Fake time at which it was sent, ms since the harness started. */
  at: number;
  /** sendResponse (a response routed by its Via) rather than send. */
  asResponse: boolean;
}

/** The transports, as the user agent and the transaction layer use them. */
export class FakeSipNetwork extends EventEmitter {
  readonly sent: Sent[] = [];
  constructor(private readonly clock: FakeClock, private readonly start: number) {
    super();
  }
  send(message: SipMessage, destination: SipEndpoint): void {
    this.sent.push({ message, destination, at: this.clock.now() - this.start, asResponse: false });
  }
  sendResponse(message: SipResponse, destination: SipEndpoint): void {
    this.sent.push({ message, destination, at: this.clock.now() - this.start, asResponse: true });
  }
  hostPort(transport: SipTransportName): string {
    return `192.0.2.100:${transport === 'tls' ? 5061 : 5060}`;
  }
}

export const PEER: SipEndpoint = { transport: 'udp', address: '198.51.100.7', port: 5062 };
export const ANSWER_SDP = sdpOffer({ address: '192.0.2.100', port: 30_000, formats: [[0, 'PCMU/8000'], [101, 'telephone-event/8000']] });

/** A request from the peer, as text with a Content-Length, parsed. */
export function request(method: string, uri: string, headers: [string, string][], body = ''): SipRequest {
  const lines = [`${method} ${uri} SIP/2.0`, ...headers.map(([n, v]) => `${n}: ${v}`), `Content-Length: ${Buffer.byteLength(body)}`, '', body];
  return parseSipMessage(Buffer.from(lines.join('\r\n'), 'utf8')) as SipRequest;
}

export interface CallHarnessOptions {
  transport?: SipTransportName;
  /** Extra INVITE headers (Supported, Session-Expires, Allow...). */
  inviteHeaders?: [string, string][];
  sessionExpiresSec?: number;
}

export class CallHarness {
  readonly clock = new FakeClock();
  private readonly t0 = this.clock.now();
  readonly network = new FakeSipNetwork(this.clock, this.t0);
  readonly ua: SipUserAgent;
  readonly peer: SipEndpoint;
  readonly callId = newCallId();
  readonly fromTag = newTag();
  call!: SipCall;
  /** What the offer handler was given. */
  readonly offers: string[] = [];
  readonly answers: string[] = [];
  readonly ended: { cause: string; side: string; status?: number }[] = [];
  confirmed = false;
  private peerSeq = 1;
  invite!: SipRequest;

  constructor(private readonly options: CallHarnessOptions = {}) {
    this.peer = { ...PEER, transport: options.transport ?? 'udp', ...(options.transport && options.transport !== 'udp' ? { connectionId: 1 } : {}) };
    const access = new InboundAccess({ trunks: [{ name: 'any', from: ['0.0.0.0/0'] }], realm: 'test', invitesPerSecond: 100, burst: 100, now: () => this.clock.now() });
    this.ua = new SipUserAgent({
      transport: this.network as unknown as SipTransport,
      clock: this.clock,
      logger: silentLogger(),
      access,
      onInvite: (_invite, _source, transaction) => {
        this.call = new SipCall(
          { ua: this.ua, clock: this.clock, logger: silentLogger(), contact: 'sip:voxgate@192.0.2.100:5060', sessionExpiresSec: options.sessionExpiresSec ?? 1800, referTimeoutMs: 30_000 },
          { transaction },
        );
        const handler: SipOfferHandler & { acceptAnswer(sdp: string): void } = {
          answer: (offer) => {
            this.offers.push(offer);
            return ANSWER_SDP;
          },
          currentOffer: () => ANSWER_SDP,
          acceptAnswer: (answer) => void this.answers.push(answer),
        };
        this.call.offerHandler = handler;
        this.call.on('ended', (end) => this.ended.push(end));
        this.call.on('confirmed', () => (this.confirmed = true));
      },
    });
  }

  /** Milliseconds of fake time since the harness started. */
  get now(): number {
    return this.clock.now() - this.t0;
  }

  /** The peer's headers for a request in the dialog (or the INVITE, without the To tag). */
  private headers(method: string, seq: number, toTag?: string): [string, string][] {
    const transport = (this.options.transport ?? 'udp').toUpperCase();
    return [
      ['Via', `SIP/2.0/${transport} ${PEER.address}:${PEER.port};branch=${newBranch()}`],
      ['Max-Forwards', '70'],
      ['From', `<sip:alice@${PEER.address}>;tag=${this.fromTag}`],
      ['To', `<sip:+14155550170@192.0.2.100>${toTag ? `;tag=${toTag}` : ''}`],
      ['Call-ID', this.callId],
      ['CSeq', `${seq} ${method}`],
    ];
  }

  deliver(message: SipMessage): void {
    this.network.emit('message', message, this.peer);
  }

  /** The peer's INVITE arrives; the call answers it with ANSWER_SDP. */
  offerAndAnswer(): SipResponse {
    this.invite = request('INVITE', 'sip:+14155550170@192.0.2.100', [
      ...this.headers('INVITE', this.peerSeq),
      ['Contact', `<sip:alice@${PEER.address}:${PEER.port}>`],
      ['Content-Type', 'application/sdp'],
      ...(this.options.inviteHeaders ?? []),
    ], sdpOffer({ address: PEER.address }));
    this.deliver(this.invite);
    this.call.accept(ANSWER_SDP);
    return this.responses(200)[0];
  }

  get localTag(): string {
    const to = this.responses(200)[0]?.headers.get('to') ?? '';
    return /;tag=([^;]+)/.exec(to)?.[1] ?? '';
  }

  /** The ACK to the 2xx of the INVITE with CSeq `seq` (default the initial INVITE's). */
  ack(seq = 1, body = ''): void {
    this.deliver(request('ACK', `sip:voxgate@192.0.2.100:5060`, [...this.headers('ACK', seq, this.localTag), ...(body ? [['Content-Type', 'application/sdp'] as [string, string]] : [])], body));
  }

  /** A new in-dialog request from the peer; a body is SDP unless `extra` names another Content-Type. */
  inDialog(method: string, extra: [string, string][] = [], body = ''): SipRequest {
    const seq = ++this.peerSeq;
    const typed = extra.some(([name]) => name.toLowerCase() === 'content-type');
    const message = request(method, 'sip:voxgate@192.0.2.100:5060', [...this.headers(method, seq, this.localTag), ...extra, ...(body && !typed ? [['Content-Type', 'application/sdp'] as [string, string]] : [])], body);
    this.deliver(message);
    return message;
  }

  /** Responses sent for the initial INVITE with this status. */
  responses(status: number): SipResponse[] {
    return this.sentResponses(status, 'INVITE', 1).map((s) => s.message as SipResponse);
  }

  sentResponses(status: number, method: string, seq?: number): Sent[] {
    return this.network.sent.filter((s) => {
      if (s.message.kind !== 'response' || s.message.status !== status) return false;
      const [n, m] = (s.message.headers.get('cseq') ?? '').split(/\s+/);
      return m === method && (seq === undefined || Number(n) === seq);
    });
  }

  /** Requests the call sent, by method. */
  requests(method: string): Sent[] {
    return this.network.sent.filter((s) => s.message.kind === 'request' && s.message.method === method);
  }

  /** The peer answers one of our requests. */
  respondTo(sent: Sent, status: number, extra: [string, string][] = [], body = ''): void {
    const req = sent.message as SipRequest;
    const lines = [`SIP/2.0 ${status} OK`, ...req.headers.getAll('via').map((v) => `Via: ${v}`), `From: ${req.headers.get('from')}`, `To: ${req.headers.get('to')}`, `Call-ID: ${req.headers.get('call-id')}`, `CSeq: ${req.headers.get('cseq')}`, ...extra.map(([n, v]) => `${n}: ${v}`), `Content-Length: ${Buffer.byteLength(body)}`, '', body];
    this.deliver(parseSipMessage(Buffer.from(lines.join('\r\n'), 'utf8')));
  }
}
