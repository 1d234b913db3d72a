/**
 * Dial plan verbs as bot-api activities, so the call session runs them like any bot's output:
 * SAY -> message, PLAY -> playUrl, PAUSE -> playUrl of silence, COLLECT -> config (DTMF collection
 * and the no-input timer with the noUserInput event).
 */
import { eventActivity, messageActivity, type Activity } from '../activity.js';
import type { CollectVerb, PauseVerb, PlayVerb, SayVerb } from './dial-plan.js';

/** voiceName per SAY gender; the local eSpeak voice takes `male`/`female` as they are. */
export type GenderVoices = Readonly<Record<'male' | 'female', string>>;

export const DEFAULT_GENDER_VOICES: GenderVoices = { male: 'male', female: 'female' };

/** Longest wait for the next key once one was pressed: the call setting's ceiling (dtmfCollectInterDigitTimeoutMS). */
const MAX_INTER_DIGIT_MS = 60_000;

/** Prompt settings for every dial plan prompt: speech never cuts it (a dial plan only listens for keys). */
function promptParams(interruptible: boolean): Record<string, unknown> {
  return { bargeIn: false, bargeInOnDTMF: interruptible };
}

export function sayActivity(verb: SayVerb, interruptible: boolean, voices: GenderVoices, now: number): Activity {
  const activityParams = promptParams(interruptible);
  if (verb.message.gender) activityParams.voiceName = voices[verb.message.gender];
  return messageActivity(verb.message.text, { language: verb.message.language, activityParams }, now);
}

export function playActivity(verb: PlayVerb, interruptible: boolean, now: number): Activity {
  return eventActivity('playUrl', { activityParams: { ...promptParams(interruptible), playUrlUrl: verb.url } }, now);
}

/**
 * Silence as audio rather than an SSML <break>: several TTS engines drop or cap breaks (OpenAI
 * speaks none, ElevenLabs stops at 3 s), and a 10 s menu pause must last 10 s on every voice.
 */
export function pauseActivity(verb: PauseVerb, interruptible: boolean, now: number): Activity | undefined {
  if (verb.duration <= 0) return undefined;
  return silenceActivity(verb.duration, `[pause ${verb.duration} s]`, interruptible, now);
}

/**
 * A COLLECT with nothing to play before it still needs playout to go idle once, because the call
 * session starts the no-input timer (the COLLECT's timeout) when the caller's turn begins.
 */
export function collectLeadIn(now: number): Activity {
  return silenceActivity(0.1, '[collect]', true, now);
}

function silenceActivity(seconds: number, label: string, interruptible: boolean, now: number): Activity {
  return eventActivity(
    'playUrl',
    { activityParams: { ...promptParams(interruptible), playUrlUrl: silenceDataUrl(seconds), playUrlMediaFormat: SILENCE_MEDIA_FORMAT, playUrlAltText: label } },
    now,
  );
}

/** The session settings for a COLLECT: collect keys in the gateway, tell the bot about silence, let the bot decide. */
export function collectConfig(verb: CollectVerb, now: number): Activity {
  const timeoutMs = Math.round(verb.timeout * 1000);
  return eventActivity(
    'config',
    {
      sessionParams: {
        sendDTMF: true,
        dtmfCollect: true,
        dtmfCollectMaxDigits: verb.maxDigits,
        dtmfCollectSubmitDigit: verb.submitOnHash ? '#' : '',
        dtmfCollectInterDigitTimeoutMS: Math.min(timeoutMs, MAX_INTER_DIGIT_MS),
        userNoInputTimeoutMS: timeoutMs,
        userNoInputSendEvent: true,
        // A configured reprompt text would be spoken on the timeout; the plan says what happens next.
        userNoInputSpeech: '',
      },
    },
    now,
  );
}

/** After the last COLLECT: keys are no longer collected and silence is not timed. */
export function notCollectingConfig(now: number): Activity {
  return eventActivity('config', { sessionParams: { dtmfCollect: false, userNoInputTimeoutMS: 0 } }, now);
}

export function hangupActivity(reason: string, now: number): Activity {
  return eventActivity('hangup', { activityParams: { hangupReason: reason } }, now);
}

/** G.711 µ-law at 8 kHz (the bot-api `raw/mulaw` playUrl format): one byte a sample, 0xFF is zero. */
export const SILENCE_MEDIA_FORMAT = 'raw/mulaw';
const MULAW_SILENCE_BYTE = 0xff;
const MULAW_RATE = 8000;

export function silenceDataUrl(seconds: number): string {
  const bytes = Buffer.alloc(Math.round(seconds * MULAW_RATE), MULAW_SILENCE_BYTE);
  return `data:audio/basic;base64,${bytes.toString('base64')}`;
}
