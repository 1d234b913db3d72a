/**
 * A raw SIP peer for conformance tests: it writes exactly the bytes a test crafts (any header, any
 * framing, compact names, no Content-Length...) over UDP or TCP, records every message the other side
 * sends with its arrival time, and lets a test await the response or request it expects. It is
 * deliberately not a user agent: nothing is retransmitted or acknowledged unless the test says so,
 * which is what makes it possible to check the other side's retransmissions, timers and refusals.
 *
 * Typical use against a gateway listening on 127.0.0.1:port:
 *
 *   const phone = await SipTestClient.udp({ address: '127.0.0.1', port });
 *   const invite = phone.invite({ to: '+14155550170' });
 *   phone.send(invite);
 *   const ok = await phone.waitForResponse(invite, 200);
 *   const dialog = phone.dialogFrom(invite, ok);
 *   phone.send(dialog.ack());
 *   phone.autoRespond('BYE', 200);             // the bot may hang up first
 *   const bye = dialog.request('BYE');
 *   phone.send(bye);
 *   await phone.waitForResponse(bye, 200);
 *   await phone.close();
 *
 * Messages received are parsed with Voxgate's own parser (fuzz-tested on its own), so headers read
 * with compact forms and comma-joined lists expanded; `raw` keeps the exact bytes.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { parseSipMessage, serializeSipMessage, SipStreamFramer, parseNameAddr, type SipMessage, type SipRequest, type SipResponse } from '../../src/carriers/sip/message/index.js';

export type SipTestTransport = 'udp' | 'tcp';

/** Where the client sends: the system under test. */
export interface SipTarget {
  address: string;
  port: number;
}

export interface SipTestClientOptions {
  /** Local address to bind (any 127/8 address works on Linux loopback). Default 127.0.0.1. */
  localAddress?: string;
  /** Local port; default 0, a free one. */
  localPort?: number;
  /** The user part of From and Contact in requests the client builds. Default "alice". */
  user?: string;
}

/** A message the client received. */
export interface ReceivedSipMessage {
  message: SipMessage;
  /** The exact bytes of a datagram; on TCP the framed message as re-serialized (header order and values kept). */
  raw: Buffer;
  /** Date.now() at arrival, for measuring retransmission intervals. */
  at: number;
  /** Where it came from (for UDP: the sender's socket; for TCP: the connection's peer). */
  source: SipTarget;
}

export interface ReceivedRequest extends ReceivedSipMessage {
  message: SipRequest;
}

export interface ReceivedResponse extends ReceivedSipMessage {
  message: SipResponse;
}

/** A request as the test wrote it. Header values go on the wire exactly as given, in this order. */
export interface OutgoingRequest {
  method: string;
  uri: string;
  headers: [name: string, value: string][];
  body: Buffer;
  /**
   * Content-Length written after the headers: 'auto' (default) the body's length, 'omit' none at all
   * (e.g. to check that a stream transport refuses the message), or a number (a lie, on purpose).
   * A Content-Length (or `l`) already in `headers` is written as given and this is ignored.
   */
  contentLength?: 'auto' | 'omit' | number;
}

export interface InviteOptions {
  /** The called number or user: the Request-URI is sip:<to>@<target>. Default +14155550170. */
  to?: string;
  /** Request-URI override. */
  uri?: string;
  /** SDP body; default a PCMU/PCMA/telephone-event offer (sdpOffer()). `null` for an INVITE without a body. */
  sdp?: string | null;
  /** Content-Type of the body. Default application/sdp. */
  contentType?: string;
  callId?: string;
  fromTag?: string;
  cseq?: number;
  branch?: string;
  /** Extra headers, appended after the standard ones. */
  headers?: [string, string][];
  /** Replaces the client's own Via (e.g. to put a different sent-by or several Vias). */
  via?: string[];
}

/** The SDP offer of a simple phone: one audio stream, given formats (payload type, rtpmap) in order. */
export function sdpOffer(options: { address?: string; port?: number; formats?: [number, string][]; direction?: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive'; version?: number } = {}): string {
  const address = options.address ?? '127.0.0.1';
  const port = options.port ?? 40_000;
  const formats = options.formats ?? [
    [0, 'PCMU/8000'],
    [8, 'PCMA/8000'],
    [101, 'telephone-event/8000'],
  ];
  const lines = [
    'v=0',
    `o=- 4242 ${options.version ?? 1} IN IP4 ${address}`,
    's=-',
    `c=IN IP4 ${address}`,
    't=0 0',
    `m=audio ${port} RTP/AVP ${formats.map(([pt]) => pt).join(' ')}`,
    ...formats.map(([pt, map]) => `a=rtpmap:${pt} ${map}`),
    ...formats.filter(([, map]) => map.startsWith('telephone-event')).map(([pt]) => `a=fmtp:${pt} 0-15`),
    'a=ptime:20',
    `a=${options.direction ?? 'sendrecv'}`,
  ];
  return lines.join('\r\n') + '\r\n';
}

export const newBranch = (): string => `z9hG4bK${randomBytes(8).toString('hex')}`;
export const newTag = (): string => randomBytes(6).toString('hex');
export const newCallId = (): string => `${randomBytes(10).toString('hex')}@127.0.0.1`;

/** The bytes of a request, with Content-Length handled as `request.contentLength` says. */
export function serializeRequest(request: OutgoingRequest): Buffer {
  let head = `${request.method} ${request.uri} SIP/2.0\r\n`;
  let hasLength = false;
  for (const [name, value] of request.headers) {
    if (/^(content-length|l)$/i.test(name)) hasLength = true;
    head += `${name}: ${value}\r\n`;
  }
  const length = request.contentLength ?? 'auto';
  if (!hasLength && length !== 'omit') head += `Content-Length: ${length === 'auto' ? request.body.length : length}\r\n`;
  return Buffer.concat([Buffer.from(`${head}\r\n`, 'utf8'), request.body]);
}

/** The first header value of an outgoing request (case-insensitive, full names only). */
export function headerOf(request: OutgoingRequest, name: string): string | undefined {
  return request.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
}

/** The tag parameter of a From/To value. */
export function tagOf(value: string | undefined): string | undefined {
  return value ? (parseNameAddr(value).params.get('tag') ?? undefined) : undefined;
}

/** "<number> <METHOD>" of a message, split. */
export function cseqOf(message: SipMessage | OutgoingRequest): { seq: number; method: string } {
  const value = 'kind' in message ? (message.headers.get('cseq') ?? '') : (headerOf(message, 'CSeq') ?? '');
  const [seq, method] = value.trim().split(/\s+/);
  return { seq: Number(seq), method: method ?? '' };
}

/** The branch of the top Via. */
export function branchOf(message: SipMessage | OutgoingRequest): string | undefined {
  const via = 'kind' in message ? message.headers.get('via') : (headerOf(message, 'Via') ?? headerOf(message, 'v'));
  return via ? /;\s*branch=([^;,\s]+)/i.exec(via)?.[1] : undefined;
}

/** Whether a received response answers `request` (same Call-ID, top Via branch and CSeq). */
export function answers(response: SipMessage, request: OutgoingRequest): response is SipResponse {
  if (response.kind !== 'response') return false;
  const callId = headerOf(request, 'Call-ID') ?? headerOf(request, 'i');
  const cseq = cseqOf(request);
  const got = cseqOf(response);
  return response.headers.get('call-id') === callId && branchOf(response) === branchOf(request) && got.seq === cseq.seq && got.method === cseq.method;
}

type Predicate<T extends ReceivedSipMessage = ReceivedSipMessage> = (received: ReceivedSipMessage) => received is T;
type Waiter = { predicate: (r: ReceivedSipMessage) => boolean; resolve: (r: ReceivedSipMessage) => void };
type AutoResponder = { matches: (r: ReceivedRequest) => boolean; respond: (r: ReceivedRequest) => void };

export class SipTestClient {
  /** Every message received, in arrival order (waiting does not remove anything from here). */
  readonly received: ReceivedSipMessage[] = [];
  /** Every chunk of bytes sent, for tests that look at what went out. */
  readonly sent: Buffer[] = [];
  /** Received messages already returned by a wait: each wait returns a message once. */
  private readonly claimed = new Set<ReceivedSipMessage>();
  private readonly waiters = new Set<Waiter>();
  private readonly responders: AutoResponder[] = [];
  private readonly user: string;
  private udp?: dgram.Socket;
  private tcp?: net.Socket;
  private tcpClosed?: Promise<void>;
  private cseq = 1;
  /** Errors seen (parse failures of what the other side sent): a test may assert there are none. */
  readonly errors: Error[] = [];

  private constructor(
    readonly transport: SipTestTransport,
    readonly target: SipTarget,
    options: SipTestClientOptions,
  ) {
    this.user = options.user ?? 'alice';
  }

  /** A UDP client bound to `localAddress:localPort` sending to `target`. */
  static async udp(target: SipTarget, options: SipTestClientOptions = {}): Promise<SipTestClient> {
    const client = new SipTestClient('udp', target, options);
    const socket = dgram.createSocket('udp4');
    client.udp = socket;
    socket.on('message', (data, rinfo) => client.onDatagram(data, { address: rinfo.address, port: rinfo.port }));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.localPort ?? 0, options.localAddress ?? '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return client;
  }

  /** A TCP client connected to `target` (from `localAddress`). */
  static async tcp(target: SipTarget, options: SipTestClientOptions = {}): Promise<SipTestClient> {
    const client = new SipTestClient('tcp', target, options);
    const socket = net.connect({ host: target.address, port: target.port, localAddress: options.localAddress ?? '127.0.0.1', ...(options.localPort ? { localPort: options.localPort } : {}) });
    socket.setNoDelay(true);
    client.tcp = socket;
    const framer = new SipStreamFramer();
    socket.on('data', (chunk) => {
      for (const item of framer.push(chunk)) {
        if ('message' in item) client.onMessage(item.message, serializeSipMessage(item.message), { ...target });
        else if ('error' in item) client.errors.push(item.error);
      }
    });
    client.tcpClosed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', (err) => client.errors.push(err));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve();
      });
      socket.once('error', reject);
    });
    return client;
  }

  /** The address and port the client sends from (what goes in its Via and Contact). */
  get local(): SipTarget {
    const address = this.udp ? this.udp.address() : (this.tcp!.address() as net.AddressInfo);
    return { address: address.address, port: address.port };
  }

  /** TCP: resolves when the other side closed the connection. */
  closed(): Promise<void> {
    if (!this.tcpClosed) throw new Error('closed() is for TCP clients');
    return this.tcpClosed;
  }

  get isClosed(): boolean {
    return this.tcp ? this.tcp.destroyed || this.tcp.readableEnded : false;
  }

  // --- sending ------------------------------------------------------------------------------

  /** Sends a request the client built, raw bytes or text, as one datagram / one write. UDP may go to another destination. */
  send(what: OutgoingRequest | Buffer | string, destination: SipTarget = this.target): void {
    const data = typeof what === 'string' ? Buffer.from(what, 'utf8') : Buffer.isBuffer(what) ? what : serializeRequest(what);
    this.sent.push(data);
    if (this.udp) this.udp.send(data, destination.port, destination.address);
    else this.tcp!.write(data);
  }

  /** TCP: writes `data` in pieces (one write each, with a round trip through the event loop between them) to check stream reassembly. */
  async sendInPieces(data: Buffer | string, pieceBytes: number): Promise<void> {
    if (!this.tcp) throw new Error('sendInPieces is for TCP clients');
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let i = 0; i < bytes.length; i += pieceBytes) {
      const piece = bytes.subarray(i, i + pieceBytes);
      await new Promise<void>((resolve) => this.tcp!.write(piece, () => resolve()));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.sent.push(bytes);
  }

  /** Our Via for a new request: this transport, our address, rport asked for. */
  via(branch = newBranch()): string {
    return `SIP/2.0/${this.transport.toUpperCase()} ${this.local.address}:${this.local.port};branch=${branch};rport`;
  }

  /** Our Contact URI. */
  contactUri(): string {
    return `sip:${this.user}@${this.local.address}:${this.local.port}${this.transport === 'tcp' ? ';transport=tcp' : ''}`;
  }

  /** A new INVITE (not sent): a fresh Call-ID, From tag and branch unless given. */
  invite(options: InviteOptions = {}): OutgoingRequest {
    const to = options.to ?? '+14155550170';
    const uri = options.uri ?? `sip:${to}@${this.target.address}:${this.target.port}${this.transport === 'tcp' ? ';transport=tcp' : ''}`;
    const sdp = options.sdp === undefined ? sdpOffer() : options.sdp;
    const headers: [string, string][] = [
      ...(options.via ?? [this.via(options.branch)]).map((v): [string, string] => ['Via', v]),
      ['Max-Forwards', '70'],
      ['From', `"Alice" <sip:${this.user}@${this.local.address}>;tag=${options.fromTag ?? newTag()}`],
      ['To', `<sip:${to}@${this.target.address}>`],
      ['Call-ID', options.callId ?? newCallId()],
      ['CSeq', `${options.cseq ?? this.cseq++} INVITE`],
      ['Contact', `<${this.contactUri()}>`],
      ['Allow', 'INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, NOTIFY'],
      ...(sdp !== null ? [['Content-Type', options.contentType ?? 'application/sdp'] as [string, string]] : []),
      ...(options.headers ?? []),
    ];
    return { method: 'INVITE', uri, headers, body: Buffer.from(sdp ?? '', 'utf8') };
  }

  /** A request outside any dialog (OPTIONS, an unknown method...). */
  request(method: string, options: { uri?: string; headers?: [string, string][]; body?: string; contentType?: string; toTag?: string } = {}): OutgoingRequest {
    const headers: [string, string][] = [
      ['Via', this.via()],
      ['Max-Forwards', '70'],
      ['From', `<sip:${this.user}@${this.local.address}>;tag=${newTag()}`],
      ['To', `<sip:voxgate@${this.target.address}>${options.toTag ? `;tag=${options.toTag}` : ''}`],
      ['Call-ID', newCallId()],
      ['CSeq', `${this.cseq++} ${method}`],
      ...(options.body !== undefined ? [['Content-Type', options.contentType ?? 'text/plain'] as [string, string]] : []),
      ...(options.headers ?? []),
    ];
    return { method, uri: options.uri ?? `sip:voxgate@${this.target.address}:${this.target.port}`, headers, body: Buffer.from(options.body ?? '', 'utf8') };
  }

  /** The CANCEL for an INVITE not yet answered: its Request-URI, top Via (branch), Call-ID, From, To and CSeq number (RFC 3261 9.1). */
  cancel(invite: OutgoingRequest): OutgoingRequest {
    const pick = (name: string) => invite.headers.filter(([n]) => n.toLowerCase() === name.toLowerCase());
    return {
      method: 'CANCEL',
      uri: invite.uri,
      headers: [pick('Via')[0], ['Max-Forwards', '70'], ...pick('From'), ...pick('To'), ...pick('Call-ID'), ['CSeq', `${cseqOf(invite).seq} CANCEL`], ...pick('Route')],
      body: Buffer.alloc(0),
    };
  }

  /** The ACK to a non-2xx final response: part of the INVITE transaction (same branch), with the response's To (RFC 3261 17.1.1.3). */
  ackFailure(invite: OutgoingRequest, response: SipResponse): OutgoingRequest {
    const pick = (name: string) => invite.headers.filter(([n]) => n.toLowerCase() === name.toLowerCase());
    return {
      method: 'ACK',
      uri: invite.uri,
      headers: [pick('Via')[0], ['Max-Forwards', '70'], ...pick('From'), ['To', response.headers.get('to') ?? ''], ...pick('Call-ID'), ['CSeq', `${cseqOf(invite).seq} ACK`], ...pick('Route')],
      body: Buffer.alloc(0),
    };
  }

  /** The dialog a 2xx to our INVITE set up, to build the ACK and later in-dialog requests. */
  dialogFrom(invite: OutgoingRequest, ok: SipResponse): ClientDialog {
    return new ClientDialog(this, invite, ok);
  }

  /** Answers a request the other side sent: Vias, From, To (tagged when `toTag` is given and it has none), Call-ID and CSeq copied. */
  respond(request: ReceivedSipMessage, status: number, options: { reason?: string; headers?: [string, string][]; body?: string; toTag?: string } = {}): void {
    const message = request.message as SipRequest;
    const lines = [`SIP/2.0 ${status} ${options.reason ?? (status === 200 ? 'OK' : 'Response')}`];
    for (const via of message.headers.getAll('via')) lines.push(`Via: ${via}`);
    const to = message.headers.get('to') ?? '';
    lines.push(`From: ${message.headers.get('from')}`);
    lines.push(`To: ${options.toTag && tagOf(to) === undefined ? `${to};tag=${options.toTag}` : to}`);
    lines.push(`Call-ID: ${message.headers.get('call-id')}`);
    lines.push(`CSeq: ${message.headers.get('cseq')}`);
    for (const [name, value] of options.headers ?? []) lines.push(`${name}: ${value}`);
    const body = Buffer.from(options.body ?? '', 'utf8');
    lines.push(`Content-Length: ${body.length}`, '', '');
    this.send(Buffer.concat([Buffer.from(lines.join('\r\n'), 'utf8'), body]), request.source);
  }

  /**
   * Answers every request (already received or to come) with this method, or matching the predicate,
   * automatically: e.g. `autoRespond('BYE', 200)` so a bot hanging up gets its 200 without the test
   * waiting for it. Returns a function that stops it.
   */
  autoRespond(method: string | ((r: ReceivedRequest) => boolean), status: number, options: Parameters<SipTestClient['respond']>[2] = {}): () => void {
    const matches = typeof method === 'string' ? (r: ReceivedRequest) => r.message.method === method : method;
    const responder: AutoResponder = { matches, respond: (r) => this.respond(r, status, options) };
    this.responders.push(responder);
    for (const r of this.received) if (r.message.kind === 'request' && matches(r as ReceivedRequest)) responder.respond(r as ReceivedRequest);
    return () => {
      const at = this.responders.indexOf(responder);
      if (at >= 0) this.responders.splice(at, 1);
    };
  }

  // --- waiting ------------------------------------------------------------------------------

  /**
   * The first received message matching `predicate` that no earlier wait returned: one already here,
   * else the next to arrive. Rejects after `timeoutMs` naming `description` and what did arrive.
   */
  waitFor<T extends ReceivedSipMessage = ReceivedSipMessage>(predicate: Predicate<T> | ((r: ReceivedSipMessage) => boolean), options: { timeoutMs?: number; description?: string } = {}): Promise<T> {
    const found = this.received.find((r) => !this.claimed.has(r) && predicate(r));
    if (found) {
      this.claimed.add(found);
      return Promise.resolve(found as T);
    }
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r as T);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`SipTestClient: no ${options.description ?? 'matching message'} within ${timeoutMs} ms; received: ${this.summary()}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** The response to `request` (a status, a list of statuses, or any final response when omitted); provisional responses are skipped unless asked for. */
  waitForResponse(request: OutgoingRequest, status?: number | number[], options: { timeoutMs?: number } = {}): Promise<SipResponse> {
    const wanted = status === undefined ? undefined : Array.isArray(status) ? status : [status];
    const matches = (r: ReceivedSipMessage) => answers(r.message, request) && (wanted ? wanted.includes(r.message.status) : r.message.status >= 200);
    return this.waitFor(matches, { ...options, description: `${wanted?.join('/') ?? 'final'} response to ${request.method} ${cseqOf(request).seq}` }).then((r) => r.message as SipResponse);
  }

  /** A request the other side sent, by method (and optionally Call-ID). */
  waitForRequest(method: string, options: { callId?: string; timeoutMs?: number; where?: (r: ReceivedRequest) => boolean } = {}): Promise<ReceivedRequest> {
    const matches = (r: ReceivedSipMessage): r is ReceivedRequest =>
      r.message.kind === 'request' && r.message.method === method && (options.callId === undefined || r.message.headers.get('call-id') === options.callId) && (options.where?.(r as ReceivedRequest) ?? true);
    return this.waitFor(matches, { timeoutMs: options.timeoutMs, description: `${method} request` });
  }

  /**
   * A round trip that proves the other side has processed everything sent before: an OPTIONS on the
   * same socket or connection, and its response. Use it instead of sleeping before checking that
   * something did NOT happen.
   */
  async barrier(timeoutMs = 5000): Promise<void> {
    const options = this.request('OPTIONS');
    this.send(options);
    await this.waitForResponse(options, undefined, { timeoutMs });
  }

  /** Every received response to `request` (retransmissions included), e.g. to count them. */
  responsesTo(request: OutgoingRequest, status?: number): ReceivedResponse[] {
    return this.received.filter((r): r is ReceivedResponse => answers(r.message, request) && (status === undefined || r.message.status === status));
  }

  async close(): Promise<void> {
    for (const waiter of this.waiters) waiter.resolve = () => undefined;
    this.waiters.clear();
    if (this.udp) {
      const socket = this.udp;
      this.udp = undefined;
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
    if (this.tcp && !this.tcp.destroyed) {
      this.tcp.destroy();
      await this.tcpClosed;
    }
  }

  private summary(): string {
    if (this.received.length === 0) return 'nothing';
    return this.received
      .slice(-8)
      .map((r) => (r.message.kind === 'request' ? `${r.message.method} (${r.message.headers.get('cseq')})` : `${r.message.status} (${r.message.headers.get('cseq')})`))
      .join(', ');
  }

  private onDatagram(data: Buffer, source: SipTarget): void {
    if (data.length <= 4 && data.toString('latin1').replace(/\r\n/g, '') === '') return; // keep-alive
    let message: SipMessage;
    try {
      message = parseSipMessage(data, { datagram: true });
    } catch (err) {
      this.errors.push(err as Error);
      return;
    }
    this.onMessage(message, data, source);
  }

  private onMessage(message: SipMessage, raw: Buffer, source: SipTarget): void {
    const received: ReceivedSipMessage = { message, raw, at: Date.now(), source };
    this.received.push(received);
    if (message.kind === 'request') {
      for (const responder of this.responders) {
        if (responder.matches(received as ReceivedRequest)) {
          responder.respond(received as ReceivedRequest);
          break;
        }
      }
    }
    for (const waiter of this.waiters) {
      if (!waiter.predicate(received)) continue;
      this.waiters.delete(waiter);
      this.claimed.add(received);
      waiter.resolve(received);
      return;
    }
  }
}

/**
 * The UAC side of a dialog the client set up with an INVITE (RFC 3261 12.1.2): Call-ID, both tags,
 * the remote target (the 2xx's Contact) and the route set (its Record-Route reversed). Requests are
 * still sent to the client's target, whatever the route set says: the test plays the proxies.
 */
export class ClientDialog {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  readonly remoteTarget: string;
  readonly routeSet: string[];
  private readonly from: string;
  private readonly to: string;
  private localSeq: number;

  constructor(
    private readonly client: SipTestClient,
    readonly invite: OutgoingRequest,
    readonly ok: SipResponse,
  ) {
    this.callId = headerOf(invite, 'Call-ID') ?? '';
    this.from = headerOf(invite, 'From') ?? '';
    this.localTag = tagOf(this.from) ?? '';
    this.to = ok.headers.get('to') ?? '';
    this.remoteTag = tagOf(this.to) ?? '';
    const contact = ok.headers.get('contact');
    this.remoteTarget = contact ? parseNameAddr(contact).uri : invite.uri;
    this.routeSet = ok.headers.getAll('record-route').reverse();
    this.localSeq = cseqOf(invite).seq;
  }

  /** The ACK to the 2xx: a new transaction (new branch), the INVITE's CSeq number (RFC 3261 13.2.2.4). */
  ack(options: { body?: string; contentType?: string } = {}): OutgoingRequest {
    return this.build('ACK', cseqOf(this.invite).seq, options);
  }

  /** A new in-dialog request with the next CSeq (or `cseq` to test out-of-order handling). */
  request(method: string, options: { headers?: [string, string][]; body?: string; contentType?: string; cseq?: number } = {}): OutgoingRequest {
    const seq = options.cseq ?? ++this.localSeq;
    if (options.cseq !== undefined) this.localSeq = Math.max(this.localSeq, options.cseq);
    return this.build(method, seq, options);
  }

  /** The ACK for a re-INVITE's 2xx (its CSeq number). */
  ackFor(reInvite: OutgoingRequest, options: { body?: string; contentType?: string } = {}): OutgoingRequest {
    return this.build('ACK', cseqOf(reInvite).seq, options);
  }

  private build(method: string, seq: number, options: { headers?: [string, string][]; body?: string; contentType?: string }): OutgoingRequest {
    const headers: [string, string][] = [
      ['Via', this.client.via()],
      ['Max-Forwards', '70'],
      ['From', this.from],
      ['To', this.to],
      ['Call-ID', this.callId],
      ['CSeq', `${seq} ${method}`],
      ...this.routeSet.map((route): [string, string] => ['Route', route]),
      ...(method === 'INVITE' || method === 'UPDATE' ? [['Contact', `<${this.client.contactUri()}>`] as [string, string]] : []),
      ...(options.body !== undefined ? [['Content-Type', options.contentType ?? 'application/sdp'] as [string, string]] : []),
      ...(options.headers ?? []),
    ];
    return { method, uri: this.remoteTarget, headers, body: Buffer.from(options.body ?? '', 'utf8') };
  }
}
