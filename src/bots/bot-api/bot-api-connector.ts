/**
 * The AudioCodes-compatible Bot API client (docs/protocols/bot-api.md): one conversation with a
 * remote bot over HTTP, plus the optional websocket for asynchronous bot activities.
 *
 * Failure reporting: start() rejects when the conversation cannot be opened. Once open, every
 * problem (send failed after retries, conversation gone, malformed answer, refresh rejected) is
 * reported once through the `failure` event and send() resolves, so the session applies one policy.
 * One unusable activity in an answer is rejected on its own: the rest is carried out, the bot is
 * told which one (`event commandFailed`, command `invalidActivity`) and the rejection is logged.
 *
 * Ending: activities queued before end() (the `conversationEnd` notice) still go out, then the
 * disconnect, and only then is the websocket closed, so what the bot says last on it is received.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { eventActivity, type Activity } from '../activity.js';
import type { BotConnector, BotConnectorEventMap, BotConversationInfo, BotDisconnectReason } from '../connector.js';
import { systemClock, type Clock, type TimerHandle } from '../../runtime/clock.js';
import { silentLogger, type Logger } from '../../logger.js';
import { parseActivities, parseCreateAnswer, parseRefreshAnswer, type BotApiConversationUrls, type ParsedActivities, type RejectedActivity } from './bot-api-answers.js';
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
  /** Requests in flight; end() aborts them, since the caller is gone and their answers no longer matter. */
  private readonly inFlight = new Set<AbortController>();
  /** The conversation reached 'open' (the bot has it): what was queued before end() may still go out. */
  private opened = false;
  /**
   * Ids of our own reports of rejected activities: a rejection in the answer to one is only logged,
   * so a bot that keeps answering with bad activities cannot start an endless exchange.
   */
  private readonly rejectionReports = new Set<string>();
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
    this.opened = true;
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
    // One request each, in order: bots that read only the first activity of a request must still see the start.
    for (const activity of [...(info.prelude ?? []), start]) {
      let answer: ParsedActivities;
      try {
        const body = await this.request('POST', urls.activitiesURL, { conversation: this.conversationId, activities: [activity] });
        answer = parseActivities(body, urls.activitiesURL, this.clock.now());
      } catch (err) {
        // The call ended while the opening was in flight: nothing left to start.
        if ((this.state as ConnectorState) === 'ended') return;
        throw err;
      }
      this.receive(answer, urls.activitiesURL, true);
    }
  }

  send(activity: Activity): Promise<void> {
    if (this.state === 'idle') return Promise.reject(new Error(`bot-api bot "${this.botName}": send() before start()`));
    if (this.state === 'ended') {
      this.log.debug({ activity: activity.name ?? activity.type }, 'conversation over; activity not sent');
      return Promise.resolve();
    }
    const next = this.sendChain.then(() => this.sendNow(activity));
    this.sendChain = next;
    return next;
  }

  /** Runs in queue order; an activity queued before end() still goes out (ahead of the disconnect). */
  private async sendNow(activity: Activity): Promise<void> {
    if (!this.opened || !this.urls) {
      this.log.debug({ activity: activity.name ?? activity.type }, 'conversation not open; activity not sent');
      return;
    }
    const url = this.urls.activitiesURL;
    let answer: ParsedActivities;
    try {
      const body = await this.request('POST', url, { conversation: this.conversationId, activities: [activity] });
      answer = parseActivities(body, url, this.clock.now());
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    this.receive(answer, url, !this.rejectionReports.has(activity.id));
  }

  end(reasonCode: BotDisconnectReason, reason?: string): Promise<void> {
    if (this.endPromise) return this.endPromise;
    const wasStarting = this.state === 'starting';
    const wasOpen = this.state === 'open';
    this.state = 'ended';
    this.refreshTimer?.cancel();
    this.refreshTimer = undefined;
    this.socketReopen?.cancel();
    this.socketReopen = undefined;
    for (const request of this.inFlight) request.abort();
    let disconnected: Promise<void>;
    if (wasStarting) {
      // start() sends the disconnect once the create answer is in; end() resolves after it.
      disconnected = new Promise<void>((resolve, reject) => {
        this.pendingEnd = { reasonCode, reason, settle: (p) => p.then(resolve, reject) };
      });
    } else if (wasOpen) {
      // What was queued before the end (conversationEnd) goes out first; the bot hears the disconnect last.
      disconnected = this.sendChain.then(() => this.disconnect({ reasonCode, reason }));
    } else {
      disconnected = Promise.resolve();
    }
    // The websocket stays open until the disconnect is done (or failed): the bot's last words on it are still received.
    this.endPromise = disconnected.finally(() => this.closeSocket());
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

  /** Frames are read until the socket is closed, which end() does only after the disconnect. */
  private onSocketFrame(text: string | null, url: string): void {
    if (!this.opened) return;
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
    let parsed: ParsedActivities;
    try {
      parsed = parseActivities(body, url, this.clock.now());
    } catch (err) {
      this.log.warn({ url, problem: (err as Error).message }, 'bot-api websocket frame ignored');
      return;
    }
    this.receive(parsed, url, true);
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

  private async request(method: 'POST', url: string, body: unknown, abortOnEnd = true): Promise<unknown> {
    const controller = abortOnEnd ? new AbortController() : undefined;
    if (controller) this.inFlight.add(controller);
    try {
      return await botApiRequest({
        method,
        url,
        body,
        auth: this.auth,
        clock: this.clock,
        log: this.log,
        timeoutMs: this.timeoutMs,
        retries: this.retries,
        signal: controller?.signal,
      });
    } finally {
      if (controller) this.inFlight.delete(controller);
    }
  }

  /** A bot answer (HTTP or websocket): the bot hears about its rejected activities, the rest is carried out. */
  private receive(answer: ParsedActivities, url: string, reportRejections: boolean): void {
    for (const rejected of answer.rejected) {
      this.log.warn({ url, index: rejected.index, type: rejected.type, activityId: rejected.activityId, problem: rejected.reason }, 'bot activity rejected; the rest of its batch is carried out');
      // Queued before the good ones are carried out, so the report still goes out if they end the call.
      if (reportRejections && this.state === 'open') this.reportRejected(rejected);
    }
    this.deliver(answer.activities);
  }

  /** Told the way refused commands are (commandFailed), naming the activity by its place in the batch. */
  private reportRejected(rejected: RejectedActivity): void {
    const { index, type, activityId, reason } = rejected;
    const report = eventActivity('commandFailed', { value: { command: 'invalidActivity', index, type, ...(activityId ? { activityId } : {}), reason } }, this.clock.now());
    this.rejectionReports.add(report.id);
    void this.send(report);
  }

  private deliver(activities: Activity[]): void {
    if (activities.length === 0) return;
    if (this.state !== 'open') {
      if (!this.opened) return;
      // The call is over (the disconnect may still be in flight): nothing can be carried out, but the bot's last words are kept in the log.
      this.log.info({ activities: activities.map((a) => ({ id: a.id, type: a.type, name: a.name, text: a.text })) }, 'bot activities received after the call ended; not carried out');
    }
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
