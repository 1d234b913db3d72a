import { describe, expect, it } from 'vitest';
import { settle } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';

describe('user no-input timeout', () => {
  const settings = { userNoInputTimeoutMS: 5000, userNoInputRetries: 2, userNoInputSpeech: 'Are you still there?' };

  it('starts counting only once the bot has finished speaking', async () => {
    const { leg, clock, audio } = await startSession({ settings, greeting: [{ text: 'Hello.' }] });
    clock.advance(20_000); // prompt still playing: no timer yet
    expect(audio.spoken.map((r) => r.text)).toEqual(['Hello.']);
    leg.playedAll();
    clock.advance(4999);
    await settle();
    expect(audio.spoken).toHaveLength(1);
    clock.advance(1);
    await settle();
    expect(audio.spoken.map((r) => r.text)).toEqual(['Hello.', 'Are you still there?']);
  });

  it('reprompts N times, then gives up and hangs up with reason no-input', async () => {
    const { leg, clock, audio, session } = await startSession({ settings, greeting: [{ text: 'Hello.' }] });
    for (let attempt = 1; attempt <= 2; attempt++) {
      leg.playedAll();
      clock.advance(5000);
      await settle();
      expect(audio.spoken.filter((r) => r.text === 'Are you still there?')).toHaveLength(attempt);
    }
    leg.playedAll();
    clock.advance(5000);
    await settle();
    expect(audio.spoken).toHaveLength(3);
    expect(leg.commands.at(-1)).toEqual({ kind: 'hangup', reason: 'no-input' });
    expect(session.endedWith).toMatchObject({ reason: 'no-input', byGateway: true });
  });

  it('forgets earlier timeouts when the caller presses a key', async () => {
    const { leg, clock, session } = await startSession({ settings, greeting: [{ text: 'Hello.' }] });
    leg.playedAll();
    clock.advance(5000);
    await settle();
    leg.playedAll();
    leg.emit('dtmf', '3');
    await settle();
    // The bot answered nothing; after the key the count restarts, so two more reprompts are allowed.
    clock.advance(5000);
    await settle();
    expect(session.endedWith).toBeUndefined();
  });

  it('sends noUserInput events and leaves give-up to the bot when it asked for events', async () => {
    const { leg, clock, bot, session } = await startSession({
      settings: { userNoInputTimeoutMS: 3000, userNoInputRetries: 1, userNoInputSendEvent: true },
      greeting: [{ text: 'Hello.' }],
    });
    leg.playedAll();
    for (let i = 0; i < 3; i++) {
      clock.advance(3000);
      await settle();
      leg.playedAll();
    }
    // Without reprompt speech nothing plays, so the bot's silence leaves the timer to the bot's next prompt.
    expect(bot.events('noUserInput').map((a) => a.value)).toEqual([1]);
    bot.say({ text: 'Please press a key.' });
    await settle();
    leg.playedAll();
    clock.advance(3000);
    await settle();
    expect(bot.events('noUserInput').map((a) => a.value)).toEqual([1, 2]);
    expect(session.endedWith).toBeUndefined();
  });

  it('is disabled by default', async () => {
    const { leg, clock, session, audio } = await startSession({ greeting: [{ text: 'Hello.' }] });
    leg.playedAll();
    clock.advance(600_000);
    await settle();
    expect(audio.spoken).toHaveLength(1);
    expect(session.endedWith).toBeUndefined();
  });
});
