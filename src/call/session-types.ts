/** Types (and a helper) the call's collaborators share, kept apart so that none of them imports the session. */
import type { Logger } from 'pino';
import type { EventBus } from '../events/bus.js';
import type { Clock } from '../runtime/clock.js';

/** Why the conversation ended, as recorded on the call. */
export type EndReason = 'caller-hangup' | 'bot-hangup' | 'transferred' | 'no-input' | 'bot-no-response' | 'bot-error' | 'stt-error' | 'tts-error' | 'config-error' | 'carrier-hangup';

/** Which part of the conversation failed, for the failure policy and the records. */
export type FailedPart = 'bot' | 'stt' | 'tts';

export interface SessionEnd {
  reason: EndReason;
  /** The hangup was Voxgate's doing (bot hangup, give-up, transfer). */
  byGateway: boolean;
  detail?: string;
}

/** What every collaborator of one call uses to log, time and publish. */
export interface CallScope {
  callId: string;
  clock: Clock;
  bus: EventBus;
  /** Already bound to the call id. */
  log: Logger;
}

/** What an error says, for log lines and the bot's events (anything may be thrown). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The caller's turn, complete: what they said (one utterance, or several collected) or the keys they pressed. */
export type CallerTurn = { kind: 'speech'; text: string; parameters?: Record<string, unknown> } | { kind: 'dtmf'; digits: string };
