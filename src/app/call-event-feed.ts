/**
 * One call's events for the page that placed it (a browser call's JSON event channel): the bus's
 * answer, transcript, DTMF, transfer and end events of that call, in the order they happened. One
 * subscription per event type serves every followed call (a map lookup per event, not a listener per call).
 */
import type { EventBus } from '../events/bus.js';
import type { CallEventFeed, PageCallEvent } from '../carriers/carrier.js';

type PageListener = (event: PageCallEvent) => void;

export class BusCallEventFeed implements CallEventFeed {
  private readonly followers = new Map<string, Set<PageListener>>();
  private readonly unsubscribe: (() => void)[];

  constructor(bus: EventBus) {
    this.unsubscribe = [
      bus.subscribe('call.answered', (e) => this.deliver(e.callId, { type: 'answered', callId: e.callId, at: e.at })),
      bus.subscribe('transcript', (e) => this.deliver(e.callId, { type: 'transcript', who: e.who, text: e.text, at: e.at })),
      bus.subscribe('dtmf', (e) => this.deliver(e.callId, { type: 'dtmf', digit: e.digit, at: e.at })),
      bus.subscribe('call.transferred', (e) => this.deliver(e.callId, { type: 'transferred', target: e.target, at: e.at })),
      bus.subscribe('call.ended', (e) => {
        this.deliver(e.callId, { type: 'ended', cause: e.cause, reason: e.reason, at: e.at });
        this.followers.delete(e.callId);
      }),
    ];
  }

  follow(callId: string, listener: PageListener): () => void {
    let set = this.followers.get(callId);
    if (!set) this.followers.set(callId, (set = new Set()));
    set.add(listener);
    return () => {
      const current = this.followers.get(callId);
      current?.delete(listener);
      if (current?.size === 0) this.followers.delete(callId);
    };
  }

  close(): void {
    for (const off of this.unsubscribe) off();
    this.followers.clear();
  }

  private deliver(callId: string, event: PageCallEvent): void {
    const set = this.followers.get(callId);
    if (!set) return;
    for (const listener of set) listener(event);
  }
}
