/**
 * Typed in-process event bus. The call path publishes and never waits: a subscriber that throws
 * or rejects is logged and does not reach the publisher.
 */
import type { Logger } from 'pino';
import type { CallAnsweredEvent, CallEndedEvent, CallStartedEvent, CallTransferredEvent, DtmfEvent, PromptPlayedEvent, ProviderErrorEvent, RecordingSavedEvent, TranscriptEvent, TurnEvent } from './call-events.js';
import type { OutboundStatusEvent } from './outbound-events.js';

export interface BusEventMap {
  'call.started': CallStartedEvent;
  'call.answered': CallAnsweredEvent;
  'call.ended': CallEndedEvent;
  'call.transferred': CallTransferredEvent;
  transcript: TranscriptEvent;
  dtmf: DtmfEvent;
  'prompt.played': PromptPlayedEvent;
  turn: TurnEvent;
  'recording.saved': RecordingSavedEvent;
  /** A call Voxgate placed changed status (initiated, ringing, answered, completed, failed). */
  'outbound.status': OutboundStatusEvent;
  'provider.error': ProviderErrorEvent;
}

type Listener<T> = (event: T) => void | Promise<void>;

export class EventBus {
  private readonly listeners = new Map<keyof BusEventMap, Set<Listener<never>>>();

  constructor(private readonly logger?: Logger) {}

  subscribe<K extends keyof BusEventMap>(type: K, listener: Listener<BusEventMap[K]>): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  publish<K extends keyof BusEventMap>(type: K, event: BusEventMap[K]): void {
    const set = this.listeners.get(type);
    if (!set) return;
    for (const listener of set) {
      try {
        const result = (listener as Listener<BusEventMap[K]>)(event);
        if (result instanceof Promise) result.catch((err: unknown) => this.report(type, err));
      } catch (err) {
        this.report(type, err);
      }
    }
  }

  private report(type: string, err: unknown): void {
    this.logger?.error({ err, event: type }, 'event subscriber failed');
  }
}
