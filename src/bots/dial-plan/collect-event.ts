/**
 * What a COLLECT verb reports: the record kept on the bot's result and the JSON body POSTed to
 * the verb's eventUrl. Delivery is best effort: a dead or failing eventUrl is logged and the call
 * goes on (the digits are still on the result the dialer reads).
 */
import type { Logger } from '../../logger.js';

/**
 * - `collected`: the caller pressed keys (maxDigits reached, `#` with submitOnHash, or `timeout`
 *   seconds after the last key); `digits` may be shorter than maxDigits, and empty for a lone `#`.
 * - `timeout`: no key within `timeout` seconds after the prompts before the COLLECT had played.
 * - `hangup`: the call ended while the COLLECT was waiting.
 */
export type CollectStatus = 'collected' | 'timeout' | 'hangup';

export interface DialPlanCollectResult {
  /** Index of the COLLECT verb in `dialPlan.verbs` (0-based). */
  verbIndex: number;
  status: CollectStatus;
  /** The keys pressed, without the submitting `#`; '' when none. */
  digits: string;
  /** ISO 8601. */
  at: string;
}

/** The body POSTed to a COLLECT's eventUrl (Content-Type: application/json). */
export interface CollectEventPayload extends DialPlanCollectResult {
  type: 'dial-plan.collect';
  /** Voxgate's call id; the same value as `conversationId`, named for both kinds of reader. */
  callId: string;
  conversationId: string;
  /** The called party (the contact) and the calling number, as on the call. */
  to: string;
  from: string;
  /** Index of this COLLECT among the plan's COLLECT verbs (0-based). */
  collectIndex: number;
}

export class CollectEventError extends Error {}

export interface CollectEventSender {
  fetch: typeof fetch;
  timeoutMs: number;
  log: Logger;
}

/** POSTs one collect event; never rejects (failures are logged with the URL and the reason). */
export async function postCollectEvent(url: string, payload: CollectEventPayload, sender: CollectEventSender): Promise<void> {
  try {
    const res = await sender.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(sender.timeoutMs),
    });
    // Drain the body so the connection is released; a returned dial plan is not supported (see docs).
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new CollectEventError(`dial plan eventUrl ${url} answered HTTP ${res.status}`);
    sender.log.debug({ url, verbIndex: payload.verbIndex, status: payload.status }, 'collect event delivered');
  } catch (err) {
    const reason = describeFailure(err, sender.timeoutMs);
    sender.log.error({ url, verbIndex: payload.verbIndex, status: payload.status, digits: payload.digits, reason }, 'dial plan collect event could not be delivered; the call goes on');
  }
}

/** fetch() says only "fetch failed"; the cause (ECONNREFUSED, ENOTFOUND...) is what an operator needs. */
function describeFailure(err: unknown, timeoutMs: number): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  const detail = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : undefined;
  return detail ? `${err.message} (${detail})` : err.message;
}
