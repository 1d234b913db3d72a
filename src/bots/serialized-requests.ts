/**
 * The conversation half of bot connectors that send one HTTP request per gateway activity (Rasa,
 * Dialogflow CX, webhook). What they must all do the same way lives here:
 * - requests go out one at a time, in order, so the bot sees the caller's turns as they happened;
 * - end() stops the conversation: requests queued or in flight are dropped, not reported, and their
 *   answers have no call to play on; a last message (a protocol's end-of-call request) still goes out;
 * - failures become the connector's `failure` event, and a listener that throws is logged, never
 *   mistaken for the bot's failure.
 * The subclass builds each request, sends it and reads its answer.
 */
import { EventEmitter } from 'node:events';
import type { Activity } from './activity.js';
import type { BotConnectorEventMap } from './connector.js';
import type { Logger } from '../logger.js';

/** One request in the conversation's queue. */
export interface SerializedRequest<Answer> {
  /** Sends the request; `signal` aborts it when the conversation ends. Rejects with what went wrong. */
  send(signal: AbortSignal): Promise<Answer>;
  /** The answer, while the conversation lasts: emit its activities, or fail. */
  accept(answer: Answer): void;
}

export interface SerializedRequestPolicy {
  /** The log message of a reported failure, e.g. "Rasa bot failure". */
  failureLog: string;
  /** After a failure, drop the queued requests and send no more (the bot's session is unusable). */
  stopAfterFailure?: boolean;
}

export abstract class SerializedRequestConnector extends EventEmitter<BotConnectorEventMap> {
  private ended = false;
  private failed = false;
  /** Aborted at end(): a request still waiting for the bot is dropped, not reported as a failure. */
  private readonly lifetime = new AbortController();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    protected log: Logger,
    private readonly policy: SerializedRequestPolicy,
  ) {
    super();
  }

  /** Whether the conversation was stopped (end() was called). */
  protected get hasEnded(): boolean {
    return this.ended;
  }

  /** Ends the conversation: queued requests are dropped, the one in flight is aborted. */
  protected stop(): void {
    this.ended = true;
    this.lifetime.abort();
  }

  /** Queues a request behind the ones already sent; resolves when it was answered, dropped or failed. */
  protected enqueue<Answer>(request: SerializedRequest<Answer>): Promise<void> {
    return this.then(() => this.exchange(request));
  }

  /** Queues the conversation's last message: sent even after stop(), its answer ignored; `send` handles its own errors. */
  protected enqueueLast(send: () => Promise<void>): Promise<void> {
    return this.then(send);
  }

  /** Extra fields of the failure log line (the call id, say). */
  protected failureLogFields(): Record<string, unknown> {
    return {};
  }

  protected fail(error: Error): void {
    if (this.policy.stopAfterFailure) this.failed = true;
    this.log.warn({ err: error, ...this.failureLogFields() }, this.policy.failureLog);
    if (this.listenerCount('failure') === 0) return;
    try {
      this.emit('failure', error);
    } catch (err) {
      this.log.error({ err }, 'failure listener threw');
    }
  }

  protected emitActivities(activities: Activity[]): void {
    try {
      this.emit('activities', activities);
    } catch (err) {
      // A listener's bug is not the bot's failure.
      this.log.error({ err }, 'activities listener threw');
    }
  }

  private then(step: () => Promise<void>): Promise<void> {
    const run = this.chain.then(step);
    this.chain = run;
    return run;
  }

  private async exchange<Answer>(request: SerializedRequest<Answer>): Promise<void> {
    if (this.ended || this.failed) return; // queued before end() or a failure: pointless now
    let answer: Answer;
    try {
      answer = await request.send(this.lifetime.signal);
    } catch (err) {
      if (!this.ended) this.fail(err as Error); // else: the call ended while the bot was thinking
      return;
    }
    if (this.ended) return; // replies would have no call to play on
    request.accept(answer);
  }
}
