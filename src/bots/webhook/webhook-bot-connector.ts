/**
 * A webhook bot: the conversation service ("brain", seed 000) is a remote HTTP service and Voxgate
 * is its dialer connector. Call start, caller text, DTMF and the end are POSTed as JSON to the
 * brain's URL with the call id; the brain answers in the HTTP response (`{replies:[...]}`) and/or
 * later on Voxgate's response endpoint (WebhookReplyRouter, the `DCS_RESPONSE_URL` role).
 *
 * Errors (unreachable, non-2xx, timeout, malformed answer) become a `failure` event; start/send/end
 * never throw.
 */
import type { Activity } from '../activity.js';
import type { BotConnector, BotConversationInfo, BotDisconnectReason } from '../connector.js';
import { postWithDeadline } from '../deadline-post.js';
import { SerializedRequestConnector } from '../serialized-requests.js';
import { silentLogger, type Logger } from '../../logger.js';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { parseSyncAnswer, replyActivity, WebhookReplyError, type WebhookReply } from './webhook-reply.js';
import type { WebhookReplyRouter } from './webhook-reply-router.js';

export interface WebhookBotOptions {
  name: string;
  /** The brain's webhook, where call events go (env CONVERSATION_SERVICE_URL; not seed 000's DCS_URL, which is Voxgate's own call-initiation endpoint). */
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

export class WebhookBotConnector extends SerializedRequestConnector implements BotConnector {
  readonly botName: string;
  private readonly url: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly clock: Clock;
  private readonly router?: WebhookReplyRouter;
  private readonly responseUrl?: () => string;
  private callId?: string;

  constructor(options: WebhookBotOptions) {
    // Requests go out one at a time so the brain sees caller turns in order.
    super((options.logger ?? silentLogger()).child({ bot: options.name, botKind: 'webhook' }), { failureLog: 'webhook bot failure' });
    this.botName = options.name;
    this.url = options.url;
    this.token = options.token ?? '';
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
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
    return this.hasEnded;
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
    await this.enqueueRequest({ type: 'start', call_id: info.conversationId, caller: info.caller, callee: info.callee, direction: info.direction, parameters, ...(responseUrl ? { response_url: responseUrl } : {}) });
  }

  async send(activity: Activity): Promise<void> {
    if (this.hasEnded || this.callId === undefined) {
      this.log.debug({ activityId: activity.id }, this.hasEnded ? 'activity after end not sent to the brain' : 'activity before start not sent to the brain');
      return;
    }
    if (activity.type === 'message' && typeof activity.text === 'string' && activity.text.trim()) {
      await this.enqueueRequest({ type: 'text', call_id: this.callId, text: activity.text });
      return;
    }
    if (activity.type === 'event' && activity.name === 'DTMF' && activity.value !== undefined && activity.value !== null) {
      await this.enqueueRequest({ type: 'dtmf', call_id: this.callId, digits: String(activity.value) });
      return;
    }
    // The brain's protocol has no word for the other gateway events (noUserInput, promptInterrupted...).
    this.log.debug({ type: activity.type, name: activity.name }, 'activity has no webhook equivalent; not sent');
  }

  async end(reasonCode: BotDisconnectReason, reason?: string): Promise<void> {
    if (this.hasEnded) return;
    this.stop();
    if (this.callId === undefined) return;
    this.router?.unregister(this.callId, this);
    const request: BrainRequest = { type: 'end', call_id: this.callId, reason: reason ?? reasonCode, reason_code: reasonCode };
    await this.enqueueLast(async () => {
      try {
        // Replies to the end request would have no call to play on.
        await this.post(request);
      } catch (err) {
        this.log.warn({ err, callId: request.call_id }, 'brain did not take the end of the call');
      }
    });
  }

  /** A reply that arrived on the response endpoint. False when the conversation has ended. */
  deliverReply(reply: WebhookReply): boolean {
    if (this.hasEnded) return false;
    this.emitActivities([replyActivity(reply, this.clock.now())]);
    return true;
  }

  protected override failureLogFields(): Record<string, unknown> {
    return { callId: this.callId };
  }

  private enqueueRequest(request: BrainRequest): Promise<void> {
    return this.enqueue({ send: (signal) => this.post(request, signal), accept: (answer) => this.accept(request, answer) });
  }

  private accept(request: BrainRequest, answer: unknown): void {
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
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const answer = await postWithDeadline({ url: this.url, headers, body: JSON.stringify(request), timeoutMs: this.timeoutMs, clock: this.clock, signal });
    if ('failure' in answer) {
      if (answer.failure === 'timeout') throw new WebhookBotError('timeout', `${what} got no answer within ${this.timeoutMs} ms`, undefined, { cause: answer.error });
      throw new WebhookBotError('network', `${what} failed: ${answer.detail} (is the brain running?)`, undefined, { cause: answer.error });
    }
    const { status, text } = answer;
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
}
