import { describe, expect, it } from 'vitest';
import { settle } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';

const settings = { botNoInputTimeoutMS: 3000, botNoInputRetries: 2, botNoInputSpeech: 'One moment please.' };

describe('bot no-response timer', () => {
  it('plays the please-wait prompt while the bot is slow, then hangs up with bot-no-response', async () => {
    const { leg, clock, audio, session } = await startSession({ settings, greeting: [{ text: 'Enter your account number.' }] });
    leg.playedAll();
    leg.emit('dtmf', '4'); // the caller's turn goes to the bot, which never answers
    await settle();
    for (let attempt = 1; attempt <= 2; attempt++) {
      clock.advance(3000);
      await settle();
      expect(audio.spoken.filter((r) => r.text === 'One moment please.')).toHaveLength(attempt);
      leg.playedAll();
    }
    clock.advance(3000);
    await settle();
    expect(session.endedWith).toMatchObject({ reason: 'bot-no-response', byGateway: true });
    expect(leg.commands.at(-1)).toEqual({ kind: 'hangup', reason: 'bot-no-response' });
  });

  it('stops waiting as soon as the bot answers', async () => {
    const { leg, clock, audio, bot, session } = await startSession({ settings, greeting: [{ text: 'Enter your account number.' }] });
    leg.playedAll();
    leg.emit('dtmf', '4');
    await settle();
    clock.advance(2000);
    bot.say({ text: 'Thanks, one second.' });
    await settle();
    clock.advance(10_000);
    await settle();
    expect(audio.spoken.map((r) => r.text)).toEqual(['Enter your account number.', 'Thanks, one second.']);
    expect(session.endedWith).toBeUndefined();
  });

  it('waits for the promised message after expectAnotherBotMessage', async () => {
    const { clock, audio, bot, leg } = await startSession({ settings });
    bot.say({ text: 'Let me check.' }, { type: 'event', name: 'expectAnotherBotMessage' });
    await settle();
    leg.playedAll();
    clock.advance(3000);
    await settle();
    expect(audio.spoken.map((r) => r.text)).toEqual(['Let me check.', 'One moment please.']);
  });
});
