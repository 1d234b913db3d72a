import { describe, expect, it } from 'vitest';
import { EXAMPLE_FLOW, FlowDriver, summarize } from '../support/flow-driver.js';

describe('FlowBot: caller silence', () => {
  it('noUserInput takes the retry path, and after maxVisits retries goes to goodbye', async () => {
    const d = new FlowDriver(EXAMPLE_FLOW);
    await d.start();
    const retry = ['message:I did not hear anything.', 'event:config', 'message:Please press 1 or 2.'];
    expect(summarize(await d.noInput(1))).toEqual(retry);
    expect(summarize(await d.noInput(2))).toEqual(retry);
    const last = await d.noInput(3);
    expect(summarize(last)).toEqual(['message:Goodbye.', 'event:hangup']);
    expect(last[1].activityParams).toEqual({ hangupReason: 'completed' });
  });

  it('a key press between silences still works, and the retry count is per conversation', async () => {
    const d = new FlowDriver(EXAMPLE_FLOW);
    await d.start();
    await d.noInput();
    await d.dtmf('7'); // noMatch -> menu again
    await d.noInput();
    expect(summarize(await d.noInput())).toEqual(['message:Goodbye.', 'event:hangup']);
  });

  it('events that are not input (playFinished) do not move the flow', async () => {
    const d = new FlowDriver(EXAMPLE_FLOW);
    await d.start();
    const { eventActivity } = await import('../../src/bots/activity.js');
    await d.bot.send(eventActivity('playFinished'));
    expect(d.bot.waitingAt).toBe('menu');
  });
});
