/**
 * A bot-api bot server on the fake vendor server, speaking docs/protocols/bot-api.md, with
 * programmable behaviour: an echo bot that greets on start and hangs up on a keyword, relative or
 * absolute conversation URLs, one-shot faults (status, malformed body, held answer), forgotten
 * conversations (404), bearer or OAuth client-credentials auth with a token endpoint that counts
 * issuances, and pushes over the optional websocket.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { FakeVendorServer, receive, refuseUpgrade, RequestLog, sendJson } from './fake-vendor-server.js';

export type BotApiRequestKind = 'validate' | 'create' | 'activities' | 'refresh' | 'disconnect' | 'token' | 'websocket';

export interface RecordedBotApiRequest {
  kind: BotApiRequestKind;
  method: string;
  path: string;
  authorization?: string;
  /** Parsed JSON (or form fields for the token endpoint). */
  body: Record<string, unknown>;
  conversation?: string;
}

export interface BotApiFault {
  status?: number;
  /** Sent verbatim instead of the normal JSON answer. */
  rawBody?: string;
  /** Process the request but never answer (the client times out); the answer is dropped when the client hangs up. */
  hold?: boolean;
  /** Answer normally once this settles (a slow bot the test releases). */
  until?: Promise<unknown>;
}

export interface BotApiServerOptions {
  /** Bearer token the bot requires; '' or absent accepts requests without one (unless oauth is set). */
  token?: string;
  /** Enables the token endpoint at /oauth/token and requires tokens it issued. */
  oauth?: { clientId: string; clientSecret: string; expiresIn: number };
  /** expiresSeconds of the create answer, then of each refresh (the last value repeats). Default [60]. */
  expiresSeconds?: number[];
  websocket?: boolean;
  urlStyle?: 'relative' | 'absolute';
  greeting?: string;
  /** Sent with the greeting, after it (e.g. a sendMetaData event); anything not an object is sent as it is (a garbage activity). */
  afterGreeting?: unknown[];
  hangupKeyword?: string;
  /** A bot that reads only the first activity of each request (some do), ignoring the rest. */
  readsFirstActivityOnly?: boolean;
}

interface Conversation {
  id: string;
  /** Answers by activity id: a retried activity gets the same answer and is not processed again. */
  answers: Map<string, unknown>;
  socket?: WebSocket;
  refreshes: number;
}

type Activity = Record<string, unknown> & { id?: string; type?: string; name?: string; text?: string; value?: unknown };

export class BotApiServer extends EventEmitter<{ websocket: [conversation: string] }> {
  private readonly log = new RequestLog<RecordedBotApiRequest>();
  readonly requests = this.log.entries;
  /** How many times each activity id reached the bot logic. */
  readonly processed = new Map<string, number>();
  tokensIssued = 0;
  /** Answer websocket upgrades with 503 (a bot whose push channel is down). */
  refuseWebsockets = false;
  private readonly conversations = new Map<string, Conversation>();
  private readonly faults = new Map<BotApiRequestKind, BotApiFault[]>();
  private readonly issuedTokens = new Set<string>();
  private readonly server = new FakeVendorServer((req, res) => this.onRequest(req, res));
  private botSeq = 0;
  private token: string;

  private constructor(private readonly opts: BotApiServerOptions) {
    super();
    this.token = opts.token ?? '';
    this.server.onUpgrade((req, socket, head) => this.onUpgrade(req, socket, head));
  }

  static async start(opts: BotApiServerOptions = {}): Promise<BotApiServer> {
    const double = new BotApiServer(opts);
    await double.server.listen();
    return double;
  }

  get origin(): string {
    return this.server.origin;
  }

  /** The botURL to configure: no trailing slash, so relative paths resolve beside it, not under it. */
  get botUrl(): string {
    return `${this.origin}/api/bots/echo`;
  }

  get tokenUrl(): string {
    return `${this.origin}/oauth/token`;
  }

  /** Queues a one-shot fault for the next request of `kind`. */
  fault(kind: BotApiRequestKind, fault: BotApiFault): void {
    const list = this.faults.get(kind) ?? [];
    list.push(fault);
    this.faults.set(kind, list);
  }

  /** The bot drops the conversation: later requests for it get 404. */
  forget(conversation: string): void {
    this.conversations.get(conversation)?.socket?.close();
    this.conversations.delete(conversation);
  }

  /** Invalidates every OAuth token issued so far (the authorization server rotated its keys). */
  revokeTokens(): void {
    this.issuedTokens.clear();
  }

  /** Changes the bearer token the bot accepts (a rotated secret). */
  requireToken(token: string): void {
    this.token = token;
  }

  /** Sends a websocket frame to the conversation's socket: activities, or a raw text frame. */
  push(conversation: string, frame: Activity[] | string): void {
    const socket = this.conversations.get(conversation)?.socket;
    if (!socket) throw new Error(`bot-api double: conversation ${conversation} has no websocket`);
    socket.send(typeof frame === 'string' ? frame : JSON.stringify({ activities: frame.map((a) => this.botActivity(a)) }));
  }

  /** Resolves with the `nth` (1-based) request matching `match`, counting ones already received. */
  waitForRequest(match: (r: RecordedBotApiRequest) => boolean, nth = 1): Promise<RecordedBotApiRequest> {
    return this.log.matching(match, nth);
  }

  waitForWebsocket(conversation: string): Promise<void> {
    if (this.conversations.get(conversation)?.socket) return Promise.resolve();
    return new Promise((resolve) => {
      const on = (c: string) => {
        if (c !== conversation) return;
        this.off('websocket', on);
        resolve();
      };
      this.on('websocket', on);
    });
  }

  socketOf(conversation: string): WebSocket | undefined {
    return this.conversations.get(conversation)?.socket;
  }

  count(kind: BotApiRequestKind): number {
    return this.requests.filter((r) => r.kind === kind).length;
  }

  async close(): Promise<void> {
    await this.server.close();
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', this.origin).pathname;
    const { text: raw } = await receive(req);
    const kind = this.kindOf(req.method ?? 'GET', path);
    if (!kind) return sendJson(res, 404, { error: `no route ${req.method} ${path}` });
    let body: Record<string, unknown> = {};
    if (kind === 'token') {
      body = Object.fromEntries(new URLSearchParams(raw));
    } else if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        this.record(kind, req, path, {});
        return sendJson(res, 400, { error: 'body is not JSON' });
      }
    }
    const conversation = conversationOf(path) ?? (typeof body.conversation === 'string' ? body.conversation : undefined);
    this.record(kind, req, path, body, conversation);
    if (kind === 'token') return this.issueToken(req, body, res);

    const fault = this.faults.get(kind)?.shift();
    if (!this.authorized(req.headers.authorization)) return sendJson(res, 401, { error: 'unauthorized' });
    if (fault?.until) await fault.until;
    const answer = this.answer(kind, body, conversation);
    if (fault?.hold) return; // the client's timeout or hang-up ends this exchange
    if (fault?.rawBody !== undefined) return sendJson(res, fault.status ?? 200, fault.rawBody);
    if (fault?.status) return sendJson(res, fault.status, { error: `injected ${fault.status}` });
    sendJson(res, answer.status, answer.body);
  }

  private kindOf(method: string, path: string): BotApiRequestKind | undefined {
    if (path === '/oauth/token' && method === 'POST' && this.opts.oauth) return 'token';
    if (path === '/api/bots/echo') return method === 'GET' ? 'validate' : method === 'POST' ? 'create' : undefined;
    const m = /^\/api\/bots\/conversations\/[^/]+\/(activities|refresh|disconnect)$/.exec(path);
    return m && method === 'POST' ? (m[1] as BotApiRequestKind) : undefined;
  }

  private record(kind: BotApiRequestKind, req: IncomingMessage, path: string, body: Record<string, unknown>, conversation?: string): void {
    const r: RecordedBotApiRequest = { kind, method: req.method ?? 'GET', path, authorization: req.headers.authorization, body, conversation };
    this.log.add(r);
  }

  private authorized(header: string | undefined): boolean {
    const bearer = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    if (this.opts.oauth) return bearer !== undefined && this.issuedTokens.has(bearer);
    if (!this.token) return true;
    return bearer === this.token;
  }

  private answer(kind: BotApiRequestKind, body: Record<string, unknown>, id: string | undefined): { status: number; body: unknown } {
    if (kind === 'validate') return { status: 200, body: { type: 'ac-bot-api', success: true } };
    if (!id) return { status: 400, body: { error: 'missing conversation' } };
    if (kind === 'create') {
      this.conversations.set(id, { id, answers: new Map(), refreshes: 0 });
      const rel = `conversations/${encodeURIComponent(id)}`;
      const url = (p: string) => (this.opts.urlStyle === 'absolute' ? `${this.origin}/api/bots/${rel}/${p}` : `${rel}/${p}`);
      return {
        status: 200,
        body: {
          activitiesURL: url('activities'),
          refreshURL: url('refresh'),
          disconnectURL: url('disconnect'),
          expiresSeconds: this.expiresSeconds(0),
          ...(this.opts.websocket ? { websocketURL: url('ws').replace(/^http/, 'ws') } : {}),
        },
      };
    }
    const conv = this.conversations.get(id);
    if (!conv) return { status: 404, body: { error: `unknown conversation ${id}` } };
    if (kind === 'refresh') return { status: 200, body: { expiresSeconds: this.expiresSeconds(++conv.refreshes) } };
    if (kind === 'disconnect') {
      conv.socket?.close(1000, 'disconnected');
      this.conversations.delete(id);
      return { status: 200, body: {} };
    }
    const all = Array.isArray(body.activities) ? (body.activities as Activity[]) : [];
    const activities = this.opts.readsFirstActivityOnly ? all.slice(0, 1) : all;
    const replies: Activity[] = [];
    for (const a of activities) {
      const key = String(a.id);
      const cached = conv.answers.get(key);
      if (cached) {
        replies.push(...(cached as Activity[]));
        continue;
      }
      this.processed.set(key, (this.processed.get(key) ?? 0) + 1);
      const reply = this.react(a);
      conv.answers.set(key, reply);
      replies.push(...reply);
    }
    return { status: 200, body: replies.length ? { activities: replies } : {} };
  }

  /** The echo bot. */
  private react(a: Activity): Activity[] {
    if (a.type === 'event' && a.name === 'start') {
      return [this.botActivity({ type: 'message', text: this.opts.greeting ?? 'Hello, I am the echo bot.' }), ...(this.opts.afterGreeting ?? []).map((extra) => (isActivity(extra) ? this.botActivity(extra) : (extra as Activity)))];
    }
    if (a.type === 'message' && typeof a.text === 'string') {
      const keyword = this.opts.hangupKeyword ?? 'goodbye';
      if (a.text.toLowerCase().includes(keyword)) {
        return [
          this.botActivity({ type: 'message', text: 'Goodbye!' }),
          this.botActivity({ type: 'event', name: 'hangup', activityParams: { hangupReason: `caller said ${keyword}` } }),
        ];
      }
      return [this.botActivity({ type: 'message', text: `You said: ${a.text}` })];
    }
    if (a.type === 'event' && a.name === 'DTMF') return [this.botActivity({ type: 'message', text: `You pressed ${String(a.value)}` })];
    return [];
  }

  private botActivity(a: Activity): Activity {
    return { id: a.id ?? `bot-${++this.botSeq}`, timestamp: new Date().toISOString(), ...a };
  }

  private expiresSeconds(i: number): number {
    const list = this.opts.expiresSeconds ?? [60];
    return list[Math.min(i, list.length - 1)];
  }

  private issueToken(req: IncomingMessage, form: Record<string, unknown>, res: ServerResponse): void {
    const oauth = this.opts.oauth!;
    let id = form.client_id;
    let secret = form.client_secret;
    const basic = req.headers.authorization?.startsWith('Basic ') ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString() : undefined;
    if (basic) {
      const sep = basic.indexOf(':');
      id = decodeURIComponent(basic.slice(0, sep));
      secret = decodeURIComponent(basic.slice(sep + 1));
    }
    if (form.grant_type !== 'client_credentials') return sendJson(res, 400, { error: 'unsupported_grant_type' });
    if (id !== oauth.clientId || secret !== oauth.clientSecret) return sendJson(res, 401, { error: 'invalid_client' });
    const token = `token-${++this.tokensIssued}`;
    this.issuedTokens.add(token);
    sendJson(res, 200, { access_token: token, token_type: 'Bearer', expires_in: oauth.expiresIn });
  }

  // ---- websocket ----------------------------------------------------------------------------

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', this.origin).pathname;
    const id = /^\/api\/bots\/conversations\/([^/]+)\/ws$/.test(path) ? conversationOf(path) : undefined;
    const conv = id ? this.conversations.get(id) : undefined;
    this.record('websocket', req, path, {}, id);
    if (!conv) return refuseUpgrade(socket, 404);
    if (this.refuseWebsockets) return refuseUpgrade(socket, 503);
    if (!this.authorized(req.headers.authorization)) return refuseUpgrade(socket, 401);
    this.server.acceptWebSocket(req, socket, head, (ws) => {
      conv.socket = ws;
      ws.on('close', () => {
        if (conv.socket === ws) conv.socket = undefined;
      });
      this.emit('websocket', conv.id);
    });
  }
}

function isActivity(v: unknown): v is Activity {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function conversationOf(path: string): string | undefined {
  const m = /\/conversations\/([^/]+)\//.exec(path);
  return m ? decodeURIComponent(m[1]) : undefined;
}
