import { beforeAll, describe, expect, it } from 'vitest';
import type { PromptAudioSource } from '../../src/call/prompt-audio.js';
import type { TtsRequest } from '../../src/speech/tts/provider.js';
import { ScriptedStt, ToneAudioSource, settle } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';
import { concat, frames, silence, synthesizeSpeech } from '../support/media-signals.js';

const RATE = 8000;
const ALL_EVENTS = ['voiceDetected', 'silenceDetected', 'speechHypothesis', 'playFinished', 'conversationEnd', 'noUserInput', 'playUrlFailed'];
const MISSING_URL = 'https://media.example.com/missing.wav';

/** Tone prompts; audio URLs containing "missing" answer 404. */
class AudioWithMissingFile implements PromptAudioSource {
  readonly tones = new ToneAudioSource();
  speak(req: TtsRequest): AsyncIterable<Int16Array> {
    return this.tones.speak(req);
  }
  playUrl(url: string, opts: { sampleRate: number }): AsyncIterable<Int16Array> {
    return url.includes('missing') ? notFound() : this.tones.playUrl(url, opts);
  }
}

async function* notFound(): AsyncIterable<Int16Array> {
  yield* [];
  throw new Error('playUrl: 404 Not Found');
}

let speechMs: number;
let utterance: Int16Array;
beforeAll(async () => {
  const speech = await synthesizeSpeech('I would like to check my balance.', RATE);
  speechMs = (speech.length * 1000) / RATE;
  utterance = concat(speech, silence(2000, RATE));
});

/**
 * One call that goes through every optional event's moment: the greeting plays out, the caller stays
 * silent past the no-input timeout, speaks (interim then final result), the bot plays a missing file,
 * and the caller hangs up. Returns when (ms into the utterance) voiceDetected and silenceDetected went out.
 */
async function walkThroughCall(sendEventsToBot: string[] | undefined) {
  const stt = new ScriptedStt();
  const audio = new AudioWithMissingFile();
  const ctx = await startSession({
    stt,
    audio,
    settings: { userNoInputTimeoutMS: 5000, ...(sendEventsToBot ? { sendEventsToBot } : {}) },
    greeting: [{ id: 'greeting-1', text: 'Hello, how can I help?' }],
  });
  const { bot, leg, clock } = ctx;
  const sent = (name: string) => bot.events(name).length;
  const moments: Record<string, unknown> = {};

  leg.playedAll();
  await settle();
  moments.playFinishedAfterPlayout = bot.events('playFinished').map((e) => e.value);

  clock.advance(4999);
  await settle();
  moments.noUserInputEarly = sent('noUserInput');
  clock.advance(1);
  await settle();
  moments.noUserInputAtTimeout = bot.events('noUserInput').map((e) => e.value);

  let ms = 0;
  for (const frame of frames(utterance, RATE)) {
    clock.advance(20);
    leg.emit('audio', frame);
    ms += 20;
    if (moments.voiceDetectedAtMs === undefined && sent('voiceDetected') > 0) {
      moments.voiceDetectedAtMs = ms;
      moments.silenceDetectedWithVoice = sent('silenceDetected');
    }
    if (moments.silenceDetectedAtMs === undefined && sent('silenceDetected') > 0) moments.silenceDetectedAtMs = ms;
  }
  await settle();

  stt.session!.hear('I would like', false);
  await settle();
  moments.speechHypothesis = bot.events('speechHypothesis').map((e) => e.value);
  stt.session!.hear('I would like to check my balance.', true);
  await settle();

  bot.say({ id: 'play-7', type: 'event', name: 'playUrl', activityParams: { playUrlUrl: MISSING_URL } });
  await settle();
  moments.playUrlFailed = bot.events('playUrlFailed').map((e) => e.value);

  moments.conversationEndBeforeHangup = sent('conversationEnd');
  leg.emit('hangup', { side: 'caller', cause: 'Normal Hangup' });
  await settle();
  moments.conversationEnd = bot.events('conversationEnd').map((e) => e.value);
  return { ctx, moments, spoken: audio.tones.spoken.map((r) => r.text) };
}

describe('sendEventsToBot', () => {
  it('sends each listed event at its moment in the call', async () => {
    const { ctx, moments, spoken } = await walkThroughCall(ALL_EVENTS);
    expect(moments.playFinishedAfterPlayout).toEqual([{ activityId: 'greeting-1' }]);
    expect(moments.noUserInputEarly).toBe(0);
    expect(moments.noUserInputAtTimeout).toEqual([1]);
    // voiceDetected as the caller starts (within the VAD's minimum speech time), silenceDetected only after they stop.
    expect(moments.voiceDetectedAtMs).toBeLessThan(600);
    expect(moments.silenceDetectedWithVoice).toBe(0);
    expect(moments.silenceDetectedAtMs).toBeGreaterThan(speechMs);
    expect(moments.silenceDetectedAtMs).toBeLessThan(speechMs + 1500);
    expect(moments.speechHypothesis).toEqual(['I would like']);
    expect(moments.playUrlFailed).toEqual([{ url: MISSING_URL, activityId: 'play-7', reason: 'playUrl: 404 Not Found' }]);
    expect(moments.conversationEndBeforeHangup).toBe(0);
    expect(moments.conversationEnd).toEqual([{ reason: 'caller-hangup', detail: 'Normal Hangup' }]);
    // The caller's words still went to the bot as a message, and an interim result was not mistaken for one.
    expect(ctx.bot.received.filter((a) => a.type === 'message').map((a) => a.text)).toEqual(['I would like to check my balance.']);
    // The events are for the bot only: the caller heard nothing but the greeting.
    expect(spoken).toEqual(['Hello, how can I help?']);
  });

  it('sends none of them by default (empty list)', async () => {
    const { ctx } = await walkThroughCall(undefined);
    const names = ctx.bot.received.filter((a) => a.type === 'event').map((a) => a.name);
    for (const name of ALL_EVENTS) expect(names).not.toContain(name);
    // The call itself went the same way: the caller's words still reached the bot.
    expect(ctx.bot.received.filter((a) => a.type === 'message').map((a) => a.text)).toEqual(['I would like to check my balance.']);
    expect(ctx.session.endedWith).toMatchObject({ reason: 'caller-hangup' });
  });

  it('sends only the events listed', async () => {
    const { ctx } = await walkThroughCall(['silenceDetected', 'conversationEnd']);
    const names = new Set(ctx.bot.received.filter((a) => a.type === 'event').map((a) => a.name));
    expect([...names].sort()).toEqual(['conversationEnd', 'silenceDetected']);
  });
});
