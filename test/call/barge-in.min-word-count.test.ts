import { beforeAll, describe, expect, it } from 'vitest';
import { frames, synthesizeSpeech } from '../support/media-signals.js';
import { ScriptedStt, settle } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';

const prompt = { text: 'Let me read you the full list of our branch offices and their opening hours.' };
let speech: Int16Array;
beforeAll(async () => {
  speech = await synthesizeSpeech('Mm hm, okay.', 8000);
});

async function callerTalksOverPrompt(minWords: number) {
  const stt = new ScriptedStt();
  const ctx = await startSession({ settings: { bargeIn: true, bargeInMinWordCount: minWords }, greeting: [prompt], durationsMs: { [prompt.text]: 10_000 }, stt });
  for (const f of frames(speech, 8000)) {
    ctx.clock.advance(20);
    ctx.leg.emit('audio', f);
  }
  await settle();
  return { ...ctx, stt: stt.session! };
}

describe('barge-in by speech with a minimum word count', () => {
  it('lets a backchannel ("mm-hm") pass without cutting the prompt or reaching the bot', async () => {
    const { leg, bot, stt } = await callerTalksOverPrompt(3);
    expect(leg.count('clear')).toBe(0); // the VAD heard speech, but no words were counted yet
    stt.hear('mm');
    stt.hear('mm hm', true);
    await settle();
    expect(leg.count('clear')).toBe(0);
    expect(bot.received.filter((a) => a.type === 'message')).toEqual([]);
  });

  it('interrupts as soon as the recognizer has heard enough words, on an interim result', async () => {
    const { leg, bot, stt } = await callerTalksOverPrompt(3);
    stt.hear('wait I need');
    await settle();
    expect(leg.count('clear')).toBe(1);
    stt.hear('wait I need the Boston office', true);
    await settle();
    expect(bot.received.filter((a) => a.type === 'message').map((a) => a.text)).toEqual(['wait I need the Boston office']);
  });

  it('is decided by the VAD alone when the minimum is 0 (the default)', async () => {
    const { leg } = await callerTalksOverPrompt(0);
    expect(leg.count('clear')).toBe(1);
  });
});
