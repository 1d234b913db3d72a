import { describe, expect, it } from 'vitest';
import { settle } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';

const twoPrompts = [{ text: 'Welcome to the bank.' }, { text: 'Say or press your account number.' }];

describe('barge-in by DTMF', () => {
  it('clears playback and purges queued prompts when enabled', async () => {
    const { leg, bot, clock, prompts } = await startSession({ settings: { bargeInOnDTMF: true }, greeting: twoPrompts });
    expect(leg.count('play')).toBe(2);
    clock.advance(400);
    leg.emit('dtmf', '5');
    await settle();

    expect(leg.count('clear')).toBe(1);
    expect(bot.events('DTMF').map((a) => a.value)).toEqual(['5']);
    const played = prompts();
    expect(played).toHaveLength(1); // the second prompt never started: purged, not "played"
    expect(played[0]).toMatchObject({ text: 'Welcome to the bank.', heardInFull: false });
    expect(played[0].endedAt - played[0].startedAt).toBe(400);

    // A late checkpoint echo for the cleared prompts changes nothing.
    leg.playedAll();
    expect(prompts()).toHaveLength(1);
  });

  it('leaves the prompt playing and does not pass the key to the bot when disabled (the default)', async () => {
    const { leg, bot, clock, prompts } = await startSession({ greeting: twoPrompts });
    clock.advance(400);
    leg.emit('dtmf', '5');
    await settle();

    expect(leg.count('clear')).toBe(0);
    expect(bot.events('DTMF')).toHaveLength(0);
    clock.advance(600);
    leg.playedAll();
    expect(prompts().map((p) => p.heardInFull)).toEqual([true, true]);
  });

  it('passes keys to the bot once the prompts have played, even with barge-in off', async () => {
    const { leg, bot } = await startSession({ greeting: twoPrompts });
    leg.playedAll();
    leg.emit('dtmf', '7');
    await settle();
    expect(bot.events('DTMF').map((a) => a.value)).toEqual(['7']);
  });

  it('lets a per-message activityParams override enable DTMF barge-in for that prompt only', async () => {
    const { leg, bot } = await startSession({ greeting: [{ text: 'Menu.', activityParams: { bargeInOnDTMF: true } }, { text: 'Fine print.' }] });
    leg.playedOne(); // the menu finished; fine print is playing and is not interruptible
    leg.emit('dtmf', '1');
    await settle();
    expect(leg.count('clear')).toBe(0);
    expect(bot.events('DTMF')).toHaveLength(0);
  });
});
