/**
 * Typed in-process event bus. The call path publishes and never waits: a subscriber that throws
 * or rejects is logged and does not reach the publisher.
 */
import type { Logger } from 'pino';
import type { CallDirection, HangupSide } from '../carriers/leg.js';
import type { RecordingRecord, TurnRecord } from '../store/schema.js';
import type { OutboundStatusEvent } from '../dialer/outbound.js';

export interface CallStartedEvent {
  callId: string;
  carrier: string;
  carrierCallId: string;
  direction: CallDirection;
  from: string;
  to: string;
  bot: string;
  /** epoch ms */
  at: number;
}

export interface CallAnsweredEvent {
  callId: string;
  at: number;
}

export interface CallEndedEvent {
  callId: string;
  at: number;
  cause: string;
  side: HangupSide;
  /** Why the conversation ended, from Voxgate's point of view (bot-hangup, caller-hangup, no-input...). */
  reason: string;
  durationSec?: number;
}

export type Speaker = 'bot' | 'caller' | 'system';

export interface TranscriptEvent {
  callId: string;
  at: number;
  who: Speaker;
  text: string;
}

export interface DtmfEvent {
  callId: string;
  at: number;
  digit: string;
}

export interface PromptPlayedEvent {
  callId: string;
  promptId: string;
  /** The text spoken, or the URL played. */
  text: string;
  startedAt: number;
  endedAt: number;
  /** true when the caller heard it to the end; false when barge-in or hangup cut it. */
  heardInFull: boolean;
}

/** A conversational turn finished; published once per turn. */
export type TurnEvent = TurnRecord;
/** A recording file was closed and is complete on disk. */
export type RecordingSavedEvent = Omit<RecordingRecord, 'id'>;

/** A provider the gateway depends on failed: the bot, speech recognition, speech synthesis or the carrier. */
export interface ProviderErrorEvent {
  kind: 'bot' | 'stt' | 'tts' | 'carrier';
  /** The bot's configured name, the STT/TTS provider's name, or the carrier. */
  provider: string;
  /** The call it happened on, when it happened on one. */
  callId?: string;
  error: string;
  at: number;
}

export interface BusEventMap {
  'call.started': CallStartedEvent;
  'call.answered': CallAnsweredEvent;
  'call.ended': CallEndedEvent;
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
