/**
 * A Direct Line 3.0 service with an echo bot behind it, on the fake vendor server, speaking the
 * documented API: Bearer secret/token auth with ErrorResponse bodies (`{"error":{"code","message"}}`),
 * POST /tokens/generate and /tokens/refresh, POST /conversations (201, token, expires_in,
 * streamUrl), GET /conversations/{id}?watermark= (reconnect), POST .../activities (`{id}`), GET
 * .../activities?watermark= (ActivitySet), and the preauthorized WebSocket stream that pushes
 * ActivitySets (including the client's own activities, as Direct Line does) and resumes after a
 * watermark. Tokens expire on the double's clock; one-shot faults, dropped streams, raw frames.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { dropConnection, FakeVendorServer, receive, refuseUpgrade, RequestLog, sendJson } from './fake-vendor-server.js';

export type DirectLineRequestKind = 'generate' | 'refresh' | 'create' | 'reconnect' | 'post-activity' | 'get-activities' | 'stream';

export interface RecordedDirectLineRequest {
  kind: DirectLineRequestKind;
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
  body: Record<string, unknown>;
  conversationId?: string;
}

export interface DirectLineFault {
  status?: number;
  /** ErrorResponse code and message sent with `status`. */
  code?: string;
  message?: string;
  /** Sent verbatim (with `status`, default 200) instead of the normal answer. */
  rawBody?: string;
  /** Never answer (the client times out). */
  hold?: boolean;
}

export interface DirectLineServerOptions {
  /** The channel secret. Default 'dl-secret'. */
  secret?: string;
  /** Token lifetime in seconds. Default 1800 (what Direct Line grants). */
  expiresIn?: number;
  /** What the bot says on the start event. */
  greeting?: string[];
  /** Time source for token expiry (ms); share the test's FakeClock. Default Date.now. */
  now?: () => number;
}

/** Bot Framework activity, loosely typed: the double checks only what Direct Line checks. */
export type DlActivity = Record<string, unknown> & { type?: string; id?: string; from?: { id?: string; name?: string }; text?: string; name?: string; value?: unknown };

interface Conversation {
  id: string;
  /** Everything posted to the conversation, client's and bot's; the watermark is an index into it. */
  log: DlActivity[];
  streams: Set<WebSocket>;
}

interface IssuedToken {
  conversationId: string;
  expiresAt: number;
}

export const BOT_ACCOUNT = { id: 'echo-bot@direct-line', name: 'Echo Bot', role: 'bot' };

export class DirectLineServer extends EventEmitter<{ stream: [conversationId: string]; streamClosed: [conversationId: string, code: number] }> {
  private readonly log = new RequestLog<RecordedDirectLineRequest>();
  readonly requests = this.log.entries;
  /** Answer stream upgrades with 403 (a network that blocks WebSockets). */
  refuseStreams = false;
  private readonly secret: string;
  private readonly expiresIn: number;
  private readonly greeting: string[];
  private readonly now: () => number;
  private readonly conversations = new Map<string, Conversation>();
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly faults = new Map<DirectLineRequestKind, DirectLineFault[]>();
  private readonly server = new FakeVendorServer((req, res) => this.onRequest(req, res));
  private seq = 0;

  private constructor(opts: DirectLineServerOptions) {
    super();
    this.secret = opts.secret ?? 'dl-secret';
    this.expiresIn = opts.expiresIn ?? 1800;
    this.greeting = opts.greeting ?? ['Hello, this is the echo bot.'];
    this.now = opts.now ?? Date.now;
    this.server.onUpgrade((req, socket, head) => this.onUpgrade(req, socket, head));
  }

  static async start(opts: DirectLineServerOptions = {}): Promise<DirectLineServer> {
    const double = new DirectLineServer(opts);
    await double.server.listen();
    return double;
  }

  /** The `baseUrl` to configure. */
  get baseUrl(): string {
    return `${this.server.origin}/v3/directline`;
  }

  get secretValue(): string {
    return this.secret;
  }

  /** Queues a one-shot fault for the next request of `kind`. */
  fault(kind: DirectLineRequestKind, fault: DirectLineFault): void {
    this.faults.set(kind, [...(this.faults.get(kind) ?? []), fault]);
  }

  /** The conversation is gone (expired on Direct Line's side): its requests get 404. */
  forget(conversationId: string): void {
    const c = this.conversations.get(conversationId);
    for (const s of c?.streams ?? []) dropConnection(s);
    this.conversations.delete(conversationId);
  }

  /** The bot sends an activity on its own (proactive message, late answer). */
  push(conversationId: string, activity: DlActivity): void {
    this.appendBot(this.conversation(conversationId), activity);
  }

  /** Sends a raw text message on the conversation's open streams. */
  sendRaw(conversationId: string, text: string): void {
    for (const s of this.conversation(conversationId).streams) s.send(text);
  }

  /** Cuts the conversation's streams without a close handshake (network loss). */
  dropStreams(conversationId: string): void {
    const c = this.conversation(conversationId);
    for (const s of c.streams) dropConnection(s);
    c.streams.clear();
  }

  streamCount(conversationId: string): number {
    return this.conversations.get(conversationId)?.streams.size ?? 0;
  }

  /** The client's and the bot's activities, in order. */
  transcript(conversationId: string): DlActivity[] {
    return [...this.conversation(conversationId).log];
  }

  onlyConversation(): string {
    const ids = [...this.conversations.keys()];
    if (ids.length !== 1) throw new Error(`direct-line double: ${ids.length} conversations, expected 1`);
    return ids[0];
  }

  /** Resolves with the `nth` (1-based) request matching `match`, counting ones already received. */
  waitForRequest(match: (r: RecordedDirectLineRequest) => boolean, nth = 1): Promise<RecordedDirectLineRequest> {
    return this.log.matching(match, nth);
  }

  /** Resolves when the conversation has an open stream. */
  waitForStream(conversationId: string): Promise<void> {
    if (this.streamCount(conversationId) > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const on = (id: string) => {
        if (id !== conversationId) return;
        this.off('stream', on);
        resolve();
      };
      this.on('stream', on);
    });
  }

  /** Resolves with the close code once the conversation has no open stream left. */
  waitForStreamsClosed(conversationId: string): Promise<number | undefined> {
    if (this.streamCount(conversationId) === 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const on = (id: string, code: number) => {
        if (id !== conversationId || this.streamCount(conversationId) > 0) return;
        this.off('streamClosed', on);
        resolve(code);
      };
      this.on('streamClosed', on);
    });
  }

  count(kind: DirectLineRequestKind): number {
    return this.requests.filter((r) => r.kind === kind).length;
  }

  async close(): Promise<void> {
    await this.server.close();
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.server.origin);
    const method = req.method ?? 'GET';
    const { text: raw } = await receive(req);
    const route = routeOf(method, url.pathname);
    if (!route) return sendError(res, 404, 'BadArgument', `No route for ${method} ${url.pathname}`);
    let body: Record<string, unknown> = {};
    if (raw.trim()) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        this.record(route.kind, req, url, {}, route.conversationId);
        return sendError(res, 400, 'BadArgument', 'The request body is not valid JSON');
      }
    }
    this.record(route.kind, req, url, body, route.conversationId);
    const fault = this.faults.get(route.kind)?.shift();
    if (fault?.hold) return; // never answered; destroyed on close()
    if (fault?.rawBody !== undefined) return sendJson(res, fault.status ?? 200, fault.rawBody);
    if (fault?.status) return sendError(res, fault.status, fault.code ?? 'ServiceError', fault.message ?? 'Injected fault');

    const auth = this.authenticate(req.headers.authorization, route.kind, route.conversationId);
    if ('status' in auth) return sendError(res, auth.status, auth.code, auth.message);

    switch (route.kind) {
      case 'generate': {
        const c = this.createConversation();
        return answerJson(res, 200, { conversationId: c.id, token: this.issueToken(c.id), expires_in: this.expiresIn });
      }
      case 'refresh':
        return answerJson(res, 200, { conversationId: auth.conversationId, token: this.issueToken(auth.conversationId!), expires_in: this.expiresIn });
      case 'create': {
        // A token from /tokens/generate already names its conversation: start that one (201), as Direct Line does.
        const existing = auth.conversationId ? this.conversations.get(auth.conversationId) : undefined;
        const c = existing ?? this.createConversation();
        const token = auth.token ?? this.issueToken(c.id);
        return answerJson(res, 201, { conversationId: c.id, token, expires_in: this.expiresIn, streamUrl: this.streamUrl(c.id, token) });
      }
      case 'reconnect': {
        const c = this.conversations.get(route.conversationId!);
        if (!c) return sendError(res, 404, 'BadArgument', 'Conversation not found');
        const token = auth.token ?? this.issueToken(c.id);
        const watermark = url.searchParams.get('watermark') ?? undefined;
        return answerJson(res, 200, { conversationId: c.id, token, expires_in: this.expiresIn, streamUrl: this.streamUrl(c.id, token, watermark) });
      }
      case 'post-activity': {
        const c = this.conversations.get(route.conversationId!);
        if (!c) return sendError(res, 404, 'BadArgument', 'Conversation not found');
        if (typeof body.type !== 'string') return sendError(res, 400, 'MissingProperty', 'Activity type is required');
        const id = this.append(c, { ...body, channelId: 'directline', conversation: { id: c.id }, timestamp: new Date(this.now()).toISOString() });
        answerJson(res, 200, { id });
        this.botTurn(c, { ...body, id });
        return;
      }
      case 'get-activities': {
        const c = this.conversations.get(route.conversationId!);
        if (!c) return sendError(res, 404, 'BadArgument', 'Conversation not found');
        const from = Number(url.searchParams.get('watermark') ?? '0') || 0;
        // typing activities travel on the WebSocket only.
        return answerJson(res, 200, { activities: c.log.slice(from).filter((a) => a.type !== 'typing'), watermark: String(c.log.length) });
      }
      default:
        return sendError(res, 404, 'BadArgument', 'Not found');
    }
  }

  /** Secrets open conversations and generate tokens; tokens are scoped to their conversation and expire. */
  private authenticate(header: string | undefined, kind: DirectLineRequestKind, conversationId?: string): { token?: string; conversationId?: string } | { status: number; code: string; message: string } {
    const match = /^Bearer (.+)$/.exec(header ?? '');
    if (!match) return { status: 401, code: 'BadArgument', message: 'Missing token or secret' };
    const credential = match[1];
    if (credential === this.secret) {
      if (kind === 'refresh') return { status: 403, code: 'BadArgument', message: 'A secret cannot be refreshed; refresh a token' };
      return {};
    }
    const token = this.tokens.get(credential);
    if (!token) return { status: 403, code: 'BadArgument', message: 'Invalid token or secret' };
    if (token.expiresAt <= this.now()) return { status: 403, code: 'TokenExpired', message: 'Token expired' };
    if (kind === 'generate') return { status: 403, code: 'BadArgument', message: 'Tokens are generated with the secret' };
    if (conversationId && conversationId !== token.conversationId) return { status: 403, code: 'BadArgument', message: 'Token not valid for this conversation' };
    return { token: credential, conversationId: token.conversationId };
  }

  // ---- WebSocket stream ---------------------------------------------------------------------

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', this.server.origin);
    const m = /^\/v3\/directline\/conversations\/([^/]+)\/stream$/.exec(url.pathname);
    const conversationId = m ? decodeURIComponent(m[1]) : undefined;
    this.record('stream', req, url, {}, conversationId);
    const c = conversationId ? this.conversations.get(conversationId) : undefined;
    const token = this.tokens.get(url.searchParams.get('t') ?? '');
    if (!c) return refuseUpgrade(socket, 404);
    // The stream URL is preauthorized by its `t` token; no Authorization header.
    if (!token || token.conversationId !== c.id || token.expiresAt <= this.now()) return refuseUpgrade(socket, 403);
    if (this.refuseStreams) return refuseUpgrade(socket, 403);
    this.server.acceptWebSocket(req, socket, head, (ws) => {
      c.streams.add(ws);
      ws.on('close', (code) => {
        c.streams.delete(ws);
        this.emit('streamClosed', c.id, code);
      });
      const from = Number(url.searchParams.get('watermark') ?? '0') || 0;
      if (from < c.log.length) ws.send(JSON.stringify({ activities: c.log.slice(from), watermark: String(c.log.length) }));
      this.emit('stream', c.id);
    });
  }

  // ---- the echo bot -------------------------------------------------------------------------

  private botTurn(c: Conversation, a: DlActivity): void {
    const replyToId = a.id;
    const say = (text: string, extra: DlActivity = {}) => this.appendBot(c, { type: 'message', text, inputHint: 'expectingInput', replyToId, ...extra });
    if (a.type === 'event' && a.name === 'start') {
      this.appendBot(c, { type: 'typing' });
      for (const line of this.greeting) say(line);
      return;
    }
    if (a.type === 'event' && a.name === 'DTMF') return say(`You pressed ${String(a.value)}.`);
    if (a.type !== 'message' || typeof a.text !== 'string') return;
    const text = a.text.toLowerCase();
    if (text.includes('goodbye')) {
      say('Goodbye!', { inputHint: 'ignoringInput' });
      this.appendBot(c, { type: 'event', name: 'hangup', replyToId, channelData: { activityParams: { hangupReason: 'caller said goodbye' } } });
      return;
    }
    if (text.includes('agent')) {
      say('Transferring you to an agent.', { speak: '<speak>Transferring you to an <emphasis>agent</emphasis>.</speak>' });
      this.appendBot(c, { type: 'event', name: 'transfer', replyToId, channelData: { activityParams: { transferTarget: 'tel:+15550100', handoverReason: 'caller asked' } } });
      return;
    }
    if (text.includes('finish')) {
      this.appendBot(c, { type: 'endOfConversation', code: 'completedSuccessfully', replyToId });
      return;
    }
    say(`You said: ${a.text}`);
  }

  private appendBot(c: Conversation, a: DlActivity): void {
    this.append(c, { channelId: 'directline', conversation: { id: c.id }, from: BOT_ACCOUNT, timestamp: new Date(this.now()).toISOString(), ...a });
  }

  /** Adds an activity, assigns its id and pushes it to the open streams with the new watermark. */
  private append(c: Conversation, a: DlActivity): string {
    const id = `${c.id}|${String(c.log.length).padStart(7, '0')}`;
    c.log.push({ ...a, id });
    const frame = JSON.stringify({ activities: [{ ...a, id }], watermark: String(c.log.length) });
    for (const s of c.streams) s.send(frame);
    return id;
  }

  private createConversation(): Conversation {
    const id = `DL${++this.seq}${randomBytes(4).toString('hex')}-us`;
    const c: Conversation = { id, log: [], streams: new Set() };
    this.conversations.set(id, c);
    return c;
  }

  private conversation(id: string): Conversation {
    const c = this.conversations.get(id);
    if (!c) throw new Error(`direct-line double: no conversation ${id}`);
    return c;
  }

  private issueToken(conversationId: string): string {
    const token = `tok_${randomBytes(12).toString('base64url')}`;
    this.tokens.set(token, { conversationId, expiresAt: this.now() + this.expiresIn * 1000 });
    return token;
  }

  private streamUrl(conversationId: string, token: string, watermark?: string): string {
    const wm = watermark !== undefined ? `watermark=${encodeURIComponent(watermark)}&` : '';
    return `ws://127.0.0.1:${this.server.port}/v3/directline/conversations/${encodeURIComponent(conversationId)}/stream?${wm}t=${encodeURIComponent(token)}`;
  }

  private record(kind: DirectLineRequestKind, req: IncomingMessage, url: URL, body: Record<string, unknown>, conversationId?: string): void {
    const r: RecordedDirectLineRequest = {
      kind,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization,
      body,
      conversationId,
    };
    this.log.add(r);
  }
}

function routeOf(method: string, path: string): { kind: DirectLineRequestKind; conversationId?: string } | undefined {
  const base = '/v3/directline';
  if (!path.startsWith(base)) return undefined;
  const rest = path.slice(base.length);
  if (method === 'POST' && rest === '/tokens/generate') return { kind: 'generate' };
  if (method === 'POST' && rest === '/tokens/refresh') return { kind: 'refresh' };
  if (method === 'POST' && rest === '/conversations') return { kind: 'create' };
  const m = /^\/conversations\/([^/]+)(\/activities)?$/.exec(rest);
  if (!m) return undefined;
  const conversationId = decodeURIComponent(m[1]);
  if (!m[2]) return method === 'GET' ? { kind: 'reconnect', conversationId } : undefined;
  if (method === 'POST') return { kind: 'post-activity', conversationId };
  if (method === 'GET') return { kind: 'get-activities', conversationId };
  return undefined;
}

/** Direct Line names the charset of its JSON answers. */
function answerJson(res: ServerResponse, status: number, body: unknown): void {
  sendJson(res, status, body, { 'content-type': 'application/json; charset=utf-8' });
}

/** Direct Line's ErrorResponse. */
function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  answerJson(res, status, { error: { code, message } });
}
