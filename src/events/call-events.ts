/**
 * What happens on calls, as published on the event bus (src/events/bus.ts) and stored by the record
 * writer. The ground floor of the call path: it imports nothing of Voxgate's.
 */

export type CallDirection = 'inbound' | 'outbound';
/** Who ended the call: the caller hung up, Voxgate ended it, or the carrier/network did. */
export type HangupSide = 'caller' | 'gateway' | 'carrier';

export type TurnInputKind = 'start' | 'speech' | 'dtmf' | 'event';
/** answered: the caller heard the bot's answer start; silent: the bot answered without audio; the rest name what went wrong. */
export type TurnOutcome = 'answered' | 'silent' | 'no-answer' | 'bot-error' | 'tts-error';

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

/** The caller was handed over: where, how, and why (for the call record). */
export interface CallTransferredEvent {
  callId: string;
  at: number;
  target: string;
  /** blind: the carrier or SIP peer moved the caller; bridge: Voxgate joined the caller to the target. */
  mode: 'blind' | 'bridge';
  /** The bot's reason for the transfer, when it gave one. */
  reason?: string;
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

/** A provider the gateway depends on failed: the bot, speech recognition, speech synthesis, the carrier, or storage (record store, recordings disk). */
export interface ProviderErrorEvent {
  kind: 'bot' | 'stt' | 'tts' | 'carrier' | 'store';
  /** The bot's configured name, the STT/TTS provider's name, the carrier, or for `store` the store's dialect or `recordings`. */
  provider: string;
  /** The call it happened on, when it happened on one. */
  callId?: string;
  error: string;
  at: number;
  /**
   * Set when a fallback took over and the call went on (the eSpeak voice for a TTS provider that
   * failed or stalled). Failures without one also show as the turn's or the call's outcome.
   */
  fallback?: string;
}

/** A conversational turn finished (published once per turn) and where its time went (all times epoch ms, latencies in ms). */
export interface TurnEvent {
  callId: string;
  seq: number;
  inputKind: TurnInputKind;
  inputText: string | null;
  speechEndedAt: number | null;
  inputAt: number;
  botSentAt: number | null;
  botAnsweredAt: number | null;
  firstAudioAt: number | null;
  sttMs: number | null;
  botMs: number | null;
  ttsMs: number | null;
  e2eMs: number | null;
  sttProvider: string | null;
  ttsProvider: string | null;
  bot: string;
  outcome: TurnOutcome;
  error: string | null;
}

/** complete: stopped normally; partial: cut short (write error, crash), the file holds what was written; failed: no usable file. */
export type RecordingStatus = 'complete' | 'partial' | 'failed';

/** A recording file was closed (a call may have several: each start/stop makes one); `status` says whether it is whole. */
export interface RecordingSavedEvent {
  callId: string;
  path: string;
  format: 'wav';
  sampleRate: number;
  channels: number;
  startedAt: number;
  endedAt: number;
  durationMs: number;
  /** Absent means complete. */
  status?: RecordingStatus;
  /** Why the recording is partial or failed, e.g. "ENOSPC: no space left on device, write". */
  error?: string;
}
