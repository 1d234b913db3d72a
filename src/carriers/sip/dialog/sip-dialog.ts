/**
 * One SIP dialog (RFC 3261 12): the state both ends share once a call is answered — Call-ID, the two
 * tags, each side's CSeq, the peer's Contact (the remote target) and the route set recorded by proxies
 * and SBCs on the way. It builds the in-dialog requests we send (BYE, re-INVITE, INFO, REFER) so they
 * follow the same path as the INVITE did, and checks the ones we receive.
 */
import type { SipRequest, SipResponse } from '../message/sip-message.js';
import { SipHeaders } from '../message/sip-message.js';
import { formatVia, newBranch, parseNameAddr, parseUri, type SipUri } from '../message/headers.js';
import type { SipEndpoint, SipTransportName } from '../transport/sip-transport.js';

export interface DialogLocal {
  /** Our sent-by (host:port) for `transport`. */
  hostPort(transport: SipTransportName): string;
}

export interface SipDialogState {
  callId: string;
  localTag: string;
  remoteTag: string;
  /** Our From/To header value without the tag parameter, e.g. "<sip:bot@10.0.0.5>". */
  localParty: string;
  remoteParty: string;
  /** Our Contact URI, e.g. "sip:voxgate@10.0.0.5:5060;transport=tcp". */
  localContact: string;
  remoteTarget: string;
  /** Route set, in the order requests must traverse it. */
  routeSet: string[];
  localSeq: number;
  remoteSeq: number;
  transport: SipTransportName;
  /** The connection the dialog was set up over (TCP/TLS), reused while it is open. */
  flow?: SipEndpoint;
}

export class SipDialog {
  private remoteSeq: number;
  localSeq: number;

  constructor(
    readonly state: SipDialogState,
    private readonly local: DialogLocal,
  ) {
    this.remoteSeq = state.remoteSeq;
    this.localSeq = state.localSeq;
  }

  get callId(): string {
    return this.state.callId;
  }

  /** "callId|localTag|remoteTag": how the user agent finds the dialog an incoming request belongs to. */
  get key(): string {
    return dialogKey(this.state.callId, this.state.localTag, this.state.remoteTag);
  }

  /**
   * The UAS side of a dialog, from the INVITE we answer (RFC 3261 12.1.1): the route set is the
   * INVITE's Record-Route in order, the remote target its Contact.
   */
  static fromInvite(invite: SipRequest, source: SipEndpoint, localTag: string, localContact: string, local: DialogLocal): SipDialog {
    const from = parseNameAddr(invite.headers.get('from') ?? '');
    const to = parseNameAddr(invite.headers.get('to') ?? '');
    const contact = invite.headers.get('contact');
    return new SipDialog(
      {
        callId: invite.headers.get('call-id') ?? '',
        localTag,
        remoteTag: from.params.get('tag') ?? '',
        localParty: partyWithoutTag(invite.headers.get('to') ?? '', to.uri),
        remoteParty: partyWithoutTag(invite.headers.get('from') ?? '', from.uri),
        localContact,
        remoteTarget: contact ? parseNameAddr(contact).uri : from.uri,
        routeSet: invite.headers.getAll('record-route'),
        localSeq: Math.floor(Math.random() * 10_000) + 1,
        remoteSeq: cseqNumber(invite),
        transport: source.transport,
        flow: source.transport === 'udp' ? undefined : source,
      },
      local,
    );
  }

  /**
   * The UAC side, from the 2xx to our INVITE (12.1.2): the route set is the response's Record-Route
   * reversed, the remote target its Contact.
   */
  static fromResponse(invite: SipRequest, response: SipResponse, localContact: string, transport: SipTransportName, local: DialogLocal): SipDialog {
    const from = parseNameAddr(invite.headers.get('from') ?? '');
    const to = parseNameAddr(response.headers.get('to') ?? '');
    const contact = response.headers.get('contact');
    return new SipDialog(
      {
        callId: invite.headers.get('call-id') ?? '',
        localTag: from.params.get('tag') ?? '',
        remoteTag: to.params.get('tag') ?? '',
        localParty: partyWithoutTag(invite.headers.get('from') ?? '', from.uri),
        remoteParty: partyWithoutTag(response.headers.get('to') ?? '', to.uri),
        localContact,
        remoteTarget: contact ? parseNameAddr(contact).uri : to.uri,
        routeSet: response.headers.getAll('record-route').reverse(),
        localSeq: cseqNumber(invite),
        remoteSeq: 0,
        transport,
      },
      local,
    );
  }

  /**
   * Checks an incoming in-dialog request's CSeq (12.2.2): lower than the last one is out of order (500),
   * otherwise it becomes the last one. ACK and CANCEL reuse their INVITE's number and are not checked.
   */
  acceptRemoteSeq(request: SipRequest): boolean {
    if (request.method === 'ACK' || request.method === 'CANCEL') return true;
    const seq = cseqNumber(request);
    if (this.remoteSeq !== 0 && seq < this.remoteSeq) return false;
    this.remoteSeq = seq;
    return true;
  }

  /** A target refresh (re-INVITE, UPDATE) may move the peer's Contact. */
  refreshTarget(request: SipRequest | SipResponse): void {
    const contact = request.headers.get('contact');
    if (contact) this.state.remoteTarget = parseNameAddr(contact).uri;
  }

  /**
   * A new in-dialog request (12.2.1.1): the remote target as Request-URI with the route set as Route
   * headers (loose routing), or, when the first route is a strict router, that route as Request-URI and
   * the remote target as the last Route.
   */
  createRequest(method: string, options: { headers?: [string, string][]; body?: Buffer; contentType?: string; cseq?: number } = {}): SipRequest {
    const seq = options.cseq ?? ++this.localSeq;
    const headers = new SipHeaders();
    const transport = this.state.transport;
    headers.append('Via', formatVia({ protocol: 'SIP/2.0', transport: transport.toUpperCase(), ...splitHostPort(this.local.hostPort(transport)), params: new Map([['branch', newBranch()], ['rport', null]]) }));
    headers.append('Max-Forwards', '70');
    headers.append('From', `${this.state.localParty};tag=${this.state.localTag}`);
    headers.append('To', `${this.state.remoteParty};tag=${this.state.remoteTag}`);
    headers.append('Call-ID', this.state.callId);
    headers.append('CSeq', `${seq} ${method}`);
    let uri = this.state.remoteTarget;
    const routes = [...this.state.routeSet];
    if (routes.length > 0 && !isLooseRoute(routes[0])) {
      uri = parseNameAddr(routes.shift()!).uri;
      routes.push(`<${this.state.remoteTarget}>`);
    }
    for (const route of routes) headers.append('Route', route);
    // RFC 3261 table 2: Contact is not applicable to CANCEL and BYE, and useless in an ACK; the other methods carry it (target refreshes need it).
    if (method !== 'ACK' && method !== 'CANCEL' && method !== 'BYE') headers.append('Contact', `<${this.state.localContact}>`);
    for (const [name, value] of options.headers ?? []) headers.append(name, value);
    if (options.body && options.body.length > 0) headers.append('Content-Type', options.contentType ?? 'application/sdp');
    return { kind: 'request', method, uri, headers, body: options.body ?? Buffer.alloc(0) };
  }

  /**
   * Where to send an in-dialog request (RFC 3261 8.1.2): the first route when it is a loose router,
   * else the Request-URI (the remote target, or a strict router put there by createRequest), over the
   * dialog's connection when it is still the same peer.
   */
  destination(request: SipRequest): SipEndpoint {
    const routeSet = this.state.routeSet;
    const strict = routeSet.length > 0 && !isLooseRoute(routeSet[0]);
    const firstRoute = strict ? undefined : request.headers.get('route');
    const target = firstRoute ? parseUri(parseNameAddr(firstRoute).uri) : parseUri(request.uri);
    const endpoint = endpointOf(target, this.state.transport);
    const flow = this.state.flow;
    if (flow && flow.transport === endpoint.transport) return { ...endpoint, connectionId: flow.connectionId };
    return endpoint;
  }
}

export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}|${localTag}|${remoteTag}`;
}

/** Where a SIP URI points: host, port (5060, or 5061 for sips/TLS) and transport (its `transport` parameter, else `fallback`). */
export function endpointOf(uri: SipUri, fallback: SipTransportName): SipEndpoint {
  const param = uri.params.get('transport')?.toLowerCase();
  const transport: SipTransportName = uri.scheme === 'sips' ? 'tls' : param === 'tcp' || param === 'tls' || param === 'udp' ? param : fallback;
  const host = uri.host.startsWith('[') ? uri.host.slice(1, -1) : uri.host;
  return { transport, address: host, port: uri.port ?? (transport === 'tls' ? 5061 : 5060) };
}

function isLooseRoute(route: string): boolean {
  try {
    return parseUri(parseNameAddr(route).uri).params.has('lr');
  } catch {
    return true;
  }
}

function cseqNumber(message: SipRequest | SipResponse): number {
  return Number((message.headers.get('cseq') ?? '0').trim().split(/\s+/)[0]) || 0;
}

/** A From/To value without its tag parameter (kept otherwise as the peer wrote it, display name included). */
function partyWithoutTag(value: string, uri: string): string {
  const parsed = parseNameAddr(value);
  const params = [...parsed.params].filter(([name]) => name !== 'tag').map(([name, v]) => (v === null ? `;${name}` : `;${name}=${v}`));
  const display = parsed.displayName ? `"${parsed.displayName.replace(/(["\\])/g, '\\$1')}" ` : '';
  return `${display}<${uri}>${params.join('')}`;
}

export function splitHostPort(hostPort: string): { host: string; port?: number } {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort);
  if (!match) return { host: hostPort };
  return { host: match[1], ...(match[2] ? { port: Number(match[2]) } : {}) };
}
