/**
 * The SIP transaction layer (RFC 3261 17, with RFC 6026's Accepted states): retransmissions over UDP,
 * absorbing the peer's retransmitted requests, matching responses to the requests that caused them,
 * and timeouts. Everything above it (calls, dialogs) sees each request once and each final response
 * once, whatever the network did. Timers run on the injected clock, so they are tested without waiting.
 */
import type { Logger } from '../../../logger.js';
import type { Clock, TimerHandle } from '../../../runtime/clock.js';
import type { SipMessage, SipRequest, SipResponse } from '../message/sip-message.js';
import { buildResponse } from '../message/responses.js';
import { BRANCH_MAGIC_COOKIE, newTag, parseCSeq, parseNameAddr, parseVia } from '../message/headers.js';
import type { SipEndpoint } from '../transport/sip-transport.js';

/** RFC 3261's timer values: T1 the round-trip estimate, T2 the longest retransmit interval, T4 a message's lifetime in the network. */
export const T1 = 500;
export const T2 = 4000;
export const T4 = 5000;

/** What the transaction layer needs of the transports. */
export interface SipWire {
  send(message: SipMessage, destination: SipEndpoint): void;
  sendResponse(response: SipResponse, requestSource: SipEndpoint): void;
}

/** The transaction user (the user agent core) that new requests and orphan responses go to. */
export interface TransactionUser {
  /** A new request: not a retransmission, not an ACK to a non-2xx. ACKs to 2xx come here with no transaction. */
  onRequest(request: SipRequest, source: SipEndpoint, transaction: ServerTransaction | undefined): void;
  /** A response no client transaction is waiting for: a retransmitted 2xx to an INVITE, to be ACKed again. */
  onStrayResponse(response: SipResponse, source: SipEndpoint): void;
  /** An INVITE server transaction's non-2xx final response was never acknowledged (Timer H). */
  onAckTimeout?(transaction: ServerTransaction): void;
}

export interface ClientTransactionHandlers {
  onProvisional?(response: SipResponse): void;
  /** Called once with the first final response; for INVITE, 2xx retransmissions then reach onStrayResponse... or `on2xxRetransmission`. */
  onFinal(response: SipResponse): void;
  /** INVITE only: a 2xx arrived again while the transaction is Accepted (the ACK was lost): send the ACK again. */
  on2xxRetransmission?(response: SipResponse): void;
  /** No final response in 64*T1 (Timer B/F): the request is taken as failed with 408. */
  onTimeout(): void;
}

const reliable = (endpoint: SipEndpoint) => endpoint.transport !== 'udp';

function topBranch(message: SipMessage): { branch: string; sentBy: string } | undefined {
  const top = message.headers.get('via');
  if (!top) return undefined;
  try {
    const via = parseVia(top);
    const branch = via.params.get('branch');
    return branch ? { branch, sentBy: `${via.host}:${via.port ?? ''}` } : undefined;
  } catch {
    return undefined;
  }
}

/** RFC 3261 17.2.3: branch + sent-by + method (an ACK matches its INVITE; CANCEL is its own transaction). */
function serverKey(request: SipRequest): string | undefined {
  const top = topBranch(request);
  if (!top || !top.branch.startsWith(BRANCH_MAGIC_COOKIE)) {
    // RFC 2543 peers: no magic cookie. Call-ID + CSeq + From tag + top Via keep retransmissions together.
    const cseq = request.headers.get('cseq') ?? '';
    return `2543|${request.headers.get('call-id')}|${cseq.split(/\s+/)[0]}|${request.headers.get('from')}|${request.headers.get('via')}|${request.method === 'ACK' ? 'INVITE' : request.method}`;
  }
  return `${top.branch}|${top.sentBy}|${request.method === 'ACK' ? 'INVITE' : request.method}`;
}

/** RFC 3261 17.1.3: branch + CSeq method. */
function clientKey(message: SipMessage): string | undefined {
  const top = topBranch(message);
  const cseq = message.headers.get('cseq');
  if (!top || !cseq) return undefined;
  try {
    return `${top.branch}|${parseCSeq(cseq).method}`;
  } catch {
    return undefined;
  }
}

type ServerState = 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

export class ServerTransaction {
  state: ServerState = 'proceeding';
  /** The last response sent, resent when the request is retransmitted. */
  lastResponse?: SipResponse;
  private timers: TimerHandle[] = [];
  private toTag?: string;

  constructor(
    readonly request: SipRequest,
    readonly source: SipEndpoint,
    private readonly layer: SipTransactionLayer,
    readonly key: string,
  ) {}

  get isInvite(): boolean {
    return this.request.method === 'INVITE';
  }

  /** True once a final response was sent. */
  get finalSent(): boolean {
    return this.state !== 'proceeding';
  }

  /** Sends a response for this request, with the state changes and timers its class calls for. */
  respond(response: SipResponse): void {
    // After the final response nothing more is sent: a late provisional would replace it as the response resent to retransmissions.
    if (this.state === 'terminated' || this.finalSent) return;
    this.lastResponse = response;
    this.layer.wire.sendResponse(response, this.source);
    if (response.status < 200) return;
    const { clock } = this.layer;
    if (!this.isInvite) {
      // Completed: absorb retransmitted requests with this response for 64*T1 (UDP), then forget.
      this.state = 'completed';
      this.after(reliable(this.source) ? 0 : 64 * T1, () => this.terminate());
      return;
    }
    if (response.status < 300) {
      // RFC 6026 Accepted: the 2xx is retransmitted by the core (the dialog) until the ACK; retransmitted INVITEs are absorbed here.
      this.state = 'accepted';
      this.after(64 * T1, () => this.terminate());
      return;
    }
    this.state = 'completed';
    if (!reliable(this.source)) {
      let interval = T1;
      const retransmit = () => {
        if (this.state !== 'completed') return;
        this.layer.wire.sendResponse(response, this.source);
        interval = Math.min(interval * 2, T2);
        this.timers.push(clock.setTimeout(retransmit, interval));
      };
      this.timers.push(clock.setTimeout(retransmit, interval)); // Timer G
    }
    this.after(64 * T1, () => {
      // Timer H: the peer never acknowledged the failure response.
      if (this.state !== 'completed') return;
      this.terminate();
      this.layer.tu?.onAckTimeout?.(this);
    });
  }

  /**
   * Builds and sends a response in one step. Responses other than 100 get a To tag when the request had
   * none (RFC 3261 8.2.6.2), the same one for every response of this transaction.
   */
  reply(status: number, options?: Parameters<typeof buildResponse>[2]): SipResponse {
    if (status > 100 && options?.toTag === undefined) this.toTag ??= newTag();
    const response = buildResponse(this.request, status, status > 100 && this.toTag !== undefined ? { toTag: this.toTag, ...options } : options);
    this.respond(response);
    return response;
  }

  /** @internal The same request arrived again. */
  retransmitted(request: SipRequest): void {
    if (request.method === 'ACK') {
      if (this.state === 'completed') {
        this.state = 'confirmed';
        for (const t of this.timers) t.cancel();
        this.timers = [];
        this.after(reliable(this.source) ? 0 : T4, () => this.terminate()); // Timer I
      }
      return;
    }
    // Proceeding: resend the last provisional; Completed: the final. Accepted: the core retransmits the 2xx itself.
    if (this.lastResponse && this.state !== 'accepted' && this.state !== 'confirmed') this.layer.wire.sendResponse(this.lastResponse, this.source);
  }

  private after(ms: number, fn: () => void): void {
    this.timers.push(this.layer.clock.setTimeout(fn, ms));
  }

  /** @internal */
  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    for (const t of this.timers) t.cancel();
    this.timers = [];
    this.layer.forgetServer(this);
  }
}

type ClientState = 'calling' | 'proceeding' | 'completed' | 'accepted' | 'terminated';

export class ClientTransaction {
  state: ClientState = 'calling';
  private timers: TimerHandle[] = [];
  private retransmitTimer?: TimerHandle;

  constructor(
    readonly request: SipRequest,
    readonly destination: SipEndpoint,
    private readonly layer: SipTransactionLayer,
    readonly key: string,
    private readonly handlers: ClientTransactionHandlers,
  ) {}

  get isInvite(): boolean {
    return this.request.method === 'INVITE';
  }

  /** @internal */
  start(): void {
    const { clock } = this.layer;
    this.layer.wire.send(this.request, this.destination);
    if (!reliable(this.destination)) {
      let interval = T1;
      const retransmit = () => {
        if (this.state === 'completed' || this.state === 'accepted' || this.state === 'terminated') return;
        if (this.isInvite && this.state === 'proceeding') return; // Timer A stops at the first provisional
        this.layer.wire.send(this.request, this.destination);
        // Timer E: non-INVITE keeps retransmitting, at T2 once a provisional arrived.
        interval = this.state === 'proceeding' ? T2 : Math.min(interval * 2, this.isInvite ? Number.MAX_SAFE_INTEGER : T2);
        this.retransmitTimer = clock.setTimeout(retransmit, interval);
      };
      this.retransmitTimer = clock.setTimeout(retransmit, interval);
    }
    // Timer B / F: no final response at all.
    this.timers.push(
      clock.setTimeout(() => {
        if (this.state !== 'calling' && this.state !== 'proceeding') return;
        if (this.isInvite && this.state === 'proceeding') return; // an INVITE that rang is bounded by the caller's ring timeout, not Timer B
        this.terminate();
        this.handlers.onTimeout();
      }, 64 * T1),
    );
  }

  /** @internal A response matched this transaction. */
  received(response: SipResponse): void {
    if (response.status < 200) {
      if (this.state === 'calling' || this.state === 'proceeding') {
        this.state = 'proceeding';
        this.handlers.onProvisional?.(response);
      }
      return;
    }
    if (this.state === 'calling' || this.state === 'proceeding') {
      this.retransmitTimer?.cancel();
      if (this.isInvite && response.status < 300) {
        // RFC 6026 Accepted: 2xx retransmissions (and 2xx from other forks) go to the core, which ACKs each.
        this.state = 'accepted';
        this.after(64 * T1, () => this.terminate());
      } else {
        this.state = 'completed';
        if (this.isInvite) this.sendNon2xxAck(response);
        this.after(reliable(this.destination) ? 0 : this.isInvite ? 32_000 : T4, () => this.terminate()); // Timer D / K
      }
      this.handlers.onFinal(response);
      return;
    }
    if (this.state === 'accepted' && response.status < 300) {
      this.handlers.on2xxRetransmission?.(response);
      return;
    }
    if (this.state === 'completed' && this.isInvite) this.sendNon2xxAck(response); // the ACK was lost: the final came again
  }

  /** RFC 3261 17.1.1.3: the ACK to a non-2xx belongs to the INVITE transaction (same branch, same hop). */
  private sendNon2xxAck(response: SipResponse): void {
    const invite = this.request;
    const ack = {
      kind: 'request' as const,
      method: 'ACK',
      uri: invite.uri,
      headers: invite.headers.clone(),
      body: Buffer.alloc(0),
    };
    const via = invite.headers.get('via');
    ack.headers.remove('via');
    if (via) ack.headers.set('Via', via);
    const to = response.headers.get('to');
    if (to) ack.headers.set('To', to);
    const cseq = parseCSeq(invite.headers.get('cseq') ?? '0 INVITE');
    ack.headers.set('CSeq', `${cseq.seq} ACK`);
    for (const name of ['content-type', 'content-length', 'authorization', 'proxy-authorization', 'allow', 'supported', 'session-expires', 'min-se']) ack.headers.remove(name);
    this.layer.wire.send(ack, this.destination);
  }

  /** Stops retransmitting (e.g. the caller gave up and a CANCEL is on its way). */
  private after(ms: number, fn: () => void): void {
    this.timers.push(this.layer.clock.setTimeout(fn, ms));
  }

  /** @internal */
  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.retransmitTimer?.cancel();
    for (const t of this.timers) t.cancel();
    this.timers = [];
    this.layer.forgetClient(this);
  }
}

/** RFC 3261 8.2.2.2: Call-ID, From tag and CSeq of a request outside a dialog (no To tag), or undefined for one inside. */
function mergeKey(request: SipRequest): string | undefined {
  const tag = (name: string) => {
    try {
      return parseNameAddr(request.headers.get(name) ?? '').params.get('tag') ?? undefined;
    } catch {
      return undefined;
    }
  };
  if (tag('to') !== undefined) return undefined;
  return `${request.headers.get('call-id')}|${tag('from') ?? ''}|${(request.headers.get('cseq') ?? '').trim()}`;
}

export class SipTransactionLayer {
  private readonly servers = new Map<string, ServerTransaction>();
  /** Live server transactions of requests outside a dialog, by mergeKey, to recognise a request that came twice by different paths. */
  private readonly byMergeKey = new Map<string, ServerTransaction>();
  private readonly clients = new Map<string, ClientTransaction>();
  tu?: TransactionUser;

  constructor(
    readonly wire: SipWire,
    readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Feeds one message from the transports. */
  receive(message: SipMessage, source: SipEndpoint): void {
    if (message.kind === 'response') {
      const key = clientKey(message);
      const transaction = key ? this.clients.get(key) : undefined;
      if (transaction) transaction.received(message);
      else this.tu?.onStrayResponse(message, source);
      return;
    }
    const key = serverKey(message);
    if (!key) return;
    const existing = this.servers.get(key);
    if (existing) {
      if (message.method === 'ACK' && existing.state === 'accepted') {
        // An ACK to our 2xx reusing the INVITE's branch (RFC 2543 peers): still the dialog's business.
        this.tu?.onRequest(message, source, undefined);
        return;
      }
      existing.retransmitted(message);
      return;
    }
    if (message.method === 'ACK') {
      this.tu?.onRequest(message, source, undefined); // ACK to a 2xx: its own transaction, for the dialog
      return;
    }
    const transaction = new ServerTransaction(message, source, this, key);
    this.servers.set(key, transaction);
    const merge = mergeKey(message);
    if (merge !== undefined && !this.byMergeKey.has(merge)) this.byMergeKey.set(merge, transaction);
    if (message.method === 'INVITE') transaction.reply(100); // at once, so the peer stops retransmitting (17.2.1)
    this.tu?.onRequest(message, source, transaction);
  }

  /**
   * A live server transaction for the same request that arrived another way (RFC 3261 8.2.2.2: same
   * Call-ID, From tag and CSeq, no To tag, another branch): the UA answers this copy 482. One whose
   * first copy was refused does not count: a peer retrying after a 401 with the same CSeq is wrong, not looping.
   */
  mergedWith(transaction: ServerTransaction): ServerTransaction | undefined {
    const merge = mergeKey(transaction.request);
    const first = merge === undefined ? undefined : this.byMergeKey.get(merge);
    if (!first || first === transaction || first.state === 'completed' || first.state === 'confirmed') return undefined;
    return first;
  }

  /** The INVITE server transaction a CANCEL targets (same branch and sent-by), if it is still live. */
  inviteTransactionFor(cancel: SipRequest): ServerTransaction | undefined {
    const key = serverKey(cancel);
    if (!key) return undefined;
    return this.servers.get(key.replace(/\|CANCEL$/, '|INVITE'));
  }

  /** Sends a request in a new client transaction (its top Via must carry a fresh branch). */
  request(request: SipRequest, destination: SipEndpoint, handlers: ClientTransactionHandlers): ClientTransaction {
    const key = clientKey(request);
    if (!key) throw new Error(`cannot send ${request.method}: it has no Via branch or CSeq`);
    if (request.method === 'ACK') throw new Error('an ACK to a 2xx is sent with sendAck, not in a transaction');
    const transaction = new ClientTransaction(request, destination, this, key, handlers);
    this.clients.set(key, transaction);
    transaction.start();
    return transaction;
  }

  /** Sends an ACK to a 2xx: no transaction (RFC 3261 17.1.1.3); the core resends it for each 2xx retransmission. */
  sendAck(ack: SipRequest, destination: SipEndpoint): void {
    this.wire.send(ack, destination);
  }

  /** Sends a response outside any transaction (e.g. a 2xx retransmitted by the dialog). */
  sendResponse(response: SipResponse, destination: SipEndpoint): void {
    this.wire.sendResponse(response, destination);
  }

  get serverCount(): number {
    return this.servers.size;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Stops every timer (shutdown). */
  close(): void {
    for (const t of [...this.servers.values()]) t.terminate();
    for (const t of [...this.clients.values()]) t.terminate();
    this.logger.debug('SIP transactions closed');
  }

  /** @internal */
  forgetServer(transaction: ServerTransaction): void {
    if (this.servers.get(transaction.key) === transaction) this.servers.delete(transaction.key);
    const merge = mergeKey(transaction.request);
    if (merge !== undefined && this.byMergeKey.get(merge) === transaction) this.byMergeKey.delete(merge);
  }

  /** @internal */
  forgetClient(transaction: ClientTransaction): void {
    if (this.clients.get(transaction.key) === transaction) this.clients.delete(transaction.key);
  }
}
