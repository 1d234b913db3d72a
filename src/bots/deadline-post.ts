/**
 * One POST to a bot's HTTP endpoint with a deadline on the call clock, that the conversation's end
 * can also abort. Every request-per-turn connector (Rasa, Dialogflow CX, webhook) sends its turns
 * this way; each words the outcome into its own error, naming its bot and request.
 */
import type { Clock } from '../runtime/clock.js';

export interface DeadlinePost {
  url: string | URL;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  clock: Clock;
  /** Aborted when the conversation ends: the request is dropped. */
  signal?: AbortSignal;
}

/** The bot answered (any status), or why it did not. */
export type DeadlinePostOutcome =
  | { status: number; text: string }
  | {
      /** `timeout`: no full answer within timeoutMs; `ended`: the signal aborted it; `network`: anything else. */
      failure: 'timeout' | 'ended' | 'network';
      /** The network error's code or message (ECONNREFUSED...), for the error message. */
      detail: string;
      /** What fetch threw, to keep as the cause. */
      error: unknown;
    };

export async function postWithDeadline(post: DeadlinePost): Promise<DeadlinePostOutcome> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = post.clock.setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, post.timeoutMs);
  const onEnd = (): void => controller.abort();
  post.signal?.addEventListener('abort', onEnd, { once: true });
  try {
    const res = await fetch(post.url, { method: 'POST', headers: post.headers, body: post.body, signal: controller.signal });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message ?? (err as Error).message;
    return { failure: timedOut ? 'timeout' : post.signal?.aborted ? 'ended' : 'network', detail, error: err };
  } finally {
    timer.cancel();
    post.signal?.removeEventListener('abort', onEnd);
  }
}
