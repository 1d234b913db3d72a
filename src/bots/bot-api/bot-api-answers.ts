/** Checks of bot-api answers, each failure naming the URL, the field and what was expected. */
import { randomUUID } from 'node:crypto';
import { activityTypeOf, canonicalBotEventName, type Activity } from '../activity.js';
import { BotApiError } from './bot-api-http.js';

export interface BotApiConversationUrls {
  activitiesURL: string;
  refreshURL?: string;
  disconnectURL?: string;
  /** ws: or wss: */
  websocketURL?: string;
  expiresSeconds: number;
}

/** The expiry assumed when a create answer carries none. */
const DEFAULT_EXPIRES_S = 60;

function malformed(url: string, problem: string): BotApiError {
  return new BotApiError('malformed', url, `bot-api answer from ${url} is malformed: ${problem}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Resolves the create answer's (usually relative) URLs against botURL. */
export function parseCreateAnswer(body: unknown, botUrl: string): BotApiConversationUrls {
  if (!isObject(body)) throw malformed(botUrl, 'expected a JSON object');
  const resolve = (field: string, required: boolean): string | undefined => {
    const v = body[field];
    if (v === undefined || v === null || v === '') {
      if (required) throw malformed(botUrl, `"${field}" is missing`);
      return undefined;
    }
    if (typeof v !== 'string') throw malformed(botUrl, `"${field}" must be a string URL, got ${typeof v}`);
    try {
      return new URL(v, botUrl).toString();
    } catch {
      throw malformed(botUrl, `"${field}" is not a valid URL: ${JSON.stringify(v)}`);
    }
  };
  const expires = body.expiresSeconds;
  if (expires !== undefined && (typeof expires !== 'number' || !(expires > 0))) {
    throw malformed(botUrl, `"expiresSeconds" must be a positive number, got ${JSON.stringify(expires)}`);
  }
  const ws = resolve('websocketURL', false);
  return {
    activitiesURL: resolve('activitiesURL', true)!,
    refreshURL: resolve('refreshURL', false),
    disconnectURL: resolve('disconnectURL', false),
    // A relative websocket path resolves to http(s): map to the matching ws scheme.
    websocketURL: ws?.replace(/^http(s?):/, 'ws$1:'),
    expiresSeconds: typeof expires === 'number' ? expires : DEFAULT_EXPIRES_S,
  };
}

export function parseRefreshAnswer(body: unknown, url: string): number | undefined {
  if (!isObject(body)) throw malformed(url, 'expected a JSON object');
  const expires = body.expiresSeconds;
  if (expires === undefined) return undefined;
  if (typeof expires !== 'number' || !(expires > 0)) {
    throw malformed(url, `"expiresSeconds" must be a positive number, got ${JSON.stringify(expires)}`);
  }
  return expires;
}

/** One activity of a batch that could not be used: the rest of the batch still is. */
export interface RejectedActivity {
  /** Position in the batch, from 0. */
  index: number;
  /** The `type` the bot sent, as text ("(none)" when absent). */
  type: string;
  /** The bot's id for it, when it gave one. */
  activityId?: string;
  reason: string;
}

export interface ParsedActivities {
  activities: Activity[];
  rejected: RejectedActivity[];
}

/** Fields that must be JSON objects when present (settings are read from them by name). */
const OBJECT_FIELDS = ['parameters', 'activityParams', 'sessionParams'] as const;

/**
 * `{activities:[...]}` or `{}`. Types and event names are matched case-insensitively (`"Event"`,
 * `"Hangup"`) and stored in the vocabulary's spelling. One unusable activity is rejected on its own
 * (named in `rejected`), so a bot's goodbye and hangup still happen around it; only a body that is
 * not a batch at all throws. Bots may omit id/timestamp on their own activities, so those are filled in.
 */
export function parseActivities(body: unknown, url: string, now: number): ParsedActivities {
  if (!isObject(body)) throw malformed(url, 'expected a JSON object');
  const list = body.activities;
  if (list === undefined || list === null) return { activities: [], rejected: [] };
  if (!Array.isArray(list)) throw malformed(url, `"activities" must be an array, got ${typeof list}`);
  const parsed: ParsedActivities = { activities: [], rejected: [] };
  list.forEach((a: unknown, index) => {
    const checked = checkActivity(a, now);
    if (typeof checked === 'string') {
      const raw = isObject(a) ? a : {};
      parsed.rejected.push({
        index,
        type: typeof raw.type === 'string' ? raw.type : raw.type === undefined ? '(none)' : JSON.stringify(raw.type),
        ...(typeof raw.id === 'string' && raw.id ? { activityId: raw.id } : {}),
        reason: checked,
      });
    } else {
      parsed.activities.push(checked);
    }
  });
  return parsed;
}

/** The activity in the vocabulary's spelling, or what is wrong with it. */
function checkActivity(a: unknown, now: number): Activity | string {
  if (!isObject(a)) return `an activity must be a JSON object, got ${Array.isArray(a) ? 'an array' : a === null ? 'null' : typeof a}`;
  const type = activityTypeOf(a.type);
  if (!type) return `"type" must be "message" or "event" (any case), got ${JSON.stringify(a.type) ?? 'nothing'}`;
  if (type === 'event' && (typeof a.name !== 'string' || a.name === '')) return 'an event needs a string "name"';
  if (a.text !== undefined && typeof a.text !== 'string') return `"text" must be a string, got ${typeof a.text}`;
  for (const field of OBJECT_FIELDS) {
    if (a[field] !== undefined && !isObject(a[field])) return `"${field}" must be a JSON object`;
  }
  return {
    ...a,
    type,
    ...(type === 'event' ? { name: canonicalBotEventName(a.name as string) } : {}),
    id: typeof a.id === 'string' && a.id ? a.id : randomUUID(),
    timestamp: typeof a.timestamp === 'string' ? a.timestamp : new Date(now).toISOString(),
  } as Activity;
}
