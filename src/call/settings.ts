/**
 * Per-call conversation settings, named as in the bot API (docs/protocols/bot-api.md).
 * Precedence: activityParams > sessionParams > bot > defaults.
 */
import { z } from 'zod';

const languageTag = z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'a language tag such as en-US');

export const callSettingsSchema = z.object({
  language: languageTag,
  /** Overrides `language` for speech synthesis / for recognition only. */
  ttsLanguage: languageTag.optional(),
  sttLanguage: languageTag.optional(),
  voiceName: z.string().optional(),
  /** Phrases the recognizer should favour (product names, account words); providers that support hints get them. */
  sttContextPhrases: z.array(z.string().min(1).max(200)).max(500),
  /** How strongly to favour them (provider scale, e.g. Google 0-20); omitted uses the provider's default. */
  sttContextBoost: z.number().min(0).max(100).optional(),
  /** Ask the recognizer for unpunctuated text (digits, IDs). */
  sttDisablePunctuation: z.boolean(),
  /** Speech interrupts a playing prompt. Off by default, as in the commercial gateway. */
  bargeIn: z.boolean(),
  /** A key press interrupts a playing prompt. Off by default. */
  bargeInOnDTMF: z.boolean(),
  /** Speech must last this long (VAD) before it counts as barge-in. */
  bargeInMinSpeechMs: z.number().int().min(0).max(5000),
  /** With STT: speech interrupts only once this many words are recognized (so "mm-hm" does not); 0 = the VAD alone decides. */
  bargeInMinWordCount: z.number().int().min(0).max(20),
  /** VAD endpoint: this much silence ends the caller's utterance. */
  vadSilenceMs: z.number().int().min(100).max(10_000),
  /** DTMF digits are sent to the bot at all. */
  sendDTMF: z.boolean(),
  /** Collect digits and send them together instead of one event per digit. */
  dtmfCollect: z.boolean(),
  dtmfCollectMaxDigits: z.number().int().min(1).max(64),
  dtmfCollectInterDigitTimeoutMS: z.number().int().min(100).max(60_000),
  /** A digit that submits what was collected (not itself sent); empty for none. */
  dtmfCollectSubmitDigit: z.string().max(1),
  /** 0 disables the user no-input timer. */
  userNoInputTimeoutMS: z.number().int().min(0).max(600_000),
  userNoInputRetries: z.number().int().min(0).max(100),
  /** Text played as the reprompt on each no-input timeout. */
  userNoInputSpeech: z.string().optional(),
  /** Collect the caller's utterances and send them as one message after a silence or a submit digit. */
  continuousASR: z.boolean(),
  continuousASRDigits: z.string().max(1),
  continuousASRTimeoutInMS: z.number().int().min(200).max(60_000),
  /** Send `noUserInput` events to the bot; the bot then owns the give-up decision. */
  userNoInputSendEvent: z.boolean(),
  /** After the caller's turn went to the bot (or it said expectAnotherBotMessage): wait this long for its answer; 0 = off. */
  botNoInputTimeoutMS: z.number().int().min(0).max(600_000),
  /** "Please wait" prompts before giving up (hang up, reason bot-no-response). */
  botNoInputRetries: z.number().int().min(0).max(100),
  /** Played to the caller on each bot no-response timeout. */
  botNoInputSpeech: z.string().optional(),
  /** Where the bot's sendMetaData activities are POSTed; may hold ${caller}-style placeholders, resolved at call start. */
  sendMetaDataUrl: z.string().optional(),
  /** Said to the caller when the bot fails, before the failure action; empty for silence. */
  failureSpeech: z.string(),
  /** Where to transfer the caller when the bot fails; without it the call is hung up (reason bot-error). */
  failureTransferTarget: z.string().optional(),
  /** Where a bot's transfer goes when it names no target (an administrator's default: the contact centre's queue). */
  defaultTransferTarget: z.string().optional(),
  /**
   * How a transfer is made: `blind` — the carrier or SIP peer moves the caller (SIP REFER, a carrier's
   * redirect) and Voxgate leaves the call; `bridge` — Voxgate calls the target (a new SIP INVITE) and
   * joins the two calls, staying in the media path. Legs that cannot bridge transfer blind.
   */
  transferMode: z.enum(['blind', 'bridge']),
  /** Also send the bot's sendMetaData to the far end as SIP INFO (application/json) on legs that can. */
  sendMetaDataSipInfo: z.boolean(),
  disableTtsCache: z.boolean(),
  /** Deadline for the recognizer's final result after the caller stopped speaking; 0 = none (providers may stay silent on noise). */
  sttTimeoutMS: z.number().int().min(0).max(60_000),
  /** Deadline for a prompt's first synthesized audio; on expiry the fallback voice speaks it, or the call fails over. 0 = none. */
  ttsTimeoutMS: z.number().int().min(0).max(60_000),
  /** Optional gateway events the bot wants (speechHypothesis, voiceDetected, silenceDetected, playFinished, playUrlFailed, conversationEnd, noUserInput...). */
  sendEventsToBot: z.array(z.string().min(1)),
  /** The first activity: `start` (caller, callee, hosts, display name, mapped headers), `none`, or a JSON object sent instead (string values may hold ${...} placeholders). */
  initialActivity: z.union([z.enum(['start', 'none']), z.record(z.unknown())]),
  /** Carrier/SIP headers (e.g. X-PH-AccountId, X-Customer-Id) copied into the start activity's parameters. */
  sipHeadersToBot: z.array(z.string().min(1)),
  /** A text message sent to the bot right after the start activity, for bots that only speak when spoken to. */
  initialMessageToBot: z.string().optional(),
  /** Said by the gateway itself when the conversation starts, for bots that do not greet. */
  welcomeMessage: z.string().optional(),
  /** Answer only once the bot's first message is ready (the caller hears ringing, not silence, while the bot starts). */
  connectOnBotPrompt: z.boolean(),
  /** How long to keep the caller ringing for the bot's first message before answering anyway. */
  connectOnBotPromptTimeoutMS: z.number().int().min(100).max(30_000),
  /** Record the call from the start (bots can also start, stop, pause and resume recording). */
  recordCall: z.boolean(),
});

export type CallSettings = z.infer<typeof callSettingsSchema>;

export const DEFAULT_CALL_SETTINGS: CallSettings = {
  language: 'en-US',
  bargeIn: false,
  bargeInOnDTMF: false,
  bargeInMinSpeechMs: 200,
  bargeInMinWordCount: 0,
  vadSilenceMs: 700,
  sendDTMF: true,
  dtmfCollect: false,
  dtmfCollectMaxDigits: 5,
  dtmfCollectInterDigitTimeoutMS: 2000,
  dtmfCollectSubmitDigit: '#',
  userNoInputTimeoutMS: 0,
  userNoInputRetries: 2,
  userNoInputSendEvent: false,
  continuousASR: false,
  continuousASRDigits: '#',
  continuousASRTimeoutInMS: 3000,
  botNoInputTimeoutMS: 0,
  botNoInputRetries: 1,
  failureSpeech: 'Sorry, something went wrong. Please try again later.',
  transferMode: 'blind',
  sendMetaDataSipInfo: true,
  disableTtsCache: false,
  sttContextPhrases: [],
  sttDisablePunctuation: false,
  sttTimeoutMS: 0,
  ttsTimeoutMS: 5000,
  sendEventsToBot: [],
  initialActivity: 'start',
  sipHeadersToBot: [],
  connectOnBotPrompt: true,
  connectOnBotPromptTimeoutMS: 5000,
  recordCall: false,
};

export type CallSettingsOverrides = Partial<CallSettings>;

export interface SettingsProblem {
  key: string;
  message: string;
}

/**
 * Picks the known settings out of a bot's sessionParams/activityParams. Unknown keys are left for
 * other features; a known key with a bad value is reported and ignored so one bad activity cannot
 * break the call.
 */
export function parseSettingsOverrides(params: Record<string, unknown> | undefined): {
  overrides: CallSettingsOverrides;
  problems: SettingsProblem[];
} {
  const overrides: Record<string, unknown> = {};
  const problems: SettingsProblem[] = [];
  if (!params) return { overrides, problems };
  const shape = callSettingsSchema.shape as Record<string, z.ZodTypeAny>;
  for (const [key, value] of Object.entries(params)) {
    const field = shape[key];
    if (!field) continue;
    const parsed = field.safeParse(value);
    if (parsed.success) overrides[key] = parsed.data;
    else problems.push({ key, message: parsed.error.issues.map((i) => i.message).join('; ') });
  }
  return { overrides: overrides as CallSettingsOverrides, problems };
}

export function mergeSettings(base: CallSettings, ...layers: (CallSettingsOverrides | undefined)[]): CallSettings {
  const out: CallSettings = { ...base };
  for (const layer of layers) {
    if (!layer) continue;
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}
