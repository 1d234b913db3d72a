import { describe, expect, it } from 'vitest';
import { settle } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';

const APOLOGY = 'Sorry, something went wrong. Please try again later.';

describe('when the bot fails', () => {
  it('apologizes, and hangs up (reason bot-error) once the caller has heard it', async () => {
    const { bot, leg, audio, session } = await startSession({ greeting: [{ text: 'Hello.' }] });
    bot.emit('failure', new Error('bot answered 503'));
    await settle();
    expect(audio.spoken.map((r) => r.text)).toEqual(['Hello.', APOLOGY]);
    expect(leg.count('hangup')).toBe(0);
    leg.playedAll();
    await settle();
    expect(leg.commands.at(-1)).toEqual({ kind: 'hangup', reason: 'bot-error' });
    expect(session.endedWith?.reason).toBe('bot-error');
  });

  it('transfers the caller to a person instead when a failure transfer target is set', async () => {
    const { bot, leg, session } = await startSession({ settings: { failureSpeech: 'Let me get you a person.', failureTransferTarget: 'tel:+15550100' } });
    bot.emit('failure', new Error('bot unreachable'));
    await settle();
    leg.playedAll();
    await settle();
    expect(leg.commands.at(-1)).toEqual({ kind: 'transfer', target: 'tel:+15550100' });
    expect(session.endedWith?.reason).toBe('transferred');
  });

  it('reacts once to repeated failures, and says nothing when failureSpeech is empty', async () => {
    const { bot, leg, audio } = await startSession({ settings: { failureSpeech: '' } });
    bot.emit('failure', new Error('first'));
    bot.emit('failure', new Error('second'));
    await settle();
    expect(audio.spoken).toEqual([]);
    expect(leg.commands.filter((c) => c.kind === 'hangup')).toEqual([{ kind: 'hangup', reason: 'bot-error' }]);
  });
});
