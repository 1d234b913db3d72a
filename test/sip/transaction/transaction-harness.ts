/**
 * The transaction layer on a fake clock and an in-memory wire: every message it sends is recorded
 * with the fake time, and what it passes up is recorded too, so RFC 3261 17's timers (A, B, D, E, F,
 * G, H, I, J, K) are checked to the millisecond without waiting.
 */
import { silentLogger } from '../../../src/logger.js';
import { parseSipMessage, type SipMessage, type SipRequest, type SipResponse } from '../../../src/carriers/sip/message/index.js';
import { SipTransactionLayer, type ServerTransaction, type SipWire, type TransactionUser } from '../../../src/carriers/sip/transaction/transactions.js';
import type { SipEndpoint, SipTransportName } from '../../../src/carriers/sip/transport/sip-transport.js';
import { FakeClock } from '../../support/fake-clock.js';
import { newBranch } from '../../support/sip-test-client.js';

export interface WireRecord {
  message: SipMessage;
  destination: SipEndpoint;
  at: number;
}

export const PEER_UDP: SipEndpoint = { transport: 'udp', address: '198.51.100.7', port: 5062 };
export const PEER_TCP: SipEndpoint = { transport: 'tcp', address: '198.51.100.7', port: 40_312, connectionId: 7 };

export function peer(transport: SipTransportName): SipEndpoint {
  return transport === 'udp' ? PEER_UDP : PEER_TCP;
}

export class TransactionHarness {
  readonly clock = new FakeClock();
  private readonly t0 = this.clock.now();
  readonly wire: WireRecord[] = [];
  readonly layer: SipTransactionLayer;
  /** What reached the transaction user. */
  readonly requests: { request: SipRequest; transaction: ServerTransaction | undefined }[] = [];
  readonly strays: SipResponse[] = [];
  readonly ackTimeouts: ServerTransaction[] = [];

  constructor() {
    const wire: SipWire = {
      send: (message, destination) => void this.wire.push({ message, destination, at: this.now }),
      sendResponse: (message, destination) => void this.wire.push({ message, destination, at: this.now }),
    };
    this.layer = new SipTransactionLayer(wire, this.clock, silentLogger());
    const tu: TransactionUser = {
      onRequest: (request, _source, transaction) => void this.requests.push({ request, transaction }),
      onStrayResponse: (response) => void this.strays.push(response),
      onAckTimeout: (transaction) => void this.ackTimeouts.push(transaction),
    };
    this.layer.tu = tu;
  }

  get now(): number {
    return this.clock.now() - this.t0;
  }

  /** Times at which responses with this status were sent. */
  responseTimes(status: number): number[] {
    return this.wire.filter((w) => w.message.kind === 'response' && w.message.status === status).map((w) => w.at);
  }

  /** Times at which requests with this method were sent. */
  requestTimes(method: string): number[] {
    return this.wire.filter((w) => w.message.kind === 'request' && w.message.method === method).map((w) => w.at);
  }
}

export interface RequestSpec {
  method: string;
  branch?: string;
  cseq?: number;
  callId?: string;
  fromTag?: string;
  toTag?: string;
  transport?: SipTransportName;
  /** The top Via's sent-by. */
  sentBy?: string;
  extra?: [string, string][];
}

/** A request as a peer (or we) would send it; `branch: ''` for an RFC 2543 Via without one. */
export function makeRequest(spec: RequestSpec): SipRequest {
  const transport = (spec.transport ?? 'udp').toUpperCase();
  const branch = spec.branch ?? newBranch();
  const lines = [
    `${spec.method} sip:voxgate@192.0.2.100:5060 SIP/2.0`,
    `Via: SIP/2.0/${transport} ${spec.sentBy ?? '198.51.100.7:5062'}${branch ? `;branch=${branch}` : ''}`,
    'Max-Forwards: 70',
    `From: <sip:alice@198.51.100.7>;tag=${spec.fromTag ?? 'alicetag'}`,
    `To: <sip:voxgate@192.0.2.100>${spec.toTag ? `;tag=${spec.toTag}` : ''}`,
    `Call-ID: ${spec.callId ?? 'call-1@198.51.100.7'}`,
    `CSeq: ${spec.cseq ?? 1} ${spec.method}`,
    ...(spec.extra ?? []).map(([n, v]) => `${n}: ${v}`),
    'Content-Length: 0',
    '',
    '',
  ];
  return parseSipMessage(Buffer.from(lines.join('\r\n'), 'utf8')) as SipRequest;
}

/** A response to `request` as the peer would send it (Vias, From, To with `toTag`, Call-ID, CSeq copied). */
export function makeResponse(request: SipRequest, status: number, toTag?: string): SipResponse {
  const to = request.headers.get('to') ?? '';
  const lines = [
    `SIP/2.0 ${status} Status`,
    ...request.headers.getAll('via').map((v) => `Via: ${v}`),
    `From: ${request.headers.get('from')}`,
    `To: ${toTag && !/;tag=/.test(to) ? `${to};tag=${toTag}` : to}`,
    `Call-ID: ${request.headers.get('call-id')}`,
    `CSeq: ${request.headers.get('cseq')}`,
    'Content-Length: 0',
    '',
    '',
  ];
  return parseSipMessage(Buffer.from(lines.join('\r\n'), 'utf8')) as SipResponse;
}
