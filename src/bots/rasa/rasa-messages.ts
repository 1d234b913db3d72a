/**
 * Rasa's bot messages (CollectingOutputChannel: `{recipient_id, text?, image?, buttons?,
 * attachment?, custom?}`) mapped to bot activities. `text` is spoken (SSML kept), `custom` carries
 * activities in the AudioCodes convention (`{activities:[...]}` or one `{type, name, activityParams}`);
 * images, attachments and button lists have no voice equivalent and are only logged.
 */
import { randomUUID } from 'node:crypto';
import { messageActivity, type Activity } from '../activity.js';
import type { Logger } from '../../logger.js';

/** Rasa's answer is not a list of bot messages; `field` names the offending part. */
export class RasaAnswerError extends Error {
  override name = 'RasaAnswerError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v) : typeof v;
}

const ACTIVITY_FIELDS = ['text', 'name', 'value', 'parameters', 'activityParams', 'sessionParams', 'language'] as const;

/** One activity of a custom payload, or undefined (logged) when it is not one. */
function customActivity(raw: unknown, now: number, where: string, log: Logger): Activity | undefined {
  if (!isRecord(raw) || (raw.type !== 'message' && raw.type !== 'event')) {
    log.warn({ where, payload: raw }, 'Rasa custom payload activity ignored: "type" must be "message" or "event"');
    return undefined;
  }
  if (raw.type === 'event' && (typeof raw.name !== 'string' || !raw.name)) {
    log.warn({ where, payload: raw }, 'Rasa custom payload event ignored: it has no "name"');
    return undefined;
  }
  const activity: Activity = {
    id: typeof raw.id === 'string' && raw.id ? raw.id : randomUUID(),
    timestamp: typeof raw.timestamp === 'string' && raw.timestamp ? raw.timestamp : new Date(now).toISOString(),
    type: raw.type,
  };
  for (const field of ACTIVITY_FIELDS) {
    if (raw[field] === undefined) continue;
    const value = raw[field];
    const wantsRecord = field === 'parameters' || field === 'activityParams' || field === 'sessionParams';
    const wantsString = field === 'text' || field === 'name' || field === 'language';
    if ((wantsRecord && !isRecord(value)) || (wantsString && typeof value !== 'string')) {
      log.warn({ where, field }, `Rasa custom payload field "${field}" has the wrong type (${describe(value)}); dropped`);
      continue;
    }
    (activity as unknown as Record<string, unknown>)[field] = value;
  }
  return activity;
}

/** The activities of a `custom` payload; unknown payloads give none (logged). */
export function customPayloadActivities(custom: unknown, now: number, where: string, log: Logger): Activity[] {
  if (isRecord(custom) && Array.isArray(custom.activities)) {
    return custom.activities.flatMap((a, i) => customActivity(a, now, `${where}.activities[${i}]`, log) ?? []);
  }
  if (isRecord(custom) && (custom.type === 'message' || custom.type === 'event')) {
    const one = customActivity(custom, now, where, log);
    return one ? [one] : [];
  }
  log.warn({ where, payload: custom }, 'Rasa custom payload is neither {activities:[...]} nor one {type, name} activity; ignored');
  return [];
}

/**
 * Activities for Rasa's answer to one message, in Rasa's order. Throws RasaAnswerError when the
 * answer is not an array of objects (a proxy's page, another API's answer).
 */
export function rasaAnswerActivities(answer: unknown, now: number, log: Logger): Activity[] {
  if (!Array.isArray(answer)) throw new RasaAnswerError('body', `the answer must be a JSON array of bot messages; got ${describe(answer)}`);
  const activities: Activity[] = [];
  answer.forEach((message, i) => {
    const where = `[${i}]`;
    if (!isRecord(message)) throw new RasaAnswerError(where, `bot message ${where} must be a JSON object; got ${describe(message)}`);
    if (message.text !== undefined && message.text !== null) {
      if (typeof message.text !== 'string') throw new RasaAnswerError(`${where}.text`, `bot message ${where} field "text" must be a string; got ${describe(message.text)}`);
      if (message.text.trim()) activities.push(messageActivity(message.text, {}, now));
    }
    // A phone caller cannot see these: say so in the logs, so the domain can get a voice variant.
    if (Array.isArray(message.buttons) && message.buttons.length) log.info({ where, buttons: message.buttons.length }, 'Rasa buttons not spoken (only the text is)');
    if (message.image !== undefined) log.info({ where, image: message.image }, 'Rasa image ignored on a voice call');
    if (message.attachment !== undefined) log.info({ where }, 'Rasa attachment ignored on a voice call');
    if (message.custom !== undefined && message.custom !== null) activities.push(...customPayloadActivities(message.custom, now, `${where}.custom`, log));
  });
  return activities;
}
