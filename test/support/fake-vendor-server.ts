/**
 * What every loopback double of a vendor's HTTP (or WebSocket) API does the same way, so each double
 * is only its vendor: its routes, wire format, auth and error bodies.
 * - FakeVendorServer listens on an ephemeral 127.0.0.1 port, hands every request to the double,
 *   keeps track of responses still open (a request the double stalls, a client that gave up) and
 *   closes with none left hanging;
 * - receive() reads a request's body (raw, text and parsed JSON);
 * - RequestLog records what arrived and lets a test wait for the nth request (or the nth matching one);
 * - sendJson, neverAnswer, dropConnection and writeChunked are the scripted behaviours doubles share:
 *   an answer, a stall, a connection cut (of a response or a WebSocket), and a body sent in pieces
 *   (optionally cut mid-body);
 * - WebSocket doubles take upgrades with onUpgrade(), then acceptWebSocket() or refuseUpgrade()
 *   (the vendor's status, headers and body); close() ends every socket, upgraded ones included;
 * - LoopbackDouble is the public face most HTTP doubles share (start, url, closedEarly, nextClose,
 *   close): a double extends it and writes only handle().
 */
import { createServer, STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/** A request whose body was read in full. */
export interface ReceivedRequest {
  method: string;
  /** As sent: path and query. */
  url: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  text: string;
  /** The body parsed as JSON; undefined when it is empty or not JSON. */
  json: unknown;
}

export type VendorRoute = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface FakeVendorServerOptions {
  /** A route that threw or rejected; default: the error's text as the body (a 500 unless headers went out). */
  onRouteError?: (err: unknown, res: ServerResponse) => void;
}

export class FakeVendorServer {
  readonly http: Server;
  /** Responses closed before the double finished them (the client gave up, or the double cut them). */
  closedEarly = 0;
  private readonly open = new Set<ServerResponse>();
  /**
   * Every connection, upgraded ones included: once a socket is upgraded the HTTP server no longer
   * counts it, so closeAllConnections() alone would leave WebSockets (and their test) hanging.
   */
  private readonly sockets = new Set<Socket>();
  private readonly webSockets = new WebSocketServer({ noServer: true });
  private closeWaiters: Array<() => void> = [];
  private listenedPort = 0;

  constructor(
    route: VendorRoute,
    private readonly options: FakeVendorServerOptions = {},
  ) {
    this.http = createServer((req, res) => this.serve(route, req, res));
    this.http.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /**
   * Routes requests sent with `Expect: 100-continue` here instead, before their body: the double
   * decides whether to accept it (res.writeContinue()) or answer at once, as a vendor checking
   * auth first does.
   */
  onExpectContinue(route: VendorRoute): void {
    this.http.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => this.serve(route, req, res));
  }

  /** Listens on an ephemeral loopback port. */
  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.http.listen(0, '127.0.0.1', resolve));
    this.listenedPort = (this.http.address() as AddressInfo).port;
    return this;
  }

  /** The port listened on; still known after close(), so a test can aim a client at a vendor that is gone. */
  get port(): number {
    return this.listenedPort;
  }

  /** `http://127.0.0.1:<port>`. */
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Takes WebSocket upgrades (and any other Upgrade request): the handler checks what the vendor
   * checks, then calls acceptWebSocket() or refuseUpgrade().
   */
  onUpgrade(handler: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): void {
    this.http.on('upgrade', handler);
  }

  /** Completes the WebSocket handshake of an upgrade; `onOpen` gets the socket, which close() ends. */
  acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, onOpen: (ws: WebSocket) => void): void {
    this.webSockets.handleUpgrade(req, socket, head, onOpen);
  }

  /** Resolves when some response is closed (by the client or the double). */
  nextClose(): Promise<void> {
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  private serve(route: VendorRoute, req: IncomingMessage, res: ServerResponse): void {
    this.open.add(res);
    res.on('close', () => {
      this.open.delete(res);
      if (!res.writableFinished) this.closedEarly++;
      const waiters = this.closeWaiters;
      this.closeWaiters = [];
      for (const w of waiters) w();
    });
    const onRouteError = this.options.onRouteError ?? answerRouteError;
    try {
      void Promise.resolve(route(req, res)).catch((err: unknown) => onRouteError(err, res));
    } catch (err) {
      onRouteError(err, res);
    }
  }

  /** Ends stalled responses, WebSockets without a close frame and every connection, then stops listening. */
  async close(): Promise<void> {
    for (const res of this.open) res.destroy();
    for (const ws of this.webSockets.clients) ws.terminate();
    for (const socket of this.sockets) socket.destroy();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => (this.http.listening ? this.http.close(() => resolve()) : resolve()));
  }
}

/**
 * What an HTTP double shows a test besides its vendor: start() on a loopback port, `url` (its
 * origin), how many responses the client cut short, and close(). A double extends it and writes
 * handle(), its routes.
 */
export abstract class LoopbackDouble {
  /** `http://127.0.0.1:<port>` once started. */
  url = '';
  protected readonly server: FakeVendorServer;

  constructor(options: FakeVendorServerOptions = {}) {
    this.server = new FakeVendorServer((req, res) => this.handle(req, res), options);
  }

  /** The vendor: routes, auth, wire format and error bodies. */
  protected abstract handle(req: IncomingMessage, res: ServerResponse): void | Promise<void>;

  async start(): Promise<this> {
    await this.server.listen();
    this.url = this.server.origin;
    return this;
  }

  /** Responses closed before the double finished them (client aborts). */
  get closedEarly(): number {
    return this.server.closedEarly;
  }

  /** Resolves when some response is closed (by the client or the double). */
  nextClose(): Promise<void> {
    return this.server.nextClose();
  }

  async close(): Promise<void> {
    await this.server.close();
  }
}

function answerRouteError(err: unknown, res: ServerResponse): void {
  if (!res.headersSent) res.writeHead(500);
  res.end(String(err));
}

/** Reads the whole body of a request. */
export async function receive(req: IncomingMessage): Promise<ReceivedRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const text = raw.toString('utf8');
  let json: unknown;
  try {
    json = text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    json = undefined;
  }
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  return { method: req.method ?? '', url: req.url ?? '', path: url.pathname, query: url.searchParams, headers: req.headers, raw, text, json };
}

/** What a double received, in order; a test can wait for requests still to come. */
export class RequestLog<T> {
  readonly entries: T[] = [];
  private waiters: { ready: () => boolean; resolve: () => void }[] = [];

  add(entry: T): void {
    this.entries.push(entry);
    this.waiters = this.waiters.filter((w) => (w.ready() ? (w.resolve(), false) : true));
  }

  /** Resolves with every entry once `count` have arrived in all. */
  async atLeast(count: number): Promise<T[]> {
    await this.until(() => this.entries.length >= count);
    return this.entries;
  }

  /** The nth entry (0-based), now or when it arrives. */
  async nth(n: number): Promise<T> {
    return (await this.atLeast(n + 1))[n]!;
  }

  /** The `nth` (1-based) entry matching `match`, counting those already logged; now or when it arrives. */
  async matching(match: (entry: T) => boolean, nth = 1): Promise<T> {
    await this.until(() => this.entries.filter(match).length >= nth);
    return this.entries.filter(match)[nth - 1]!;
  }

  private async until(ready: () => boolean): Promise<void> {
    if (!ready()) await new Promise<void>((resolve) => this.waiters.push({ ready, resolve }));
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

/** A request the double takes and never answers: the client's deadline must fire (close() ends it). */
export function neverAnswer(): Promise<void> {
  return new Promise<void>(() => {});
}

/**
 * Cuts the connection under a response or a WebSocket mid-stream: the client sees a reset, with
 * neither an HTTP answer nor a close frame (a network loss, a vendor process that died).
 */
export function dropConnection(target: ServerResponse | WebSocket): void {
  if ('terminate' in target) target.terminate();
  else target.socket?.destroy();
}

/**
 * Answers an upgrade with an HTTP response instead of 101, as a vendor (or the proxy in front of
 * it) refusing a WebSocket does; the reason phrase defaults to the standard one for `status`.
 */
export function refuseUpgrade(
  socket: Duplex,
  status: number,
  answer: { headers?: Record<string, string>; body?: string; reason?: string } = {},
): void {
  const body = answer.body ?? '';
  const head = [
    `HTTP/1.1 ${status} ${answer.reason ?? STATUS_CODES[status] ?? 'Refused'}`,
    ...Object.entries(answer.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

/** Writes `bytes` in `count` pieces of odd sizes, awaiting gates between them; destroys the response at piece `cutAfter`. */
export async function writeChunked(res: ServerResponse, bytes: Uint8Array, count: number, gates: Promise<void>[] = [], cutAfter = Infinity): Promise<void> {
  const size = Math.ceil(bytes.length / count) | 1;
  let off = 0;
  for (let i = 0; off < bytes.length; i++) {
    if (i > 0) {
      const gate = gates[i - 1] as Promise<void> | undefined;
      if (gate) await gate;
      else await new Promise<void>((r) => setImmediate(r));
    }
    if (res.destroyed) return;
    if (i >= cutAfter) {
      res.destroy();
      return;
    }
    const piece = bytes.subarray(off, Math.min(bytes.length, off + size));
    off += piece.length;
    await new Promise<void>((resolve) => res.write(piece, () => resolve()));
  }
  res.end();
}
