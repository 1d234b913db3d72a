/**
 * A webhook bot: the conversation service ("brain", seed 000) is a remote HTTP service and Voxgate
 * is its dialer connector. Call start, caller text, DTMF and the end are POSTed as JSON to the
 * brain's URL with the call id; the brain answers in the HTTP response (`{replies:[...]}`) and/or
 * later on Voxgate's response endpoint (WebhookReplyRouter, the `DCS_RESPONSE_URL` role).
 *
 * Errors (unreachable, non-2xx, timeout, malformed answer) become a `failure` event; start/send/end
 * never throw.
 */
import { EventEmitter } from 'node:events';
import type { Activity } from '../activity.js';
import type { BotConnector, BotConnectorEventMap, BotConversationInfo, BotDisconnectReason } from '../connector.js';
import { silentLogger, type Logger } from '../../logger.js';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { parseSyncAnswer, replyActivity, WebhookReplyError, type WebhookReply } from './webhook-reply.js';
import type { WebhookReplyRouter } from './webhook-reply-router.js';

export interface WebhookBotOptions {
  name: string;
  /** The brain's webhook (`DCS_URL` role seen from the brain: where call events go). */
  url: string;
  /** Sent as `Authorization: Bearer <token>`; no header when absent or empty. */
  token?: string;
  /** Longest wait for the brain's answer to one request. Default 10000. */
  requestTimeoutMs?: number;
  logger?: Logger;
  clock?: Clock;
  /** When given, the call id is registered at start and unregistered at end, so async replies reach this call. */
  router?: WebhookReplyRouter;
  /** Where the brain should POST its replies (Voxgate's DCS_RESPONSE_URL); sent with the start. */
  responseUrl?: () => string;
}

/** The brain did not take a request: unreachable, timed out, non-2xx or a malformed answer. */
export class WebhookBotError extends Error {
  override name = 'WebhookBotError';
  constructor(
    readonly kind: 'network' | 'timeout' | 'http' | 'malformed',
    message: string,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

type BrainRequest =
  | { type: 'start'; call_id: string; caller: string; callee: string; direction: string; parameters: Record<string, unknown>; response_url?: string }
  | { type: 'text'; call_id: string; text: string }
  | { type: 'dtmf'; call_id: string; digits: string }
  | { type: 'end'; call_id: string; reason: string; reason_code: BotDisconnectReason };

const DEFAULT_TIMEOUT_MS = 10_000;

export class WebhookBotConnector extends EventEmitter<BotConnectorEventMap> implements BotConnector {
  readonly botName: string;
  private readonly url: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly router?: WebhookReplyRouter;
  private readonly responseUrl?: () => string;
  private callId?: string;
  private ended = false;
  /** Aborted at end(): a request still waiting for the brain is dropped, not reported as a failure. */
  private readonly lifetime = new AbortController();
  /** Requests go out one at a time so the brain sees caller turns in order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(options: WebhookBotOptions) {
    super();
    this.botName = options.name;
    this.url = options.url;
    this.token = options.token ?? '';
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.log = (options.logger ?? silentLogger()).child({ bot: options.name, botKind: 'webhook' });
    this.clock = options.clock ?? systemClock;
    this.router = options.router;
    this.responseUrl = options.responseUrl;
  }

  /** The call id this conversation answers to, once started. */
  get conversationId(): string | undefined {
    return this.callId;
  }

  /** Whether end() was called; ended conversations take no more replies. */
  get isEnded(): boolean {
    return this.ended;
  }

  async start(info: BotConversationInfo): Promise<void> {
    if (this.callId !== undefined) {
      this.fail(new Error(`webhook bot "${this.botName}": start() called twice for call ${this.callId}`));
      return;
    }
    this.callId = info.conversationId;
    if (!URL.canParse(this.url) || !/^https?:$/.test(new URL(this.url).protocol)) {
      this.fail(new WebhookBotError('network', `webhook bot "${this.botName}": url ${JSON.stringify(this.url)} is not an absolute http(s) URL`));
      return;
    }
    this.router?.register(info.conversationId, this);
    const parameters: Record<string, unknown> = { ...info.parameters };
    for (const key of ['callerHost', 'calleeHost', 'callerDisplayName'] as const) if (info[key] !== undefined) parameters[key] = info[key];
    const responseUrl = this.responseUrl?.();
    await this.enqueue({ type: 'start', call_id: info.conversationId, caller: info.caller, callee: info.callee, direction: info.direction, parameters, ...(responseUrl ? { response_url: responseUrl } : {}) });
  }

  async send(activity: Activity): Promise<void> {
    if (this.ended || this.callId === undefined) {
      this.log.debug({ activityId: activity.id }, this.ended ? 'activity after end not sent to the brain' : 'activity before start not sent to the brain');
      return;
    }
    if (activity.type === 'message' && typeof activity.text === 'string' && activity.text.trim()) {
      await this.enqueue({ type: 'text', call_id: this.callId, text: activity.text });
      return;
    }
    if (activity.type === 'event' && activity.name === 'DTMF' && activity.value !== undefined && activity.value !== null) {
      await this.enqueue({ type: 'dtmf', call_id: this.callId, digits: String(activity.value) });
      return;
    }
    // The brain's protocol has no word for the other gateway events (noUserInput, promptInterrupted...).
    this.log.debug({ type: activity.type, name: activity.name }, 'activity has no webhook equivalent; not sent');
  }

  async end(reasonCode: BotDisconnectReason, reason?: string): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.lifetime.abort();
    if (this.callId === undefined) return;
    this.router?.unregister(this.callId, this);
    await this.enqueue({ type: 'end', call_id: this.callId, reason: reason ?? reasonCode, reason_code: reasonCode }, true);
  }

  /** A reply that arrived on the response endpoint. False when the conversation has ended. */
  deliverReply(reply: WebhookReply): boolean {
    if (this.ended) return false;
    this.emitActivities([replyActivity(reply, this.clock.now())]);
    return true;
  }

  private enqueue(request: BrainRequest, isEnd = false): Promise<void> {
    const run = this.chain.then(() => this.exchange(request, isEnd));
    this.chain = run;
    return run;
  }

  private async exchange(request: BrainRequest, isEnd: boolean): Promise<void> {
    if (!isEnd && this.ended) return; // queued before end(), pointless now
    let answer: unknown;
    try {
      answer = await this.post(request, isEnd ? undefined : this.lifetime.signal);
    } catch (err) {
      if (!isEnd && this.ended) return; // the call ended while the brain was thinking
      if (isEnd) this.log.warn({ err, callId: request.call_id }, 'brain did not take the end of the call');
      else this.fail(err as Error);
      return;
    }
    // Replies to the end request would have no call to play on.
    if (isEnd || this.ended) return;
    let replies: WebhookReply[];
    try {
      replies = parseSyncAnswer(answer, request.call_id);
    } catch (err) {
      const detail = err instanceof WebhookReplyError ? err.message : String(err);
      this.fail(new WebhookBotError('malformed', `webhook bot "${this.botName}": POST ${this.url} (${request.type}) answered with a bad reply: ${detail}`, undefined, { cause: err }));
      return;
    }
    if (replies.length) this.emitActivities(replies.map((r) => replyActivity(r, this.clock.now())));
  }

  private async post(request: BrainRequest, signal?: AbortSignal): Promise<unknown> {
    const what = `webhook bot "${this.botName}": POST ${this.url} (${request.type})`;
    const controller = new AbortController();
    let timedOut = false;
    const timer = this.clock.setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    const onEnd = () => controller.abort();
    signal?.addEventListener('abort', onEnd, { once: true });
    let status: number;
    let text: string;
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
      if (this.token) headers.authorization = `Bearer ${this.token}`;
      const res = await fetch(this.url, { method: 'POST', headers, body: JSON.stringify(request), signal: controller.signal });
      status = res.status;
      text = await res.text();
    } catch (err) {
      if (timedOut) throw new WebhookBotError('timeout', `${what} got no answer within ${this.timeoutMs} ms`, undefined, { cause: err });
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new WebhookBotError('network', `${what} failed: ${cause?.code ?? cause?.message ?? (err as Error).message} (is the brain running?)`, undefined, { cause: err });
    } finally {
      timer.cancel();
      signal?.removeEventListener('abort', onEnd);
    }
    if (status < 200 || status >= 300) {
      const hint = status === 401 || status === 403 ? ' (check the webhook bot token)' : '';
      throw new WebhookBotError('http', `${what} answered ${status}${hint}: ${text.slice(0, 200)}`, status);
    }
    if (!text.trim()) return {};
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new WebhookBotError('malformed', `${what} answered ${status} with a body that is not JSON: ${text.slice(0, 80)}`, status, { cause: err });
    }
  }

  private emitActivities(activities: Activity[]): void {
    try {
      this.emit('activities', activities);
    } catch (err) {
      // A listener's bug is not the brain's failure.
      this.log.error({ err }, 'activities listener threw');
    }
  }

  private fail(error: Error): void {
    this.log.warn({ err: error, callId: this.callId }, 'webhook bot failure');
    if (this.listenerCount('failure') === 0) return;
    try {
      this.emit('failure', error);
    } catch (err) {
      this.log.error({ err }, 'failure listener threw');
    }
  }
}
