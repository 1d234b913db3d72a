/**
 * Dialogflow CX `queryResult.responseMessages[]` (ResponseMessage, v3) to Voxgate activities
 * (docs/protocols/bot-api.md). Order is kept: a text then `endInteraction` is "say it, then hang up".
 *
 * CX's audio rule applies: when any `outputAudioText` is present, it is what is spoken and the
 * `text` responses are display-only; otherwise the `text` responses are spoken.
 */
import { randomUUID } from 'node:crypto';
import type { Activity } from '../activity.js';
import { DialogflowCxError } from './dialogflow-cx-http.js';

export interface DetectIntentAnswer {
  responseMessages: Record<string, unknown>[];
  /** What CX matched, for logs: INTENT, NO_MATCH, EVENT... */
  matchType?: string;
}

/** Validates the DetectIntentResponse shape Voxgate reads; `what` names the request in errors. */
export function parseDetectIntentAnswer(body: unknown, what: string): DetectIntentAnswer {
  const bad = (problem: string) => new DialogflowCxError('malformed', `${what} answered a malformed DetectIntentResponse: ${problem}`);
  if (!isRecord(body)) throw bad(`expected a JSON object, got ${describe(body)}`);
  const result = body.queryResult;
  if (!isRecord(result)) throw bad(`"queryResult" is ${describe(result)}`);
  const messages = result.responseMessages ?? [];
  if (!Array.isArray(messages)) throw bad(`"queryResult.responseMessages" must be an array, got ${describe(messages)}`);
  messages.forEach((m, i) => {
    if (!isRecord(m)) throw bad(`responseMessages[${i}] must be an object, got ${describe(m)}`);
  });
  const match = isRecord(result.match) && typeof result.match.matchType === 'string' ? result.match.matchType : undefined;
  return { responseMessages: messages as Record<string, unknown>[], matchType: match };
}

export interface MappingContext {
  now: number;
  /** Transfer target for `liveAgentHandoff` whose metadata has no `transferTarget`. */
  defaultTransferTarget?: string;
}

export interface MappedMessages {
  activities: Activity[];
  /** Messages that were skipped, for a warning log (unknown payloads, bad activities...). */
  skipped: string[];
  /** Set when CX asked for something the call cannot do (a handoff with nowhere to go). */
  error?: DialogflowCxError;
}

export function activitiesFromResponseMessages(messages: Record<string, unknown>[], ctx: MappingContext): MappedMessages {
  const out: MappedMessages = { activities: [], skipped: [] };
  const spokenFromAudioText = messages.some((m) => isRecord(m.outputAudioText));
  const make = (type: Activity['type'], fields: Partial<Activity>): Activity => ({ id: randomUUID(), timestamp: new Date(ctx.now).toISOString(), type, ...fields });
  const bargeIn = (m: Record<string, unknown>) => (m.allowPlaybackInterruption === true ? { activityParams: { bargeIn: true } } : {});

  messages.forEach((m, i) => {
    if (isRecord(m.text)) {
      if (spokenFromAudioText) return; // display text: the outputAudioText messages are what is heard
      const variants = Array.isArray(m.text.text) ? m.text.text.filter((t): t is string => typeof t === 'string' && t.trim() !== '') : [];
      for (const text of variants) out.activities.push(make('message', { text, ...bargeIn(m.text) }));
    } else if (isRecord(m.outputAudioText)) {
      const spoken = m.outputAudioText;
      if (typeof spoken.ssml === 'string' && spoken.ssml.trim()) out.activities.push(make('message', { text: asSpeak(spoken.ssml), ...bargeIn(spoken) }));
      else if (typeof spoken.text === 'string' && spoken.text.trim()) out.activities.push(make('message', { text: spoken.text, ...bargeIn(spoken) }));
    } else if (isRecord(m.payload)) {
      const mapped = activitiesFromPayload(m.payload, make);
      if (typeof mapped === 'string') out.skipped.push(`responseMessages[${i}].payload: ${mapped}`);
      else out.activities.push(...mapped);
    } else if (isRecord(m.liveAgentHandoff)) {
      const metadata = isRecord(m.liveAgentHandoff.metadata) ? m.liveAgentHandoff.metadata : {};
      const target = typeof metadata.transferTarget === 'string' && metadata.transferTarget ? metadata.transferTarget : ctx.defaultTransferTarget;
      if (!target) {
        out.error ??= new DialogflowCxError('config', 'Dialogflow CX asked for a live agent handoff, but its metadata has no "transferTarget" and the bot has no defaultTransferTarget');
        return;
      }
      const activityParams: Record<string, unknown> = { transferTarget: target, handoverReason: typeof metadata.handoverReason === 'string' ? metadata.handoverReason : 'liveAgentHandoff' };
      if (Array.isArray(metadata.transferSipHeaders)) activityParams.transferSipHeaders = metadata.transferSipHeaders;
      out.activities.push(make('event', { name: 'transfer', value: metadata, activityParams }));
    } else if (isRecord(m.telephonyTransferCall)) {
      const target = transferTargetOf(m.telephonyTransferCall);
      if (!target) out.skipped.push(`responseMessages[${i}].telephonyTransferCall has neither phoneNumber nor sipUri`);
      else out.activities.push(make('event', { name: 'transfer', activityParams: { transferTarget: target, handoverReason: 'telephonyTransferCall' } }));
    } else if (isRecord(m.endInteraction)) {
      out.activities.push(make('event', { name: 'hangup', activityParams: { hangupReason: 'dialogflow-cx-end-interaction' } }));
    } else if (isRecord(m.playAudio)) {
      const uri = m.playAudio.audioUri;
      if (typeof uri === 'string' && uri) out.activities.push(make('event', { name: 'playUrl', activityParams: { playUrlUrl: uri, ...bargeIn(m.playAudio).activityParams } }));
      else out.skipped.push(`responseMessages[${i}].playAudio has no audioUri`);
    } else if (isRecord(m.mixedAudio)) {
      // Only segments hosted at a URI can be played: raw `audio` needs an outputAudioConfig Voxgate does not request.
      const segments = Array.isArray(m.mixedAudio.segments) ? m.mixedAudio.segments : [];
      for (const s of segments) {
        if (isRecord(s) && typeof s.uri === 'string' && s.uri) out.activities.push(make('event', { name: 'playUrl', activityParams: { playUrlUrl: s.uri } }));
      }
    }
    // conversationSuccess, knowledgeInfoCard, toolCall...: nothing for a phone call to do.
  });
  return out;
}

/** E.164 numbers become tel: URIs; a SIP URI (Dialogflow ES v2beta1 shape) is kept. */
function transferTargetOf(t: Record<string, unknown>): string | undefined {
  if (typeof t.phoneNumber === 'string' && t.phoneNumber.trim()) {
    const number = t.phoneNumber.trim();
    return /^(tel|sip|sips):/i.test(number) ? number : `tel:${number}`;
  }
  if (typeof t.sipUri === 'string' && t.sipUri.trim()) {
    const uri = t.sipUri.trim();
    return /^sips?:/i.test(uri) ? uri : `sip:${uri}`;
  }
  return undefined;
}

/** Google TTS and the session recognize SSML by its `<speak>` root; CX agents often omit it. */
function asSpeak(ssml: string): string {
  return /^\s*<speak[\s>]/.test(ssml) ? ssml : `<speak>${ssml}</speak>`;
}

type MakeActivity = (type: Activity['type'], fields: Partial<Activity>) => Activity;

/**
 * Custom payloads in the AudioCodes VoiceAI Connect convention: `{activities:[...]}`, a single
 * activity (`{type:"event", name:"hangup", activityParams}`), or bare `{sessionParams}` (a config
 * event). Returns why a payload was skipped when it is none of these.
 */
function activitiesFromPayload(payload: Record<string, unknown>, make: MakeActivity): Activity[] | string {
  if (Array.isArray(payload.activities)) {
    const out: Activity[] = [];
    for (const [i, a] of payload.activities.entries()) {
      const one = activityFromPayload(a, make);
      if (typeof one === 'string') return `activities[${i}]: ${one}`;
      out.push(one);
    }
    return out;
  }
  if (typeof payload.type === 'string') {
    const one = activityFromPayload(payload, make);
    return typeof one === 'string' ? one : [one];
  }
  if (isRecord(payload.sessionParams)) return [make('event', { name: 'config', sessionParams: payload.sessionParams })];
  return `not a Voxgate payload (expected "activities", an activity with "type", or "sessionParams"; keys: ${Object.keys(payload).slice(0, 5).join(', ') || 'none'})`;
}

function activityFromPayload(a: unknown, make: MakeActivity): Activity | string {
  if (!isRecord(a)) return `expected an object, got ${describe(a)}`;
  const settings: Partial<Activity> = {};
  if (isRecord(a.activityParams)) settings.activityParams = a.activityParams;
  if (isRecord(a.sessionParams)) settings.sessionParams = a.sessionParams;
  if (typeof a.language === 'string') settings.language = a.language;
  if (a.type === 'message') {
    if (typeof a.text !== 'string') return `message without a string "text"`;
    return make('message', { text: a.text, ...settings });
  }
  if (a.type === 'event') {
    if (typeof a.name !== 'string' || !a.name) return `event without a "name"`;
    return make('event', { name: a.name, ...(a.value !== undefined && { value: a.value }), ...settings });
  }
  return `"type" is ${describe(a.type)}, expected "message" or "event"`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : typeof v;
}
