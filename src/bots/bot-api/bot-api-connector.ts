/**
 * The AudioCodes-compatible Bot API client (docs/protocols/bot-api.md): one conversation with a
 * remote bot over HTTP, plus the optional websocket for asynchronous bot activities.
 *
 * Failure reporting: start() rejects when the conversation cannot be opened. Once open, every
 * problem (send failed after retries, conversation gone, malformed answer, refresh rejected) is
 * reported once through the `failure` event and send() resolves, so the session applies one policy.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { eventActivity, type Activity } from '../activity.js';
import type { BotConnector, BotConnectorEventMap, BotConversationInfo, BotDisconnectReason } from '../connector.js';
import { systemClock, type Clock, type TimerHandle } from '../../runtime/clock.js';
import { silentLogger, type Logger } from '../../logger.js';
import { parseActivities, parseCreateAnswer, parseRefreshAnswer, type BotApiConversationUrls } from './bot-api-answers.js';
import { authHeaders, BotApiError, botApiRequest, type BotApiAuth } from './bot-api-http.js';
import { sharedOAuthTokenCache, type OAuthClientCredentials, type OAuthTokenCache } from './oauth-token-cache.js';

export interface BotApiConnectorOptions {
  /** The bot's name in the config; reported as `botName`. */
  name: string;
  botUrl: string;
  token?: string;
  oauth?: OAuthClientCredentials;
  /** Shared per bot so its connectors reuse one OAuth token. */
  tokenCache?: OAuthTokenCache;
  /** Per attempt. Default 5000. */
  requestTimeoutMs?: number;
  /** Extra attempts on timeout, network error or 5xx, resending the same activities. Default 2. */
  retries?: number;
  logger?: Logger;
  clock?: Clock;
}

/** Refresh when this fraction of the granted lifetime has passed. */
const REFRESH_AT_FRACTION = 2 / 3;
/** After a failed refresh, try again this soon (bounded by the time left). */
const REFRESH_RETRY_MS = 5000;
/** Websocket reopen backoff: 1 s, 2 s, 4 s... up to 30 s, at most this many times in a row. */
const SOCKET_REOPEN_FIRST_MS = 1000;
const SOCKET_REOPEN_MAX_MS = 30_000;
const SOCKET_MAX_REOPENS = 8;

type ConnectorState = 'idle' | 'starting' | 'open' | 'ended';

export class BotApiConnector extends EventEmitter<BotConnectorEventMap> implements BotConnector {
  readonly botName: string;
  private readonly botUrl: string;
  private readonly auth: BotApiAuth;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly clock: Clock;
  private log: Logger;
  private state: ConnectorState = 'idle';
  private conversationId = '';
  private urls?: BotApiConversationUrls;
  private refreshTimer?: TimerHandle;
  private expiresAt = 0;
  private socket?: WebSocket;
  private socketReopen?: TimerHandle;
  /** Consecutive failed websocket opens; reset by a successful open. */
  private socketFailures = 0;
  /** Aborts in-flight requests when the call ends. */
  private readonly lifetime = new AbortController();
  /**
   * Sends go out one at a time so the bot sees activities in the order the caller produced them;
   * the chain starts when start() has finished, so early caller input follows the start event.
   */
  private sendChain: Promise<void>;
  private startFinished!: () => void;
  private endPromise?: Promise<void>;
  /** end() called while the conversation was being created: sent once the create answer is in. */
  private pendingEnd?: { reasonCode: BotDisconnectReason; reason?: string; settle: (p: Promise<void>) => void };
  private failed = false;

  constructor(options: BotApiConnectorOptions) {
    super();
    this.sendChain = new Promise<void>((resolve) => (this.startFinished = resolve));
    try {
      this.botUrl = new URL(options.botUrl).toString();
    } catch {
      throw new Error(`bot-api bot "${options.name}": botUrl ${JSON.stringify(options.botUrl)} is not a valid absolute URL`);
    }
    this.botName = options.name;
    this.auth = { token: options.token, oauth: options.oauth, tokenCache: options.tokenCache ?? sharedOAuthTokenCache };
    this.timeoutMs = options.requestTimeoutMs ?? 5000;
    this.retries = options.retries ?? 2;
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger()).child({ bot: this.botName });
  }

  async start(info: BotConversationInfo): Promise<void> {
    if (this.state !== 'idle') throw new Error(`bot-api bot "${this.botName}": start() called twice`);
    this.state = 'starting';
    try {
      await this.open(info);
    } finally {
      this.startFinished();
    }
  }

  private async open(info: BotConversationInfo): Promise<void> {
    this.conversationId = info.conversationId;
    this.log = this.log.child({ conversation: info.conversationId });
    // Not aborted by end(): if the bot creates the conversation, it must also hear the disconnect.
    let urls: BotApiConversationUrls;
    try {
      urls = parseCreateAnswer(await this.request('POST', this.botUrl, { conversation: this.conversationId }, false), this.botUrl);
    } catch (err) {
      this.pendingEnd?.settle(Promise.resolve()); // nothing was opened, nothing to disconnect
      throw err;
    }
    this.urls = urls;
    if (this.pendingEnd) {
      // end() arrived while the conversation was being created: close it on the bot too.
      this.pendingEnd.settle(this.disconnect(this.pendingEnd));
      return;
    }
    this.state = 'open';
    this.scheduleRefresh(urls.expiresSeconds);
    if (urls.websocketURL) await this.openSocket(urls.websocketURL);
    if (info.initialActivity === null) return; // configured to open without a start activity
    const start =
      info.initialActivity ??
      eventActivity(
        'start',
        {
          parameters: {
            caller: info.caller,
            callee: info.callee,
            callerHost: info.callerHost,
            calleeHost: info.calleeHost,
            callerDisplayName: info.callerDisplayName,
            vaigConversationId: info.conversationId,
            ...info.parameters,
          },
        },
        this.clock.now(),
      );
    let greeting: Activity[];
    try {
      const answer = await this.request('POST', urls.activitiesURL, { conversation: this.conversationId, activities: [...(info.prelude ?? []), start] });
      greeting = parseActivities(answer, urls.activitiesURL, this.clock.now());
    } catch (err) {
      // The call ended while the start event was in flight: nothing left to start.
      if ((this.state as ConnectorState) === 'ended') return;
      throw err;
    }
    this.deliver(greeting);
  }

  send(activity: Activity): Promise<void> {
    if (this.state === 'idle') return Promise.reject(new Error(`bot-api bot "${this.botName}": send() before start()`));
    const next = this.sendChain.then(() => this.sendNow(activity));
    this.sendChain = next;
    return next;
  }

  private async sendNow(activity: Activity): Promise<void> {
    if (this.state !== 'open' || !this.urls) {
      this.log.debug({ activity: activity.name ?? activity.type }, 'conversation over; activity not sent');
      return;
    }
    const url = this.urls.activitiesURL;
    let answer: Activity[];
    try {
      const body = await this.request('POST', url, { conversation: this.conversationId, activities: [activity] });
      answer = parseActivities(body, url, this.clock.now());
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    this.deliver(answer);
  }

  end(reasonCode: BotDisconnectReason, reason?: string): Promise<void> {
    if (this.endPromise) return this.endPromise;
    const wasStarting = this.state === 'starting';
    const wasOpen = this.state === 'open';
    this.state = 'ended';
    this.refreshTimer?.cancel();
    this.refreshTimer = undefined;
    this.closeSocket();
    this.lifetime.abort();
    if (wasStarting) {
      // start() sends the disconnect once the create answer is in; end() resolves after it.
      this.endPromise = new Promise<void>((resolve, reject) => {
        this.pendingEnd = { reasonCode, reason, settle: (p) => p.then(resolve, reject) };
      });
    } else {
      this.endPromise = wasOpen ? this.disconnect({ reasonCode, reason }) : Promise.resolve();
    }
    return this.endPromise;
  }

  private async disconnect(end: { reasonCode: BotDisconnectReason; reason?: string }): Promise<void> {
    const url = this.urls?.disconnectURL;
    if (!url) return;
    try {
      await botApiRequest({
        method: 'POST',
        url,
        body: { conversation: this.conversationId, reasonCode: end.reasonCode, reason: end.reason ?? end.reasonCode },
        auth: this.auth,
        clock: this.clock,
        log: this.log,
        timeoutMs: this.timeoutMs,
        retries: this.retries,
      });
      this.log.debug({ reasonCode: end.reasonCode }, 'bot conversation disconnected');
    } catch (err) {
      if (err instanceof BotApiError && err.kind === 'conversation-gone') return; // already gone on the bot side
      throw err;
    }
  }

  // ---- refresh ------------------------------------------------------------------------------

  private scheduleRefresh(expiresSeconds: number): void {
    if (!this.urls?.refreshURL || this.state === 'ended') return;
    this.expiresAt = this.clock.now() + expiresSeconds * 1000;
    this.armRefresh(Math.round(expiresSeconds * 1000 * REFRESH_AT_FRACTION));
  }

  private armRefresh(inMs: number): void {
    this.refreshTimer?.cancel();
    this.refreshTimer = this.clock.setTimeout(() => void this.refresh(), Math.max(0, inMs));
  }

  private async refresh(): Promise<void> {
    this.refreshTimer = undefined;
    const url = this.urls?.refreshURL;
    if (!url || this.state !== 'open') return;
    try {
      const answer = await this.request('POST', url, { conversation: this.conversationId });
      if (this.state !== 'open') return;
      const expires = parseRefreshAnswer(answer, url) ?? this.urls!.expiresSeconds;
      this.scheduleRefresh(expires);
    } catch (err) {
      if (this.state !== 'open') return;
      if (err instanceof BotApiError && (err.kind === 'conversation-gone' || err.kind === 'auth')) {
        this.fail(err);
        return;
      }
      const left = this.expiresAt - this.clock.now();
      this.log.warn({ err, msLeft: left }, 'bot-api refresh failed; retrying');
      this.armRefresh(left > 0 ? Math.min(REFRESH_RETRY_MS, left / 2) : REFRESH_RETRY_MS);
    }
  }

  // ---- websocket ----------------------------------------------------------------------------

  /**
   * Resolves once the socket is open or has failed: it is optional, so a failure is logged, not
   * fatal. A socket lost mid-call is reopened with backoff, since the bot's later answers may only
   * come this way ("please wait" now, the answer later).
   */
  private async openSocket(url: string): Promise<void> {
    let token: string;
    try {
      token = await this.socketToken();
    } catch (err) {
      this.log.warn({ err, url }, 'no token for the bot-api websocket');
      this.reopenSocketLater(url);
      return;
    }
    if (this.state !== 'open') return; // ended while the token was fetched
    await new Promise<void>((resolve) => {
      const socket = new WebSocket(url, { headers: authHeaders(token), handshakeTimeout: this.timeoutMs });
      this.socket = socket;
      socket.on('open', () => {
        this.socketFailures = 0;
        this.log.debug({ url }, 'bot-api websocket open');
        resolve();
      });
      socket.on('unexpected-response', (_req, res) => {
        this.log.warn({ url, status: res.statusCode }, 'bot-api websocket refused');
        res.resume();
        socket.terminate();
      });
      socket.on('error', (err) => this.log.warn({ err, url }, 'bot-api websocket error'));
      socket.on('close', (code) => {
        resolve();
        if (this.socket !== socket) return; // closed by us
        this.socket = undefined;
        if (this.state !== 'open') return;
        this.log.warn({ url, code }, 'bot-api websocket lost');
        this.reopenSocketLater(url);
      });
      socket.on('message', (data, isBinary) => this.onSocketFrame(isBinary ? null : data.toString(), url));
    });
  }

  private reopenSocketLater(url: string): void {
    if (this.state !== 'open') return;
    if (this.socketFailures >= SOCKET_MAX_REOPENS) {
      this.log.error({ url, attempts: this.socketFailures }, 'bot-api websocket given up; async bot activities will not arrive');
      return;
    }
    const delay = Math.min(SOCKET_REOPEN_MAX_MS, SOCKET_REOPEN_FIRST_MS * 2 ** this.socketFailures);
    this.socketFailures++;
    this.socketReopen = this.clock.setTimeout(() => {
      this.socketReopen = undefined;
      void this.openSocket(url);
    }, delay);
  }

  private async socketToken(): Promise<string> {
    if (!this.auth.oauth) return this.auth.token ?? '';
    return (this.auth.tokenCache ?? sharedOAuthTokenCache).token(this.auth.oauth);
  }

  private onSocketFrame(text: string | null, url: string): void {
    if (this.state !== 'open') return;
    if (text === null) {
      this.log.warn({ url }, 'bot-api websocket sent a binary frame; ignored');
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      this.log.warn({ url, frame: text.slice(0, 80) }, 'bot-api websocket frame is not JSON; ignored');
      return;
    }
    try {
      this.deliver(parseActivities(body, url, this.clock.now()));
    } catch (err) {
      this.log.warn({ url, problem: (err as Error).message }, 'bot-api websocket frame ignored');
    }
  }

  private closeSocket(): void {
    this.socketReopen?.cancel();
    this.socketReopen = undefined;
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) return;
    if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
    else socket.close(1000, 'conversation ended');
  }

  // ---- plumbing -----------------------------------------------------------------------------

  private request(method: 'POST', url: string, body: unknown, abortOnEnd = true): Promise<unknown> {
    return botApiRequest({
      method,
      url,
      body,
      auth: this.auth,
      clock: this.clock,
      log: this.log,
      timeoutMs: this.timeoutMs,
      retries: this.retries,
      signal: abortOnEnd ? this.lifetime.signal : undefined,
    });
  }

  private deliver(activities: Activity[]): void {
    if (activities.length === 0 || this.state !== 'open') return;
    this.emit('activities', activities);
  }

  /** Reports a mid-call failure once; the conversation is unusable afterwards. */
  private fail(err: Error): void {
    if (this.failed || this.state === 'ended') return;
    this.failed = true;
    this.refreshTimer?.cancel();
    this.refreshTimer = undefined;
    this.log.error({ err }, 'bot-api conversation failed');
    this.emit('failure', err);
  }
}
