/**
 * Mapping between Voxgate's activity vocabulary (docs/protocols/bot-api.md) and Bot Framework
 * activities as Direct Line 3.0 carries them, plus ActivitySet parsing. Bot -> gateway settings
 * travel in `channelData.activityParams` / `channelData.sessionParams` (the AudioCodes VoiceAI
 * Connect convention for Bot Framework bots); top-level ones are accepted too.
 */
import type { Activity } from '../activity.js';
import type { BotDisconnectReason } from '../connector.js';
import { DirectLineError } from './direct-line-http.js';

/** A Bot Framework activity as Direct Line sends or accepts it (only the fields Voxgate uses). */
export interface BotFrameworkActivity {
  type: string;
  id?: string;
  timestamp?: string;
  from?: { id?: string; name?: string; role?: string };
  text?: string;
  speak?: string;
  locale?: string;
  name?: string;
  value?: unknown;
  code?: string;
  channelData?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface ActivitySet {
  activities: BotFrameworkActivity[];
  watermark?: string;
}

export interface DirectLineUser {
  id: string;
  name?: string;
}

/** Validates an ActivitySet (WebSocket frame or GET .../activities answer); `source` names where it came from. */
export function parseActivitySet(body: unknown, source: string): ActivitySet {
  const bad = (problem: string) => new DirectLineError('malformed', `Direct Line ${source} sent a malformed ActivitySet: ${problem}`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad(`expected a JSON object, got ${describe(body)}`);
  const { activities, watermark } = body as { activities?: unknown; watermark?: unknown };
  if (!Array.isArray(activities)) throw bad(`"activities" must be an array, got ${describe(activities)}`);
  activities.forEach((a, i) => {
    if (typeof a !== 'object' || a === null || Array.isArray(a)) throw bad(`activities[${i}] must be an object, got ${describe(a)}`);
    if (typeof (a as { type?: unknown }).type !== 'string') throw bad(`activities[${i}].type must be a string, got ${describe((a as { type?: unknown }).type)}`);
  });
  if (watermark !== undefined && watermark !== null && typeof watermark !== 'string') throw bad(`"watermark" must be a string, got ${describe(watermark)}`);
  return { activities: activities as BotFrameworkActivity[], watermark: watermark ?? undefined };
}

/**
 * The internal activity for one bot activity, or undefined for those a phone call has no use for
 * (typing, conversationUpdate, messages with only attachments...).
 */
export function fromBotFramework(a: BotFrameworkActivity, now: number): Activity | undefined {
  const id = typeof a.id === 'string' && a.id ? a.id : `direct-line-${now}-${Math.random().toString(36).slice(2)}`;
  const timestamp = typeof a.timestamp === 'string' && !Number.isNaN(Date.parse(a.timestamp)) ? a.timestamp : new Date(now).toISOString();
  const language = typeof a.locale === 'string' && a.locale ? a.locale : undefined;
  const params = settingsOf(a);
  switch (a.type) {
    case 'message': {
      // `speak` is the Bot Framework's spoken form (often SSML); `text` is what a screen would show.
      const spoken = nonEmpty(a.speak) ?? nonEmpty(a.text);
      if (!spoken) return undefined;
      return { id, timestamp, type: 'message', text: spoken, language, ...params };
    }
    case 'event':
      if (typeof a.name !== 'string' || !a.name) return undefined;
      return { id, timestamp, type: 'event', name: a.name, value: a.value, language, ...params };
    case 'endOfConversation': {
      const hangupReason = nonEmpty(a.text) ?? nonEmpty(a.code) ?? 'bot-end-of-conversation';
      return { id, timestamp, type: 'event', name: 'hangup', activityParams: { hangupReason, ...params.activityParams }, sessionParams: params.sessionParams };
    }
    default:
      return undefined;
  }
}

function settingsOf(a: BotFrameworkActivity): Pick<Activity, 'activityParams' | 'sessionParams'> {
  const channel = isRecord(a.channelData) ? a.channelData : {};
  const activityParams = merge(a.activityParams, channel.activityParams);
  const sessionParams = merge(a.sessionParams, channel.sessionParams);
  return { ...(activityParams && { activityParams }), ...(sessionParams && { sessionParams }) };
}

function merge(top: unknown, channel: unknown): Record<string, unknown> | undefined {
  if (!isRecord(top) && !isRecord(channel)) return undefined;
  return { ...(isRecord(top) ? top : {}), ...(isRecord(channel) ? channel : {}) };
}

/** The Bot Framework activity Voxgate POSTs for one gateway -> bot activity. */
export function toBotFramework(a: Activity, user: DirectLineUser, defaultLocale?: string): BotFrameworkActivity {
  const out: BotFrameworkActivity = { type: a.type, from: { ...user }, timestamp: a.timestamp };
  const locale = a.language ?? defaultLocale;
  if (locale) out.locale = locale;
  if (a.type === 'message') out.text = a.text ?? '';
  else out.name = a.name;
  // The start event's call details go in `value` (what event handlers read) and in channelData.
  if (a.value !== undefined) out.value = a.value;
  else if (a.type === 'event' && a.parameters) out.value = a.parameters;
  const channelData: Record<string, unknown> = { ...a.parameters };
  if (a.activityParams) channelData.activityParams = a.activityParams;
  if (a.sessionParams) channelData.sessionParams = a.sessionParams;
  channelData.voxgateActivityId = a.id;
  out.channelData = channelData;
  return out;
}

const END_CODES: Record<BotDisconnectReason, string> = {
  'client-disconnected': 'userCancelled',
  'bot-disconnected': 'completedSuccessfully',
  transferred: 'completedSuccessfully',
  error: 'channelFailed',
  'machine-detected': 'userCancelled',
  'no-answer': 'userCancelled',
  busy: 'userCancelled',
  declined: 'userCancelled',
};

/** The `endOfConversation` activity that tells the bot the call is over (Bot Framework EndOfConversationCodes). */
export function endOfConversation(user: DirectLineUser, reasonCode: BotDisconnectReason, reason: string | undefined, now: number): BotFrameworkActivity {
  return {
    type: 'endOfConversation',
    from: { ...user },
    timestamp: new Date(now).toISOString(),
    code: END_CODES[reasonCode] ?? 'unknown',
    text: reason ?? reasonCode,
    value: { reasonCode, reason: reason ?? reasonCode },
  };
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() ? v : undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : typeof v;
}
