/** Checks of bot-api answers, each failure naming the URL, the field and what was expected. */
import { randomUUID } from 'node:crypto';
import type { Activity } from '../activity.js';
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

/** `{activities:[...]}` or `{}`; bots may omit id/timestamp on their own activities, so those are filled in. */
export function parseActivities(body: unknown, url: string, now: number): Activity[] {
  if (!isObject(body)) throw malformed(url, 'expected a JSON object');
  const list = body.activities;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw malformed(url, `"activities" must be an array, got ${typeof list}`);
  return list.map((a: unknown, i) => {
    if (!isObject(a)) throw malformed(url, `activities[${i}] must be an object`);
    if (a.type !== 'message' && a.type !== 'event') {
      throw malformed(url, `activities[${i}].type must be "message" or "event", got ${JSON.stringify(a.type)}`);
    }
    if (a.type === 'event' && typeof a.name !== 'string') throw malformed(url, `activities[${i}] is an event without a string "name"`);
    if (a.text !== undefined && typeof a.text !== 'string') throw malformed(url, `activities[${i}].text must be a string`);
    return {
      ...a,
      id: typeof a.id === 'string' && a.id ? a.id : randomUUID(),
      timestamp: typeof a.timestamp === 'string' ? a.timestamp : new Date(now).toISOString(),
    } as Activity;
  });
}
