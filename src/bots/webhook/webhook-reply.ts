/**
 * The brain's replies (seed 000, `DCS_RESPONSE_URL` messages) and their mapping to bot activities:
 * `{type:"text", call_id, text, audio_url?}`, `{type:"hangup", call_id, reason?}`,
 * `{type:"transfer", call_id, target}`.
 */
import { eventActivity, messageActivity, type Activity } from '../activity.js';

/** A reply the brain sent that does not follow the protocol; `field` names the offending field. */
export class WebhookReplyError extends Error {
  override name = 'WebhookReplyError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export type WebhookReply =
  | { type: 'text'; call_id: string; text: string; audio_url?: string }
  | { type: 'hangup'; call_id: string; reason?: string }
  | { type: 'transfer'; call_id: string; target: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonEmptyString(body: Record<string, unknown>, field: string, what: string): string {
  const v = body[field];
  if (typeof v !== 'string' || !v.trim()) throw new WebhookReplyError(field, `reply field "${field}" must be a non-empty string (${what}); got ${describe(v)}`);
  return v;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v) : typeof v;
}

/**
 * Validates one reply. `callId` fills a missing `call_id` (replies in the answer to a request may
 * omit it) and, when the reply carries one, must match it.
 */
export function parseWebhookReply(body: unknown, callId?: string): WebhookReply {
  if (!isRecord(body)) throw new WebhookReplyError('body', `a reply must be a JSON object; got ${describe(body)}`);
  let replyCallId: string;
  if (body.call_id === undefined && callId !== undefined) replyCallId = callId;
  else {
    replyCallId = nonEmptyString(body, 'call_id', 'the call the reply is for');
    if (callId !== undefined && replyCallId !== callId) throw new WebhookReplyError('call_id', `reply field "call_id" is "${replyCallId}" but the request was for call "${callId}"`);
  }
  switch (body.type) {
    case 'text': {
      const text = nonEmptyString(body, 'text', 'what the bot says');
      if (body.audio_url === undefined || body.audio_url === null) return { type: 'text', call_id: replyCallId, text };
      const audioUrl = nonEmptyString(body, 'audio_url', 'an http(s) or data: URL of the audio to play');
      if (!/^(https?:\/\/|data:)/i.test(audioUrl) || (!audioUrl.startsWith('data:') && !URL.canParse(audioUrl))) {
        throw new WebhookReplyError('audio_url', `reply field "audio_url" must be an absolute http(s) or data: URL; got ${describe(audioUrl)}`);
      }
      return { type: 'text', call_id: replyCallId, text, audio_url: audioUrl };
    }
    case 'hangup': {
      if (body.reason !== undefined && typeof body.reason !== 'string') throw new WebhookReplyError('reason', `reply field "reason" must be a string when present; got ${describe(body.reason)}`);
      return body.reason === undefined ? { type: 'hangup', call_id: replyCallId } : { type: 'hangup', call_id: replyCallId, reason: body.reason };
    }
    case 'transfer':
      return { type: 'transfer', call_id: replyCallId, target: nonEmptyString(body, 'target', 'a tel: or sip: URI to transfer the call to') };
    default:
      throw new WebhookReplyError('type', `reply field "type" must be "text", "hangup" or "transfer"; got ${describe(body.type)}`);
  }
}

/** The activity the call session plays or acts on for a reply. */
export function replyActivity(reply: WebhookReply, now = Date.now()): Activity {
  switch (reply.type) {
    case 'text':
      // The brain already rendered the audio: play it rather than synthesizing the text again.
      return reply.audio_url
        ? eventActivity('playUrl', { activityParams: { playUrlUrl: reply.audio_url, playUrlAltText: reply.text } }, now)
        : messageActivity(reply.text, {}, now);
    case 'hangup':
      return eventActivity('hangup', { activityParams: reply.reason ? { hangupReason: reply.reason } : {} }, now);
    case 'transfer':
      return eventActivity('transfer', { activityParams: { transferTarget: reply.target } }, now);
  }
}

/**
 * The answer to a request: `{}` / empty, or `{ replies: [...] }`. Throws WebhookReplyError naming
 * the field (`replies[1].text`).
 */
export function parseSyncAnswer(body: unknown, callId: string): WebhookReply[] {
  if (body === undefined || body === null) return [];
  if (!isRecord(body)) throw new WebhookReplyError('body', `the brain's answer must be a JSON object; got ${describe(body)}`);
  if (body.replies === undefined) return [];
  if (!Array.isArray(body.replies)) throw new WebhookReplyError('replies', `answer field "replies" must be an array; got ${describe(body.replies)}`);
  return body.replies.map((r, i) => {
    try {
      return parseWebhookReply(r, callId);
    } catch (err) {
      if (err instanceof WebhookReplyError) throw new WebhookReplyError(`replies[${i}].${err.field}`, `replies[${i}]: ${err.message}`);
      throw err;
    }
  });
}
