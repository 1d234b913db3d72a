/**
 * A Microsoft Bot Framework bot reached through Direct Line 3.0: one Direct Line conversation per
 * call. Voxgate is the Direct Line client: it starts the conversation, POSTs the caller's
 * activities, and receives the bot's over the WebSocket `streamUrl` (or by polling GET
 * .../activities), keeping the conversation token fresh for long calls.
 *
 * Failure reporting, as for the other connectors: start() rejects when the conversation cannot be
 * opened; afterwards every problem is reported once through `failure` and send() resolves.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { eventActivity, type Activity } from '../activity.js';
import type { BotConnector, BotConnectorEventMap, BotConversationInfo, BotDisconnectReason } from '../connector.js';
import { systemClock, type Clock, type TimerHandle } from '../../runtime/clock.js';
import { silentLogger, type Logger } from '../../logger.js';
import { endOfConversation, fromBotFramework, parseActivitySet, toBotFramework, type ActivitySet, type BotFrameworkActivity, type DirectLineUser } from './direct-line-activities.js';
import { parseConversationAnswer, parseTokenAnswer } from './direct-line-answers.js';
import { DIRECT_LINE_PUBLIC_BASE_URL, DirectLineError, directLineRequest } from './direct-line-http.js';

export interface DirectLineConnectorOptions {
  /** The bot's name in the config; reported as `botName`. */
  name: string;
  /** The Direct Line channel secret. */
  secret: string;
  /** Default https://directline.botframework.com/v3/directline. */
  baseUrl?: string;
  /** POST /tokens/generate first and use only the token afterwards. Default false. */
  exchangeSecretForToken?: boolean;
  /** Default true; false (or a stream that cannot be opened) polls instead. */
  useWebSocket?: boolean;
  /** Default 1000. */
  pollIntervalMs?: number;
  /** Per request. Default 20000. */
  requestTimeoutMs?: number;
  /** `from.id` of the caller's activities. Default `voxgate-<call id>`. */
  userId?: string;
  locale?: string;
  logger?: Logger;
  clock?: Clock;
}

/** Refresh the token when this fraction of its lifetime has passed (Direct Line tokens live 30 min). */
const REFRESH_AT_FRACTION = 2 / 3;
const REFRESH_RETRY_MS = 10_000;
/** Stream reopen attempts after a drop: at once, then backing off; then the call fails. */
const STREAM_REOPEN_DELAYS_MS = [0, 1000, 2000, 4000, 8000];
/** Polls failing in a row (timeouts, 5xx, 429) before the conversation is declared failed. */
const MAX_POLL_FAILURES = 5;
/** Activity ids remembered to drop repeats (a reopened stream or poll may replay the last set). */
const MAX_REMEMBERED_IDS = 1000;

type ConnectorState = 'idle' | 'starting' | 'open' | 'ended';

export class DirectLineConnector extends EventEmitter<BotConnectorEventMap> implements BotConnector {
  readonly botName: string;
  readonly wantsPromptInterruptions = false;
  private readonly secret: string;
  private readonly baseUrl: string;
  private readonly exchangeSecret: boolean;
  private readonly useWebSocket: boolean;
  private readonly pollIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly configuredUserId?: string;
  private readonly locale?: string;
  private readonly clock: Clock;
  private log: Logger;
  private state: ConnectorState = 'idle';
  private failed = false;
  private conversationId = '';
  private user: DirectLineUser = { id: '' };
  /** Secret until the conversation hands out its token, the token afterwards. */
  private bearer = '';
  private watermark?: string;
  private readonly seenIds = new Set<string>();
  private refreshTimer?: TimerHandle;
  private tokenExpiresAt = 0;
  private socket?: WebSocket;
  private streamReopen?: TimerHandle;
  private streamAttempts = 0;
  private polling = false;
  private pollTimer?: TimerHandle;
  private pollInFlight = false;
  private pollAgain = false;
  private pollFailures = 0;
  /** Aborts in-flight requests when the call ends. */
  private readonly lifetime = new AbortController();
  private readonly startSettled: Promise<void>;
  private settleStart!: () => void;
  /** Activities go out one at a time, after start(), so the bot sees them in the caller's order. */
  private sendChain: Promise<void>;
  private endPromise?: Promise<void>;

  constructor(options: DirectLineConnectorOptions) {
    super();
    this.botName = options.name;
    if (!options.secret) throw new Error(`direct-line bot "${options.name}": the Direct Line secret is empty`);
    this.secret = options.secret;
    const base = options.baseUrl ?? DIRECT_LINE_PUBLIC_BASE_URL;
    try {
      this.baseUrl = new URL(base).toString().replace(/\/+$/, '');
    } catch {
      throw new Error(`direct-line bot "${options.name}": baseUrl ${JSON.stringify(base)} is not a valid absolute URL`);
    }
    this.exchangeSecret = options.exchangeSecretForToken ?? false;
    this.useWebSocket = options.useWebSocket ?? true;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.timeoutMs = options.requestTimeoutMs ?? 20_000;
    this.configuredUserId = options.userId;
    this.locale = options.locale;
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger()).child({ bot: this.botName, protocol: 'direct-line' });
    this.startSettled = new Promise<void>((resolve) => (this.settleStart = resolve));
    this.sendChain = this.startSettled;
  }

  async start(info: BotConversationInfo): Promise<void> {
    if (this.state !== 'idle') throw new Error(`direct-line bot "${this.botName}": start() called twice`);
    this.state = 'starting';
    try {
      await this.open(info);
      if (this.state === 'starting') this.state = 'open';
    } catch (err) {
      this.failed = true; // start()'s rejection is the report; no failure event on top
      this.stopReceiving();
      throw err;
    } finally {
      this.settleStart();
    }
  }

  private async open(info: BotConversationInfo): Promise<void> {
    this.user = { id: this.configuredUserId ?? `voxgate-${info.conversationId}`, ...(info.callerDisplayName || info.caller ? { name: info.callerDisplayName || info.caller } : {}) };
    this.log = this.log.child({ conversation: info.conversationId });
    this.bearer = this.secret;
    if (this.exchangeSecret) {
      // The token is bound to our user id, so the bot can trust `from.id` (Direct Line enhanced authentication).
      const generated = parseTokenAnswer(await this.request('POST', '/tokens/generate', 'generate token', { user: this.user }, false), 'generate token');
      this.bearer = generated.token;
      if (this.ended()) return;
    }
    // Not aborted by end(): once Direct Line has the conversation, it must also hear endOfConversation.
    const created = parseConversationAnswer(await this.request('POST', '/conversations', 'start conversation', undefined, false), 'start conversation');
    this.conversationId = created.conversationId;
    this.log = this.log.child({ directLineConversation: created.conversationId });
    if (created.token) this.bearer = created.token;
    if (created.expiresIn && this.bearer !== this.secret) this.scheduleRefresh(created.expiresIn);
    if (this.ended()) return;

    // Listen before the start event, so the greeting cannot race past us.
    if (this.useWebSocket && created.streamUrl) {
      const opened = await this.openStream(created.streamUrl, true);
      if (this.ended() || this.failed) return;
      if (!opened) {
        this.log.warn('Direct Line WebSocket stream could not be opened; polling instead');
        this.startPolling();
      }
    } else {
      if (this.useWebSocket) this.log.warn('Direct Line gave no streamUrl; polling instead');
      this.startPolling();
    }

    const start = eventActivity(
      'start',
      {
        parameters: {
          caller: info.caller,
          callee: info.callee,
          callerHost: info.callerHost,
          calleeHost: info.calleeHost,
          callerDisplayName: info.callerDisplayName,
          direction: info.direction,
          vaigConversationId: info.conversationId,
          ...info.parameters,
        },
      },
      this.clock.now(),
    );
    try {
      await this.post(toBotFramework(start, this.user, this.locale), 'send start event');
    } catch (err) {
      if (this.ended()) return; // the call ended while the start event was in flight
      throw err;
    }
    this.pollNow();
  }

  send(activity: Activity): Promise<void> {
    if (this.state === 'idle') return Promise.reject(new Error(`direct-line bot "${this.botName}": send() before start()`));
    const next = this.sendChain.then(() => this.sendNow(activity));
    this.sendChain = next;
    return next;
  }

  private async sendNow(activity: Activity): Promise<void> {
    if (this.state !== 'open' || this.failed) {
      this.log.debug({ activity: activity.name ?? activity.type }, 'conversation over; activity not sent');
      return;
    }
    try {
      await this.post(toBotFramework(activity, this.user, this.locale), activity.type === 'message' ? 'send message' : `send event ${activity.name ?? ''}`.trim());
    } catch (err) {
      if (!this.ended()) this.fail(err as Error);
      return;
    }
    this.pollNow(); // the bot's answer is usually ready by the next GET
  }

  end(reasonCode: BotDisconnectReason, reason?: string): Promise<void> {
    if (this.endPromise) return this.endPromise;
    this.state = 'ended';
    this.stopReceiving();
    this.lifetime.abort();
    this.endPromise = this.startSettled.then(() => this.sendEndOfConversation(reasonCode, reason));
    return this.endPromise;
  }

  private async sendEndOfConversation(reasonCode: BotDisconnectReason, reason?: string): Promise<void> {
    if (!this.conversationId) return; // nothing was opened
    try {
      await this.post(endOfConversation(this.user, reasonCode, reason, this.clock.now()), 'send endOfConversation', false);
      this.log.debug({ reasonCode }, 'Direct Line conversation ended');
    } catch (err) {
      const kind = (err as DirectLineError).kind;
      if (kind === 'conversation-gone' || kind === 'token-expired') return; // already over on Direct Line's side
      throw err;
    }
  }

  // ---- token refresh ------------------------------------------------------------------------

  private scheduleRefresh(expiresInSeconds: number): void {
    this.tokenExpiresAt = this.clock.now() + expiresInSeconds * 1000;
    this.armRefresh(Math.round(expiresInSeconds * 1000 * REFRESH_AT_FRACTION));
  }

  private armRefresh(inMs: number): void {
    this.refreshTimer?.cancel();
    this.refreshTimer = this.clock.setTimeout(() => void this.refresh(), Math.max(0, inMs));
  }

  private async refresh(): Promise<void> {
    this.refreshTimer = undefined;
    if (this.ended() || this.failed) return;
    try {
      const answer = parseTokenAnswer(await this.request('POST', '/tokens/refresh', 'refresh token'), 'refresh token');
      if (this.ended()) return;
      this.bearer = answer.token;
      this.scheduleRefresh(answer.expiresIn ?? (this.tokenExpiresAt - this.clock.now()) / 1000);
      this.log.debug({ expiresIn: answer.expiresIn }, 'Direct Line token refreshed');
    } catch (err) {
      if (this.ended()) return;
      const e = err as DirectLineError;
      if (e.kind === 'auth' || e.kind === 'token-expired' || e.kind === 'conversation-gone') {
        this.fail(e);
        return;
      }
      const left = this.tokenExpiresAt - this.clock.now();
      this.log.warn({ problem: e.message, msLeft: left }, 'Direct Line token refresh failed; retrying');
      this.armRefresh(left > 0 ? Math.min(REFRESH_RETRY_MS, left / 2) : REFRESH_RETRY_MS);
    }
  }

  // ---- WebSocket stream ---------------------------------------------------------------------

  /** Resolves true once open, false if it could not be opened. The stream URL carries its own token. */
  private openStream(url: string, initial: boolean): Promise<boolean> {
    if (this.ended() || this.failed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const socket = new WebSocket(url, { handshakeTimeout: this.timeoutMs });
      this.socket = socket;
      let opened = false;
      socket.on('open', () => {
        opened = true;
        this.streamAttempts = 0;
        this.log.debug('Direct Line stream open');
        resolve(true);
      });
      socket.on('unexpected-response', (_req, res) => {
        this.log.warn({ status: res.statusCode }, 'Direct Line stream refused');
        res.resume();
        socket.terminate();
      });
      socket.on('error', (err) => this.log.warn({ problem: err.message }, 'Direct Line stream error'));
      socket.on('close', (code, reason) => {
        resolve(false);
        if (this.socket !== socket) return; // closed by us
        this.socket = undefined;
        if (this.ended() || this.failed || (initial && !opened)) return;
        this.log.warn({ code, reason: reason.toString() }, 'Direct Line stream lost; reconnecting');
        this.reconnectStreamLater();
      });
      socket.on('message', (data, isBinary) => {
        if (this.socket !== socket) return;
        this.onStreamMessage(isBinary ? null : data.toString());
      });
    });
  }

  private reconnectStreamLater(): void {
    if (this.ended() || this.failed) return;
    if (this.streamAttempts >= STREAM_REOPEN_DELAYS_MS.length) {
      this.fail(new DirectLineError('stream', `Direct Line stream of conversation ${this.conversationId} was lost and could not be reopened after ${this.streamAttempts} attempts`));
      return;
    }
    const delay = STREAM_REOPEN_DELAYS_MS[this.streamAttempts++];
    if (delay === 0) {
      void this.reconnectStream();
      return;
    }
    this.streamReopen = this.clock.setTimeout(() => {
      this.streamReopen = undefined;
      void this.reconnectStream();
    }, delay);
  }

  /** GET /conversations/{id}?watermark= hands out a fresh streamUrl that resumes after what we already have. */
  private async reconnectStream(): Promise<void> {
    if (this.ended() || this.failed) return;
    const query = this.watermark !== undefined ? `?watermark=${encodeURIComponent(this.watermark)}` : '';
    let streamUrl: string | undefined;
    try {
      const answer = parseConversationAnswer(await this.request('GET', `/conversations/${encodeURIComponent(this.conversationId)}${query}`, 'reconnect to conversation'), 'reconnect to conversation');
      streamUrl = answer.streamUrl;
      if (answer.token) this.bearer = answer.token;
    } catch (err) {
      if (this.ended()) return;
      const e = err as DirectLineError;
      if (e.kind === 'auth' || e.kind === 'token-expired' || e.kind === 'conversation-gone') {
        this.fail(new DirectLineError(e.kind, `Direct Line stream was lost and cannot be reopened: ${e.message}`, e.status, e.code, { cause: e }));
        return;
      }
      this.log.warn({ problem: e.message }, 'Direct Line reconnect failed; retrying');
      this.reconnectStreamLater();
      return;
    }
    if (!streamUrl) {
      this.fail(new DirectLineError('malformed', `Direct Line reconnect to conversation ${this.conversationId} answered without a streamUrl`));
      return;
    }
    await this.openStream(streamUrl, false); // a failed open schedules the next attempt from its close handler
  }

  private onStreamMessage(text: string | null): void {
    if (this.ended() || this.failed) return;
    if (text === null) {
      this.log.warn('Direct Line stream sent a binary frame; ignored');
      return;
    }
    // Direct Line sends empty messages as keep-alives.
    if (text.trim() === '') return;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      this.fail(new DirectLineError('malformed', `Direct Line stream sent a malformed ActivitySet: not JSON (${(err as Error).message}): ${JSON.stringify(text.slice(0, 80))}`));
      return;
    }
    try {
      this.accept(parseActivitySet(body, 'stream'));
    } catch (err) {
      this.fail(err as Error);
    }
  }

  private closeStream(): void {
    this.streamReopen?.cancel();
    this.streamReopen = undefined;
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) return;
    if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
    else socket.close(1000, 'conversation ended');
  }

  // ---- polling ------------------------------------------------------------------------------

  private startPolling(): void {
    this.polling = true;
    this.schedulePoll();
  }

  private schedulePoll(): void {
    this.pollTimer?.cancel();
    this.pollTimer = this.clock.setTimeout(() => {
      this.pollTimer = undefined;
      void this.poll();
    }, this.pollIntervalMs);
  }

  /** Polls at once (after a send); a poll already in flight is followed by another. */
  private pollNow(): void {
    if (!this.polling || this.ended() || this.failed) return;
    if (this.pollInFlight) this.pollAgain = true;
    else void this.poll();
  }

  private async poll(): Promise<void> {
    if (this.ended() || this.failed || this.pollInFlight) return;
    this.pollInFlight = true;
    this.pollTimer?.cancel();
    this.pollTimer = undefined;
    try {
      const query = this.watermark !== undefined ? `?watermark=${encodeURIComponent(this.watermark)}` : '';
      const body = await this.request('GET', `/conversations/${encodeURIComponent(this.conversationId)}/activities${query}`, 'receive activities');
      if (this.ended()) return;
      this.pollFailures = 0;
      this.accept(parseActivitySet(body, 'GET activities'));
    } catch (err) {
      if (this.ended()) return;
      const e = err as DirectLineError;
      const transient = e.kind === 'timeout' || e.kind === 'network' || e.kind === 'rate-limited' || e.kind === 'bot-unavailable' || (e.kind === 'http' && (e.status ?? 0) >= 500);
      if (!transient) return this.fail(e);
      if (++this.pollFailures >= MAX_POLL_FAILURES) return this.fail(new DirectLineError(e.kind, `${e.message} (${this.pollFailures} polls in a row failed)`, e.status, e.code, { cause: e }));
      this.log.warn({ problem: e.message, failures: this.pollFailures }, 'Direct Line poll failed; polling on');
    } finally {
      this.pollInFlight = false;
    }
    if (this.ended() || this.failed) return;
    if (this.pollAgain) {
      this.pollAgain = false;
      void this.poll();
    } else {
      this.schedulePoll();
    }
  }

  // ---- plumbing -----------------------------------------------------------------------------

  /** Records the watermark and emits the bot's new activities (our own echoes and repeats dropped). */
  private accept(set: ActivitySet): void {
    if (set.watermark !== undefined) this.watermark = set.watermark;
    const mapped: Activity[] = [];
    for (const raw of set.activities) {
      if (this.isOwn(raw) || this.isRepeat(raw)) continue;
      const activity = fromBotFramework(raw, this.clock.now());
      if (activity) mapped.push(activity);
      else this.log.debug({ type: raw.type }, 'Direct Line activity without a voice meaning; ignored');
    }
    if (mapped.length > 0 && !this.ended() && !this.failed) this.emit('activities', mapped);
  }

  private isOwn(a: BotFrameworkActivity): boolean {
    return a.from?.id === this.user.id;
  }

  private isRepeat(a: BotFrameworkActivity): boolean {
    if (typeof a.id !== 'string' || !a.id) return false;
    if (this.seenIds.has(a.id)) return true;
    this.seenIds.add(a.id);
    if (this.seenIds.size > MAX_REMEMBERED_IDS) this.seenIds.delete(this.seenIds.values().next().value as string);
    return false;
  }

  private post(activity: BotFrameworkActivity, operation: string, abortOnEnd = true): Promise<unknown> {
    return this.request('POST', `/conversations/${encodeURIComponent(this.conversationId)}/activities`, operation, activity, abortOnEnd);
  }

  private request(method: 'GET' | 'POST', path: string, operation: string, body?: unknown, abortOnEnd = true): Promise<unknown> {
    return directLineRequest({
      method,
      url: `${this.baseUrl}${path}`,
      bearer: this.bearer,
      operation,
      body,
      timeoutMs: this.timeoutMs,
      clock: this.clock,
      signal: abortOnEnd ? this.lifetime.signal : undefined,
    });
  }

  private ended(): boolean {
    return this.state === 'ended';
  }

  private stopReceiving(): void {
    this.refreshTimer?.cancel();
    this.refreshTimer = undefined;
    this.pollTimer?.cancel();
    this.pollTimer = undefined;
    this.polling = false;
    this.closeStream();
  }

  /** Reports a mid-call failure once; the conversation is unusable afterwards. */
  private fail(err: Error): void {
    if (this.failed || this.ended()) return;
    this.failed = true;
    this.stopReceiving();
    this.log.error({ problem: err.message }, 'Direct Line conversation failed');
    this.emit('failure', err);
  }
}
