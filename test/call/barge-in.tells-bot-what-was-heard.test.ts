import { describe, expect, it } from 'vitest';
import { settle } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';

const answer = { id: 'answer-1', text: 'Our plans start at ten dollars. The premium plan adds support.' };

describe('barge-in tells the bot how much of its message the caller heard', () => {
  it('sends promptInterrupted with the activity id and the fraction played before the cut', async () => {
    const { leg, bot, clock } = await startSession({ settings: { bargeInOnDTMF: true }, greeting: [answer], durationsMs: { [answer.text]: 2000 }, botWantsPromptInterruptions: true });
    clock.advance(500);
    leg.emit('dtmf', '0');
    await settle();
    const [cut] = bot.events('promptInterrupted');
    expect(cut.value).toEqual({ activityId: 'answer-1', heardFraction: 0.25 });
  });

  it('sends nothing to bots that did not ask for it (a Bot API server would not expect the event)', async () => {
    const { leg, bot, clock } = await startSession({ settings: { bargeInOnDTMF: true }, greeting: [answer], durationsMs: { [answer.text]: 2000 } });
    clock.advance(500);
    leg.emit('dtmf', '0');
    await settle();
    expect(bot.events('promptInterrupted')).toEqual([]);
    expect(bot.events('DTMF')).toHaveLength(1);
  });
});
