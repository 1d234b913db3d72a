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
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dropConnection, FakeVendorServer, receive, RequestLog, sendJson } from './fake-vendor-server.js';
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
  private readonly log = new RequestLog<RasaReceived>();
  readonly received = this.log.entries;
  /** Scripted answer per message; default: no bot messages (`[]`). May be async to hold an answer until the test releases it. */
  reply: (msg: RasaReceived) => RasaReply | Promise<RasaReply> = () => [];
  private answered = 0;

  // A route that throws (a test's reply function, say) drops the connection.
  private readonly server = new FakeVendorServer((req, res) => this.handle(req, res), { onRouteError: (_err, res) => res.destroy() });

  constructor(readonly options: RasaServerOptions = {}) {}

  /** The base URL a Voxgate config names (`rasa.url`). */
  get url(): string {
    return this.server.origin;
  }

  async listen(): Promise<this> {
    await this.server.listen();
    return this;
  }

  /** Ends held answers and every connection. */
  async close(): Promise<void> {
    await this.server.close();
  }

  /** Resolves with the `n`th message received (0-based), now or when it arrives. */
  message(n = 0): Promise<RasaReceived> {
    return this.log.nth(n);
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
      sendJson(res, 404, { description: 'Not Found', status: 404, message: `Requested URL ${url.pathname} not found` });
      return;
    }
    const { text } = await receive(req);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      sendJson(res, 400, { description: 'Bad Request', status: 400, message: 'Failed when parsing body as json' });
      return;
    }
    const sender = typeof body.sender === 'string' ? body.sender : 'default';
    const denied = await this.authorized(req, url.searchParams.get('token'), sender);
    if (denied) {
      sendJson(res, denied.status, errorResponse(denied.status, denied.reason, denied.message));
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
    this.log.add(received);
    const reply = await this.reply(received);
    if (reply === 'hold') return; // left open: close() ends it
    if (reply === 'drop') return dropConnection(res);
    this.answered++;
    if (Array.isArray(reply)) sendJson(res, 200, reply.map((m) => ({ recipient_id: sender, ...m })));
    else sendJson(res, reply.status, reply.body);
  }
}
