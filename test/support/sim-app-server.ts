/** A loopback stand-in for the application Plivo calls: records each request and answers with XML. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface CapturedRequest {
  method: string;
  path: string;
  /** The full URL as requested (what the signature covers). */
  url: string;
  headers: IncomingMessage['headers'];
  /** Form body (POST) or query parameters (GET) that are not part of the route's own query. */
  params: Record<string, string>;
  body: string;
}

type Responder = (req: CapturedRequest) => string | { status: number; body: string };

export class FakePlivoApp {
  readonly requests: CapturedRequest[] = [];
  private routes = new Map<string, Responder>();
  private waiters: { path: string; resolve: (r: CapturedRequest) => void; predicate?: (r: CapturedRequest) => boolean }[] = [];
  private server: Server | undefined;
  base = '';

  /** Answers `path` with `xml` (a string, or a function of the request). Unrouted paths get 404. */
  route(path: string, respond: string | Responder): this {
    this.routes.set(path, typeof respond === 'string' ? () => respond : respond);
    return this;
  }

  url(path: string): string {
    return `${this.base}${path}`;
  }

  /** Resolves with the next request to `path` (or an earlier one not yet awaited that matches). */
  waitFor(path: string, predicate?: (r: CapturedRequest) => boolean): Promise<CapturedRequest> {
    const seen = this.requests.find((r) => r.path === path && (!predicate || predicate(r)) && !(r as { claimed?: boolean }).claimed);
    if (seen) {
      (seen as { claimed?: boolean }).claimed = true;
      return Promise.resolve(seen);
    }
    return new Promise((resolve) => this.waiters.push({ path, resolve, predicate }));
  }

  async listen(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        const full = `${this.base}${req.url}`;
        const parsed = new URL(full);
        const params = req.method === 'POST' ? Object.fromEntries(new URLSearchParams(body)) : Object.fromEntries(parsed.searchParams);
        const captured: CapturedRequest = { method: req.method ?? '', path: parsed.pathname, url: full, headers: req.headers, params, body };
        this.requests.push(captured);
        const responder = this.routes.get(parsed.pathname);
        const answer = responder ? responder(captured) : { status: 404, body: 'not found' };
        const { status, body: out } = typeof answer === 'string' ? { status: 200, body: answer } : answer;
        res.writeHead(status, { 'Content-Type': 'application/xml' }).end(out);
        const i = this.waiters.findIndex((w) => w.path === captured.path && (!w.predicate || w.predicate(captured)));
        if (i >= 0) {
          (captured as { claimed?: boolean }).claimed = true;
          this.waiters.splice(i, 1)[0].resolve(captured);
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

export interface StreamMessage {
  event: string;
  [k: string]: unknown;
}

/** A loopback stream endpoint: accepts one or more sockets and records their JSON messages with arrival times. */
export class FakeStreamServer {
  private wss: WebSocketServer | undefined;
  base = '';
  sockets: WebSocket[] = [];
  upgradeHeaders: IncomingMessage['headers'][] = [];
  upgradeUrls: string[] = [];
  readonly messages: { at: number; msg: StreamMessage }[] = [];
  private waiters: { predicate: (m: StreamMessage) => boolean; resolve: (m: StreamMessage) => void }[] = [];
  private connectionWaiters: ((ws: WebSocket) => void)[] = [];

  async listen(): Promise<void> {
    this.wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => this.wss!.once('listening', () => resolve()));
    this.base = `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
    this.wss.on('connection', (ws, req) => {
      this.sockets.push(ws);
      this.upgradeHeaders.push(req.headers);
      this.upgradeUrls.push(`${this.base}${req.url}`);
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString()) as StreamMessage;
        this.messages.push({ at: performance.now(), msg });
        for (const w of [...this.waiters]) {
          if (w.predicate(msg)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(msg);
          }
        }
      });
      for (const w of this.connectionWaiters.splice(0)) w(ws);
    });
  }

  nextConnection(): Promise<WebSocket> {
    return new Promise((resolve) => this.connectionWaiters.push(resolve));
  }

  /** The first recorded message matching, or the next one to arrive. */
  waitFor(predicate: (m: StreamMessage) => boolean): Promise<StreamMessage> {
    const seen = this.messages.find((m) => predicate(m.msg));
    if (seen) return Promise.resolve(seen.msg);
    return new Promise((resolve) => this.waiters.push({ predicate, resolve }));
  }

  /** Resolves once `count` messages matching `predicate` have arrived. */
  async waitForCount(predicate: (m: StreamMessage) => boolean, count: number): Promise<void> {
    while (this.messages.filter((m) => predicate(m.msg)).length < count) {
      await new Promise<StreamMessage>((resolve) => this.waiters.push({ predicate, resolve }));
    }
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
  }
}
