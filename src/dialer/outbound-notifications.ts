/**
 * Tells the requester how its calls are going: dialout notifications (answered / failed / completed
 * with reason codes) and conversation-API status callbacks (every change with OnChange, the outcome
 * once with OnCompletion). Delivery is the notifier's job (signed, retried, at least once); this only
 * decides what to send where. A call's notifications may arrive before its HTTP answer was read.
 */
import type { EventBus } from '../events/bus.js';
import type { OutboundStatusEvent } from '../events/outbound-events.js';

export interface Notifier {
  /** Queues a delivery and returns at once. */
  notify(url: string, payload: object, idempotencyKey: string, options?: { orderKey?: string }): void;
}

export type CallbackStyle = 'dialout' | 'OnChange' | 'OnCompletion';

interface Subscription {
  url: string;
  style: CallbackStyle;
  to: string;
}

/** Conversation-API status names (queued, ringing, answered, completed, failed, no-answer, busy). */
export function conversationStatus(e: OutboundStatusEvent): string {
  if (e.status === 'initiated') return 'queued';
  if (e.status === 'failed') return e.reasonCode === 'no-answer' || e.reasonCode === 'busy' ? e.reasonCode : 'failed';
  return e.status;
}

/** The dialout API's notification body for a status it reports (answered, failed, completed). */
export function dialoutNotification(e: Pick<OutboundStatusEvent, 'conversationId' | 'status' | 'reasonCode' | 'reason'>): object {
  return { conversationId: e.conversationId, status: e.status, reasonCode: e.reasonCode ?? (e.status === 'completed' ? 'normal' : undefined), reason: e.reason };
}

/**
 * A conversation-API status callback as kept with the outbound call's record (`request.statusCallback`):
 * should the instance running the call die, a survivor still owes the requester the outcome.
 */
export interface StoredStatusCallback {
  url: string;
  style: Exclude<CallbackStyle, 'dialout'>;
}

/** The conversation API's status callback body (OnChange: every status; OnCompletion: the final one). */
export function conversationNotification(e: OutboundStatusEvent, to: string): object {
  const final = e.status === 'completed' || e.status === 'failed';
  return {
    conversationId: e.conversationId,
    to,
    status: conversationStatus(e),
    timestamp: new Date(e.at).toISOString(),
    ...(final ? { input: { dtmf: e.dtmf ?? '' }, endReason: e.endReason, durationMs: e.durationMs, reasonCode: e.reasonCode } : {}),
  };
}

/** The status callback a stored outbound request names, if it is a well-formed one. */
export function storedStatusCallback(request: unknown): StoredStatusCallback | undefined {
  const callback = (request as { statusCallback?: Partial<StoredStatusCallback> } | null)?.statusCallback;
  if (!callback || typeof callback.url !== 'string' || (callback.style !== 'OnChange' && callback.style !== 'OnCompletion')) return undefined;
  return { url: callback.url, style: callback.style };
}

export class OutboundNotifications {
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly unsubscribe: () => void;

  constructor(
    bus: EventBus,
    private readonly notifier: Notifier,
  ) {
    this.unsubscribe = bus.subscribe('outbound.status', (e) => this.onStatus(e));
  }

  /** Registers where a call's notifications go; call before its first status could matter (right after place()). */
  watch(conversationId: string, url: string, style: CallbackStyle, to: string): void {
    this.subscriptions.set(conversationId, { url, style, to });
  }

  close(): void {
    this.unsubscribe();
  }

  private onStatus(e: OutboundStatusEvent): void {
    const sub = this.subscriptions.get(e.conversationId);
    if (!sub) return;
    const final = e.status === 'completed' || e.status === 'failed';
    if (final) this.subscriptions.delete(e.conversationId);
    const key = `${e.conversationId}:${e.status}`;
    if (sub.style === 'dialout') {
      if (e.status === 'initiated' || e.status === 'ringing') return; // the dialout API reports answered, failed and completed only
      this.notifier.notify(sub.url, dialoutNotification(e), key, { orderKey: e.conversationId });
      return;
    }
    if (sub.style === 'OnCompletion' && !final) return;
    // One call's statuses go out one at a time, in order.
    this.notifier.notify(sub.url, conversationNotification(e, sub.to), key, { orderKey: e.conversationId });
  }
}
