import { describe, expect, it } from 'vitest';
import { ScriptedStt, settle } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';

async function session(settings: Record<string, unknown>) {
  const stt = new ScriptedStt();
  const ctx = await startSession({ settings: { continuousASR: true, continuousASRTimeoutInMS: 3000, ...settings }, stt });
  return { ...ctx, stt: stt.session! };
}
const messages = (bot: Awaited<ReturnType<typeof session>>['bot']) => bot.received.filter((a) => a.type === 'message');

describe('continuous ASR', () => {
  it('sends the caller’s utterances as one message once they have been silent for the timeout', async () => {
    const { bot, stt, clock } = await session({});
    stt.hear('I would like to book a table', true);
    clock.advance(2000);
    stt.hear('for two people tonight', true);
    clock.advance(2999);
    await settle();
    expect(messages(bot)).toEqual([]);
    clock.advance(1);
    await settle();
    expect(messages(bot).map((m) => [m.text, m.parameters?.recognitions])).toEqual([
      ['I would like to book a table for two people tonight', ['I would like to book a table', 'for two people tonight']],
    ]);
  });

  it('submits at once on the submit digit, which is not passed on as DTMF', async () => {
    const { bot, stt, leg } = await session({ continuousASRDigits: '#' });
    stt.hear('my account number is 4 4 7', true);
    leg.emit('dtmf', '#');
    await settle();
    expect(messages(bot).map((m) => m.text)).toEqual(['my account number is 4 4 7']);
    expect(bot.events('DTMF')).toEqual([]);
  });

  it('sends each utterance on its own when off (the default)', async () => {
    const { bot, stt } = await session({ continuousASR: false });
    stt.hear('hello', true);
    stt.hear('anyone there', true);
    await settle();
    expect(messages(bot).map((m) => m.text)).toEqual(['hello', 'anyone there']);
  });
});
