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
