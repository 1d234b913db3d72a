import { describe, expect, it } from 'vitest';
import { settle } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';

describe('bot hangup', () => {
  it('waits until the caller has heard the goodbye, then hangs up the leg', async () => {
    const { leg, bot, session } = await startSession({
      greeting: [{ text: 'Goodbye.' }, { type: 'event', name: 'hangup', activityParams: { hangupReason: 'completed' } }],
    });
    expect(leg.count('hangup')).toBe(0);
    leg.playedAll();
    await settle();
    expect(leg.commands.at(-1)).toEqual({ kind: 'hangup', reason: 'completed' });
    expect(session.endedWith).toMatchObject({ reason: 'bot-hangup', byGateway: true });
    expect(bot.endedWith).toBe('bot-disconnected');
  });

  it('transfers after playout and ends the conversation as transferred', async () => {
    const { leg, bot, session } = await startSession({
      greeting: [{ text: 'Connecting you.' }, { type: 'event', name: 'transfer', activityParams: { transferTarget: 'tel:+15550100' } }],
    });
    leg.playedAll();
    await settle();
    expect(leg.commands.at(-1)).toEqual({ kind: 'transfer', target: 'tel:+15550100' });
    expect(session.endedWith?.reason).toBe('transferred');
    expect(bot.endedWith).toBe('transferred');
  });

  it('ends as caller-hangup when the caller hangs up mid-prompt, recording the prompt as cut', async () => {
    const { leg, bot, session, prompts } = await startSession({ greeting: [{ text: 'A long story.' }] });
    leg.emit('hangup', { cause: 'Normal Hangup', side: 'caller' });
    await settle();
    expect(session.endedWith?.reason).toBe('caller-hangup');
    expect(bot.endedWith).toBe('client-disconnected');
    expect(prompts().map((p) => p.heardInFull)).toEqual([false]);
  });
});
