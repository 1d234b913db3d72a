import { describe, expect, it } from 'vitest';
import { FlowDriver, summarize } from '../support/flow-driver.js';

describe('FlowBot: a flow that never waits for input', () => {
  it('hangs up with an error reason after 100 steps instead of spinning forever', async () => {
    const d = new FlowDriver({
      name: 'spin',
      start: 'a',
      steps: { a: { say: 'A.', next: 'b' }, b: { goto: 'a' } },
    });
    const acts = await d.start();
    expect(acts).toHaveLength(51); // 50 "A." messages from 100 steps, then the hangup
    const hangup = acts[acts.length - 1];
    expect(summarize([hangup])).toEqual(['event:hangup']);
    expect(hangup.activityParams?.hangupReason).toMatch(/flow "spin" ran 100 steps without waiting for input/);
  });

  it('the limit is configurable and resets when the caller gives input', async () => {
    const d = new FlowDriver(
      {
        name: 'counted',
        start: 'a',
        steps: {
          a: { say: 'One.', next: 'b' },
          b: { say: 'Two.', next: 'menu' },
          menu: { collect: { branches: { '1': 'a' } } },
        },
      },
      { maxStepsWithoutInput: 3 },
    );
    expect(summarize(await d.start())).toEqual(['message:One.', 'message:Two.', 'event:config']);
    expect(summarize(await d.dtmf('1'))).toEqual(['message:One.', 'message:Two.', 'event:config']);
  });
});
