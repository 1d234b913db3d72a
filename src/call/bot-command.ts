/**
 * What a bot activity asks the call to do, decoded and checked once (bot-api vocabulary), so the
 * session only executes commands. Malformed activities throw an error naming the missing field.
 */
import type { Activity } from '../bots/activity.js';

export type BotCommand =
  | { kind: 'speak'; activityId: string; text: string; ssml: boolean; language?: string }
  | { kind: 'play'; activityId: string; url: string; mediaFormat?: string; label: string }
  | { kind: 'hangup'; reason: string }
  /** `target` absent: the bot named none (the call's defaultTransferTarget applies); `reason` goes to the call record. */
  | { kind: 'transfer'; target?: string; headers: Record<string, string>; reason?: string; referredBy?: string }
  | { kind: 'sendDtmf'; digits: string }
  | { kind: 'abortPrompts' }
  | { kind: 'sendMetaData'; metadata: unknown }
  | { kind: 'expectAnotherBotMessage' }
  | { kind: 'record'; action: 'start' | 'stop' | 'pause' | 'resume' }
  /** Nothing to do beyond the settings every activity may carry (config, empty messages, unknown events). */
  | { kind: 'none'; unknownEvent?: string };

export class BotActivityError extends Error {}

const SSML = /^\s*<speak[\s>]/;
const MAX_DTMF_DIGITS = 20;

export function decodeBotActivity(a: Activity): BotCommand {
  if (a.type === 'message') {
    if (typeof a.text !== 'string' || !a.text.trim()) return { kind: 'none' };
    return { kind: 'speak', activityId: a.id, text: a.text, ssml: SSML.test(a.text), language: a.language };
  }
  const params = a.activityParams ?? {};
  switch (a.name) {
    case 'playUrl': {
      const url = params.playUrlUrl;
      if (typeof url !== 'string' || !url) throw new BotActivityError('playUrl activity without activityParams.playUrlUrl');
      const label = typeof params.playUrlAltText === 'string' ? params.playUrlAltText : `[audio ${url.startsWith('data:') ? 'data URL' : url}]`;
      return { kind: 'play', activityId: a.id, url, mediaFormat: typeof params.playUrlMediaFormat === 'string' ? params.playUrlMediaFormat : undefined, label };
    }
    case 'hangup':
      return { kind: 'hangup', reason: typeof params.hangupReason === 'string' ? params.hangupReason : 'bot-hangup' };
    case 'transfer':
    case 'handover': {
      const target = params.transferTarget;
      if (target !== undefined && (typeof target !== 'string' || !target)) throw new BotActivityError(`${a.name} activity with an empty or non-string activityParams.transferTarget`);
      const headers: Record<string, string> = {};
      if (Array.isArray(params.transferSipHeaders)) {
        for (const h of params.transferSipHeaders as { name?: unknown; value?: unknown }[]) if (typeof h?.name === 'string') headers[h.name] = String(h.value ?? '');
      }
      const reason = params.handoverReason ?? params.transferReason;
      const referredBy = params.transferReferredByURL;
      return {
        kind: 'transfer',
        ...(typeof target === 'string' ? { target } : {}),
        headers,
        ...(typeof reason === 'string' && reason ? { reason } : {}),
        ...(typeof referredBy === 'string' && referredBy ? { referredBy } : {}),
      };
    }
    case 'sendDtmf': {
      // Invalid characters are ignored, as the protocol says; nothing left means nothing to send.
      const digits = String(params.dtmfDigits ?? '').replace(/[^0-9*#]/g, '').slice(0, MAX_DTMF_DIGITS);
      return digits ? { kind: 'sendDtmf', digits } : { kind: 'none' };
    }
    case 'abortPrompts':
      return { kind: 'abortPrompts' };
    case 'sendMetaData':
      return { kind: 'sendMetaData', metadata: a.value ?? a.activityParams ?? {} };
    case 'expectAnotherBotMessage':
      return { kind: 'expectAnotherBotMessage' };
    case 'startCallRecording':
      return { kind: 'record', action: 'start' };
    case 'stopCallRecording':
      return { kind: 'record', action: 'stop' };
    case 'pauseCallRecording':
      return { kind: 'record', action: 'pause' };
    case 'resumeCallRecording':
      return { kind: 'record', action: 'resume' };
    case 'config':
      return { kind: 'none' };
    default:
      return { kind: 'none', unknownEvent: a.name ?? '(no name)' };
  }
}
