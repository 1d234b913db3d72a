/**
 * SIP's transports: one UDP socket, one TCP server and, when a certificate is configured, one TLS
 * server, all delivering parsed messages to one listener with where they came from. Responses go back
 * the way RFC 3261 18.2.2 and RFC 3581 say (over the request's connection when it is still open, else to
 * the top Via's `received`/`rport`), which is what makes SIP work behind NAT and through SBCs.
 * Malformed input never throws out of here: a request that parsed far enough gets a 400 naming what was
 * wrong, everything else is dropped with a rate-limited log line.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { EventEmitter } from 'node:events';
import type { Logger } from '../../../logger.js';
import type { Clock } from '../../../runtime/clock.js';
import { RateLimitedWarnings } from '../../../runtime/rate-limited-warnings.js';
import type { SipMessage, SipRequest, SipResponse } from '../message/sip-message.js';
import { isKeepAlive, parseSipMessage, SipParseError } from '../message/parser.js';
import { serializeSipMessage } from '../message/serializer.js';
import { SipStreamFramer } from '../message/stream-framer.js';
import { buildResponse } from '../message/responses.js';
import { formatVia, newTag, parseVia, type Via } from '../message/headers.js';

export type SipTransportName = 'udp' | 'tcp' | 'tls';

/** Where a message came from or goes to. `connectionId` names the TCP/TLS connection it arrived on. */
export interface SipEndpoint {
  transport: SipTransportName;
  address: string;
  port: number;
  connectionId?: number;
}

export interface SipTransportOptions {
  /** Bind address for every transport, e.g. "0.0.0.0" or "127.0.0.1". */
  address: string;
  /** UDP and TCP port (0 picks a free one, for tests). */
  port: number;
  transports: readonly ('udp' | 'tcp')[];
  tls?: { port: number; cert: string | Buffer; key: string | Buffer };
  /** The address peers reach us at (NAT): written into Via and Contact instead of the bind address. */
  advertisedAddress: string;
  maxMessageBytes?: number;
  /** Idle TCP/TLS connections are closed after this long. */
  connectionIdleMs?: number;
  logger: Logger;
  clock: Clock;
}

export interface SipTransportEvents {
  message: [message: SipMessage, source: SipEndpoint];
}

const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;
const DEFAULT_CONNECTION_IDLE_MS = 10 * 60_000;

interface StreamConnection {
  id: number;
  socket: net.Socket;
  transport: 'tcp' | 'tls';
  address: string;
  port: number;
  framer: SipStreamFramer;
  /** The chunks since the one that completed the last message: where a message that cannot be framed starts. */
  recent: Buffer[];
  /** A message could not be framed: the connection is being closed and further data is ignored. */
  unframeable?: boolean;
}

export class SipTransport extends EventEmitter<SipTransportEvents> {
  private udp?: dgram.Socket;
  private tcpServer?: net.Server;
  private tlsServer?: tls.Server;
  private readonly connections = new Map<number, StreamConnection>();
  /** Open connections by "transport:address:port", to reuse for requests and responses to that peer. */
  private readonly connectionsByPeer = new Map<string, StreamConnection>();
  private nextConnectionId = 1;
  private readonly warnings: RateLimitedWarnings;
  private readonly maxMessageBytes: number;
  private closed = false;
  /** UDP sends not yet handed to the kernel, and who waits for them to be. */
  private sendsInFlight = 0;
  private flushed?: () => void;
  private boundPorts: Partial<Record<SipTransportName, number>> = {};

  constructor(private readonly options: SipTransportOptions) {
    super();
    this.warnings = new RateLimitedWarnings(options.logger, options.clock);
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /** Binds every configured transport; rejects naming the transport and port that could not be bound. */
  async listen(): Promise<void> {
    // Port 0: UDP picks a free port and TCP takes the same number, which another process may hold;
    // then both are bound again on a new pair (a configured port is tried once).
    for (let attempt = 1; ; attempt++) {
      try {
        await this.listenUdpAndTcp();
        break;
      } catch (err) {
        const taken = (err as { cause?: NodeJS.ErrnoException }).cause?.code === 'EADDRINUSE';
        if (this.options.port !== 0 || !taken || attempt >= 5) throw err;
        await this.closeUdp();
      }
    }
    if (this.options.tls) {
      this.tlsServer = tls.createServer({ cert: this.options.tls.cert, key: this.options.tls.key }, (socket) => this.adopt(socket, 'tls'));
      this.tlsServer.on('tlsClientError', (err) => this.warnings.warn('tls-handshake', `SIP TLS handshake failed: ${err.message}`));
      await listenOrExplain(this.tlsServer, this.options.address, this.options.tls.port, 'tls');
      this.boundPorts.tls = (this.tlsServer.address() as net.AddressInfo).port;
    }
  }

  private async listenUdpAndTcp(): Promise<void> {
    const { address, transports } = this.options;
    let port = this.options.port;
    if (transports.includes('udp')) {
      this.udp = dgram.createSocket({ type: net.isIPv6(address) ? 'udp6' : 'udp4', recvBufferSize: 4 * 1024 * 1024 });
      this.udp.on('message', (data, rinfo) => this.onDatagram(data, rinfo));
      this.udp.on('error', (err) => this.options.logger.error({ err }, 'SIP UDP socket error'));
      await bindOrExplain(this.udp, address, port, 'udp');
      port = this.udp.address().port;
      this.boundPorts.udp = port;
    }
    if (transports.includes('tcp')) {
      this.tcpServer = net.createServer((socket) => this.adopt(socket, 'tcp'));
      await listenOrExplain(this.tcpServer, address, port, 'tcp');
      this.boundPorts.tcp = (this.tcpServer.address() as net.AddressInfo).port;
    }
  }

  /** Releases a UDP socket bound by a failed attempt, before the next one. */
  private async closeUdp(): Promise<void> {
    const udp = this.udp;
    this.udp = undefined;
    this.tcpServer = undefined;
    delete this.boundPorts.udp;
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
  }

  /** The port a transport listens on (after `listen`). */
  port(transport: SipTransportName): number | undefined {
    return this.boundPorts[transport];
  }

  get advertisedAddress(): string {
    return this.options.advertisedAddress;
  }

  /** The sent-by we put in our Via and the host:port of our Contact for `transport`. */
  hostPort(transport: SipTransportName): string {
    const host = net.isIPv6(this.advertisedAddress) ? `[${this.advertisedAddress}]` : this.advertisedAddress;
    return `${host}:${this.port(transport) ?? this.port('udp') ?? 5060}`;
  }

  /** Sends a request (or an ACK) to `destination`, over an existing connection to that peer when there is one. */
  send(message: SipMessage, destination: SipEndpoint): void {
    if (this.closed) return;
    if (!isUsablePort(destination.port)) {
      // A Via (or URI) may name port 0 or 65536+: node's socket calls throw for those, out of whatever handler called us.
      this.warnings.warn('bad-destination', `SIP message to ${destination.address}:${destination.port} dropped: not a usable port`);
      return;
    }
    const data = serializeSipMessage(message);
    if (destination.transport === 'udp') {
      this.sendDatagram(data, destination.address, destination.port);
      return;
    }
    const existing =
      (destination.connectionId !== undefined ? this.connections.get(destination.connectionId) : undefined) ??
      this.connectionsByPeer.get(peerKey(destination.transport, destination.address, destination.port));
    if (existing && !existing.socket.destroyed) {
      existing.socket.write(data);
      return;
    }
    this.connect(destination).write(data);
  }

  /**
   * Sends a response where RFC 3261 18.2.2 says: back over the connection the request came on while it
   * is open (else a new one to the Via's sent-by), or over UDP to the top Via's `received` address and
   * `rport` (RFC 3581), or its sent-by when the request came from where the Via says.
   */
  sendResponse(response: SipResponse, requestSource: SipEndpoint): void {
    if (this.closed) return;
    if (requestSource.transport !== 'udp') {
      const connection = requestSource.connectionId !== undefined ? this.connections.get(requestSource.connectionId) : undefined;
      if (connection && !connection.socket.destroyed) {
        connection.socket.write(serializeSipMessage(response));
        return;
      }
    }
    const via = topViaOf(response);
    if (!via) return;
    const address = viaParam(via.params, 'received') ?? via.host;
    const rport = viaParam(via.params, 'rport');
    const port = rport ? Number(rport) : (via.port ?? (requestSource.transport === 'tls' ? 5061 : 5060));
    this.send(response, { transport: requestSource.transport, address, port });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // The last BYEs of a shutdown are on their way: closing the socket under them would drop them.
    if (this.sendsInFlight > 0) await new Promise<void>((resolve) => (this.flushed = resolve));
    for (const connection of this.connections.values()) connection.socket.destroy();
    this.connections.clear();
    this.connectionsByPeer.clear();
    await Promise.all([
      this.udp ? new Promise<void>((resolve) => this.udp!.close(() => resolve())) : undefined,
      this.tcpServer ? new Promise<void>((resolve) => this.tcpServer!.close(() => resolve())) : undefined,
      this.tlsServer ? new Promise<void>((resolve) => this.tlsServer!.close(() => resolve())) : undefined,
    ]);
  }

  private sendDatagram(data: Buffer, address: string, port: number): void {
    if (!this.udp) {
      this.warnings.warn('no-udp', `SIP message to ${address}:${port} over UDP dropped: UDP is not enabled`);
      return;
    }
    try {
      this.sendsInFlight++;
      this.udp.send(data, port, address, (err) => {
        if (err) this.warnings.warn('udp-send', `SIP UDP send to ${address}:${port} failed: ${err.message}`);
        if (--this.sendsInFlight === 0) this.flushed?.();
      });
    } catch (err) {
      this.sendsInFlight--;
      // dgram throws synchronously for what it can check at once (port, socket state): never out of a receive handler.
      this.warnings.warn('udp-send', `SIP UDP send to ${address}:${port} failed: ${(err as Error).message}`);
    }
  }

  private connect(destination: SipEndpoint): net.Socket {
    const socket =
      destination.transport === 'tls'
        ? tls.connect({ host: destination.address, port: destination.port, rejectUnauthorized: false })
        : net.connect({ host: destination.address, port: destination.port });
    this.adopt(socket, destination.transport === 'tls' ? 'tls' : 'tcp', destination);
    return socket;
  }

  private adopt(socket: net.Socket, transport: 'tcp' | 'tls', peer?: SipEndpoint): void {
    const connection: StreamConnection = {
      id: this.nextConnectionId++,
      socket,
      transport,
      address: peer?.address ?? normaliseAddress(socket.remoteAddress ?? ''),
      port: peer?.port ?? socket.remotePort ?? 0,
      framer: new SipStreamFramer({ maxMessageBytes: this.maxMessageBytes }),
      recent: [],
    };
    this.connections.set(connection.id, connection);
    const key = peerKey(transport, connection.address, connection.port);
    this.connectionsByPeer.set(key, connection);
    socket.setNoDelay(true);
    socket.setTimeout(this.options.connectionIdleMs ?? DEFAULT_CONNECTION_IDLE_MS, () => socket.destroy());
    socket.on('data', (chunk) => this.onStreamData(connection, chunk));
    socket.on('error', (err) => this.warnings.warn(`${transport}-error`, `SIP ${transport.toUpperCase()} connection to ${connection.address}:${connection.port} failed: ${err.message}`));
    socket.on('close', () => {
      this.connections.delete(connection.id);
      if (this.connectionsByPeer.get(key) === connection) this.connectionsByPeer.delete(key);
    });
  }

  private onDatagram(data: Buffer, rinfo: dgram.RemoteInfo): void {
    if (isKeepAlive(data)) return;
    const source: SipEndpoint = { transport: 'udp', address: rinfo.address, port: rinfo.port };
    let message: SipMessage;
    try {
      message = parseSipMessage(data, { datagram: true, maxBytes: this.maxMessageBytes });
    } catch (err) {
      this.rejectMalformed(err, source);
      return;
    }
    this.deliver(message, source);
  }

  private onStreamData(connection: StreamConnection, chunk: Buffer): void {
    if (connection.unframeable) return;
    const source: SipEndpoint = { transport: connection.transport, address: connection.address, port: connection.port, connectionId: connection.id };
    const items = connection.framer.push(chunk);
    if (items.some((item) => 'message' in item)) connection.recent = [chunk];
    else {
      connection.recent.push(chunk);
      let bytes = connection.recent.reduce((sum, c) => sum + c.length, 0);
      while (connection.recent.length > 1 && bytes > 2 * this.maxMessageBytes) bytes -= connection.recent.shift()!.length;
    }
    for (const item of items) {
      if ('keepAlive' in item) {
        // RFC 5626: a double-CRLF ping gets a CRLF pong; a pong gets nothing (two peers would ping-pong for ever).
        if (!item.pong) connection.socket.write('\r\n');
      } else if ('error' in item) {
        if (item.fatal) {
          // Nothing after a message that cannot be framed can be found: answer it 400 when it is a request, then close.
          connection.unframeable = true;
          const request = unframeableRequest(Buffer.concat(connection.recent));
          this.rejectMalformed(request ? item.error.withPartial(request) : item.error, source);
          connection.socket.end(() => connection.socket.destroy());
          return;
        }
        this.rejectMalformed(item.error, source);
      } else {
        this.deliver(item.message, source);
      }
    }
  }

  private deliver(message: SipMessage, source: SipEndpoint): void {
    if (message.kind === 'request') stampReceived(message, source);
    try {
      this.emit('message', message, source);
    } catch (err) {
      // A bug in a handler must not take the transport (and every other call) down with it.
      this.options.logger.error({ err, source }, 'SIP message handler failed');
      try {
        if (message.kind === 'request' && message.method !== 'ACK') this.sendResponse(buildResponse(message, 500, { reason: 'Server Internal Error' }), source);
      } catch (inner) {
        this.warnings.warn('error-response', `SIP 500 after a handler failure not sent: ${(inner as Error).message}`);
      }
    }
  }

  private rejectMalformed(err: unknown, source: SipEndpoint): void {
    const reason = err instanceof Error ? err.message : String(err);
    const from = `${source.transport.toUpperCase()} ${source.address}:${source.port}`;
    this.warnings.warn('malformed', `malformed SIP message from ${from}: ${reason}`, { source: from });
    if (err instanceof SipParseError && err.partial && err.partial.method !== 'ACK') {
      stampReceived(err.partial, source);
      // 400, or the 505/513 the parser named; the reason phrase names the problem, so the peer's logs say what to fix.
      const response = buildResponse(err.partial, err.status, { toTag: newTag() });
      response.reason = `${response.reason} (${reason.replace(/[\r\n]/g, ' ').slice(0, 100)})`;
      this.sendResponse(response, source);
    }
  }
}

/** RFC 3261 18.2.1 / RFC 3581: record where a request really came from in its top Via, for the response. */
function stampReceived(request: SipRequest, source: SipEndpoint): void {
  const via = topViaOf(request);
  if (!via) return;
  let changed = false;
  // A `received` the peer wrote itself is replaced too: it would send our responses wherever the peer likes.
  const received = via.params.get('received');
  if (via.host !== source.address || (received !== undefined && received !== source.address)) {
    via.params.set('received', source.address);
    changed = true;
  }
  if (via.params.has('rport') && via.params.get('rport') === null) {
    via.params.set('rport', String(source.port));
    if (!via.params.has('received')) via.params.set('received', source.address);
    changed = true;
  }
  if (!changed) return;
  const all = request.headers.getAll('via');
  request.headers.remove('via');
  request.headers.append('Via', formatVia(via));
  for (const rest of all.slice(1)) request.headers.append('Via', rest);
}

function isUsablePort(port: number): boolean {
  return Number.isInteger(port) && port > 0 && port <= 65535;
}

/**
 * The request whose header section a stream framer could not frame (no, several or a malformed
 * Content-Length), found in `data`: the first request line whose header section does not have exactly
 * one numeric Content-Length. Undefined when there is none (the framer failed for another reason).
 */
function unframeableRequest(data: Buffer): SipRequest | undefined {
  const text = data.toString('latin1');
  let examinedUpTo = 0; // each header section is looked at once, from its first line: linear in the data
  for (const match of text.matchAll(/(?:^|\r\n)[A-Za-z][A-Za-z0-9.!%*_+`'~-]* [^\s]+ SIP\/2\.0\r\n/g)) {
    const start = match.index + (match[0].startsWith('\r\n') ? 2 : 0);
    if (start < examinedUpTo) continue;
    const end = text.indexOf('\r\n\r\n', start);
    if (end < 0) break;
    examinedUpTo = end + 4;
    const lengths = text
      .slice(start, end)
      .split('\r\n')
      .filter((line) => /^(?:content-length|l)[ \t]*:/i.test(line))
      .map((line) => line.slice(line.indexOf(':') + 1).trim());
    if (lengths.length === 1 && /^\d{1,10}$/.test(lengths[0])) continue;
    try {
      const message = parseSipMessage(data.subarray(start, end + 4), { datagram: true });
      return message.kind === 'request' ? message : undefined;
    } catch (err) {
      return err instanceof SipParseError ? err.partial : undefined;
    }
  }
  return undefined;
}

/** The message's top Via, parsed; undefined when it has none or it does not parse (nothing can be answered along it). */
function topViaOf(message: SipMessage): Via | undefined {
  const top = message.headers.get('via');
  if (!top) return undefined;
  try {
    return parseVia(top);
  } catch {
    return undefined;
  }
}

function viaParam(params: Map<string, string | null>, name: string): string | undefined {
  const value = params.get(name);
  return value === null || value === undefined || value === '' ? undefined : value;
}

function peerKey(transport: SipTransportName, address: string, port: number): string {
  return `${transport}:${address}:${port}`;
}

/** "::ffff:127.0.0.1" (a v4 peer on a dual-stack socket) -> "127.0.0.1". */
function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function explain(err: NodeJS.ErrnoException, transport: string, address: string, port: number): Error {
  const what = `SIP ${transport.toUpperCase()} cannot listen on ${address}:${port}`;
  if (err.code === 'EADDRINUSE') return new Error(`${what}: the port is in use (set carriers.sip.port)`, { cause: err });
  if (err.code === 'EACCES') return new Error(`${what}: permission denied (ports below 1024 need privileges; set carriers.sip.port)`, { cause: err });
  return new Error(`${what}: ${err.message}`, { cause: err });
}

function bindOrExplain(socket: dgram.Socket, address: string, port: number, transport: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(explain(err, transport, address, port));
    socket.once('error', onError);
    socket.bind(port, address, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

function listenOrExplain(server: net.Server, address: string, port: number, transport: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(explain(err, transport, address, port));
    server.once('error', onError);
    server.listen(port, address, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
