/**
 * The bot activity vocabulary of docs/protocols/bot-api.md: the internal lingua franca every
 * bot connector maps to and from.
 */
import { randomUUID } from 'node:crypto';

export interface Activity {
  /** Stable id: bots de-duplicate retries by it. */
  id: string;
  /** ISO 8601. */
  timestamp: string;
  type: 'message' | 'event';
  text?: string;
  name?: string;
  value?: unknown;
  parameters?: Record<string, unknown>;
  activityParams?: Record<string, unknown>;
  sessionParams?: Record<string, unknown>;
  language?: string;
}

export type ActivityFields = Omit<Activity, 'id' | 'timestamp' | 'type'>;

export function messageActivity(text: string, fields: ActivityFields = {}, now = Date.now()): Activity {
  return { id: randomUUID(), timestamp: new Date(now).toISOString(), type: 'message', text, ...fields };
}

export function eventActivity(name: string, fields: ActivityFields = {}, now = Date.now()): Activity {
  return { id: randomUUID(), timestamp: new Date(now).toISOString(), type: 'event', name, ...fields };
}

/**
 * The event names a bot may send (docs/protocols/bot-api.md, "Bot -> gateway"). Bots written for
 * other gateways capitalize them (`Hangup`, `PlayUrl`), so names are matched case-insensitively
 * and mapped to this spelling before the call acts on them.
 */
const BOT_EVENT_NAMES = [
  'hangup',
  'transfer',
  'handover',
  'playUrl',
  'config',
  'sendDtmf',
  'sendMetaData',
  'startCallRecording',
  'stopCallRecording',
  'pauseCallRecording',
  'resumeCallRecording',
  'abortPrompts',
  'startRecognition',
  'stopRecognition',
  'expectAnotherBotMessage',
] as const;

const BOT_EVENT_BY_LOWER = new Map<string, string>(BOT_EVENT_NAMES.map((name) => [name.toLowerCase(), name]));

/** The vocabulary's spelling of a bot event name, whatever its case; unknown names are returned as they are. */
export function canonicalBotEventName(name: string): string {
  return BOT_EVENT_BY_LOWER.get(name.toLowerCase()) ?? name;
}

/** `message` or `event` whatever the case (`"Event"`), else undefined. */
export function activityTypeOf(type: unknown): Activity['type'] | undefined {
  if (typeof type !== 'string') return undefined;
  const lower = type.toLowerCase();
  return lower === 'message' || lower === 'event' ? lower : undefined;
}
