/**
 * A Rasa server on loopback speaking the REST channel as `rasa run` does: `POST
 * /webhooks/rest/webhook` with `{sender, message, metadata?}` answered by a JSON array of bot
 * messages, each carrying `recipient_id` (CollectingOutputChannel). Stock Rasa does not guard
 * channel webhooks; when given credentials the double guards it the way rasa.server's requires_auth
 * guards the HTTP API (as a deployment that protects the channel does): `?token=` (--auth-token) or
 * an HS256 JWT Bearer (--jwt-secret) whose `user.role` is admin, or user with `user.username` equal
 * to the sender; failures get Rasa's ErrorResponse body. A channel not listed in credentials.yml gets
 * Sanic's 404. Tests script the bot's answers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';

export const RASA_VERSION = '3.6.20';

export interface RasaServerOptions {
  /** `rasa run --auth-token`: required as the `token` query parameter. */
  authToken?: string;
  /** `rasa run --jwt-secret` (HS256): a Bearer JWT signed with it is accepted. */
  jwtSecret?: string;
  /** Channels in credentials.yml. Default `['rest']`. */
  channels?: string[];
}

export interface RasaReceived {
  channel: string;
  sender: string;
  message: string;
  metadata?: Record<string, unknown>;
  /** The `token` query parameter as received. */
  token?: string;
  authorization?: string;
  /** How many messages Rasa had already answered when this one arrived. */
  answeredBefore: number;
}

/** One bot message; `recipient_id` is added by the server as Rasa does. */
export type RasaBotMessage = { text?: string; image?: string; buttons?: { title: string; payload: string }[]; custom?: unknown; attachment?: unknown };

/** What Rasa does with one message: bot messages, a raw status/body (string sent as is), never answer, or drop the connection. */
export type RasaReply = RasaBotMessage[] | { status: number; body: unknown } | 'hold' | 'drop';

function errorResponse(status: number, reason: string, message: string): Record<string, unknown> {
  return { version: RASA_VERSION, status: 'failure', message, reason, details: {}, help: null, code: status };
}

export class RasaServer {
  readonly received: RasaReceived[] = [];
  /** Scripted answer per message; default: no bot messages (`[]`). May be async to hold an answer until the test releases it. */
  reply: (msg: RasaReceived) => RasaReply | Promise<RasaReply> = () => [];
  private answered = 0;
  private server?: Server;
  private held: ServerResponse[] = [];
  private waiters: { n: number; resolve: (r: RasaReceived) => void }[] = [];

  constructor(readonly options: RasaServerOptions = {}) {}

  /** The base URL a Voxgate config names (`rasa.url`). */
  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async listen(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async close(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.held = [];
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server?.listening ? this.server.close(() => resolve()) : resolve()));
  }

  /** Resolves with the `n`th message received (0-based), now or when it arrives. */
  message(n = 0): Promise<RasaReceived> {
    if (this.received.length > n) return Promise.resolve(this.received[n]!);
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    const payload = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json' }).end(payload);
  }

  private async authorized(req: IncomingMessage, token: string | null, sender: string): Promise<{ status: number; reason: string; message: string } | undefined> {
    const { authToken, jwtSecret } = this.options;
    if (authToken === undefined && jwtSecret === undefined) return undefined; // authentication disabled
    if (authToken !== undefined && token === authToken) return undefined;
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (jwtSecret !== undefined && bearer) {
      let payload: Record<string, unknown> | undefined;
      try {
        ({ payload } = await jwtVerify(bearer, new TextEncoder().encode(jwtSecret), { algorithms: ['HS256'] }));
      } catch {
        payload = undefined;
      }
      if (payload) {
        const user = (payload.user ?? {}) as { username?: unknown; role?: unknown };
        if (user.role === 'admin' || (user.role === 'user' && user.username === sender)) return undefined;
        return { status: 403, reason: 'NotAuthorized', message: 'User has insufficient permissions.' };
      }
    }
    return { status: 401, reason: 'NotAuthenticated', message: 'User is not authenticated.' };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://rasa');
    const route = /^\/webhooks\/([^/]+)\/webhook$/.exec(url.pathname);
    const channels = this.options.channels ?? ['rest'];
    if (req.method === 'GET' && url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`Hello from Rasa: ${RASA_VERSION}`);
      return;
    }
    if (req.method !== 'POST' || !route || !channels.includes(route[1]!)) {
      // Sanic's own 404 (JSON for a JSON request): the channel's blueprint is not registered.
      this.send(res, 404, { description: 'Not Found', status: 404, message: `Requested URL ${url.pathname} not found` });
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      this.send(res, 400, { description: 'Bad Request', status: 400, message: 'Failed when parsing body as json' });
      return;
    }
    const sender = typeof body.sender === 'string' ? body.sender : 'default';
    const denied = await this.authorized(req, url.searchParams.get('token'), sender);
    if (denied) {
      this.send(res, denied.status, errorResponse(denied.status, denied.reason, denied.message));
      return;
    }
    const received: RasaReceived = {
      channel: route[1]!,
      sender,
      message: String(body.message ?? ''),
      metadata: body.metadata as Record<string, unknown> | undefined,
      token: url.searchParams.get('token') ?? undefined,
      authorization: req.headers.authorization,
      answeredBefore: this.answered,
    };
    this.received.push(received);
    this.notify();
    const reply = await this.reply(received);
    if (reply === 'hold') {
      this.held.push(res);
      return;
    }
    if (reply === 'drop') {
      res.socket?.destroy();
      return;
    }
    this.answered++;
    if (Array.isArray(reply)) this.send(res, 200, reply.map((m) => ({ recipient_id: sender, ...m })));
    else this.send(res, reply.status, reply.body);
  }

  private notify(): void {
    for (const w of [...this.waiters]) {
      if (this.received.length > w.n) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(this.received[w.n]!);
      }
    }
  }
}
