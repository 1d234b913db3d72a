import { describe, expect, it } from 'vitest';
import { DEFAULT_FLOW } from '../../src/bots/flow/default-flow.js';
import { FlowDriver, summarize } from '../support/flow-driver.js';

describe('DEFAULT_FLOW: what `voxgate demo` answers with', () => {
  it('welcomes, offers the menu, and gives the opening hours on 1', async () => {
    const d = new FlowDriver(DEFAULT_FLOW);
    expect(summarize(await d.start())).toEqual([
      'message:Welcome to Voxgate, the open source voice gateway.',
      'event:config',
      'message:Press 1 for our opening hours, or 2 to talk to an agent.',
    ]);
    expect(summarize(await d.dtmf('1'))).toEqual([
      'message:Our opening hours are nine to five, Monday to Friday.',
      'message:Thank you for calling. Goodbye.',
      'event:hangup',
    ]);
  });

  it('transfers to tel:+15550100 on 2', async () => {
    const d = new FlowDriver(DEFAULT_FLOW);
    await d.start();
    const acts = await d.dtmf('2');
    expect(summarize(acts)).toEqual(['message:Connecting you to an agent.', 'event:transfer']);
    expect(acts[1].activityParams).toEqual({ transferTarget: 'tel:+15550100' });
  });

  it('re-prompts after the first silence and says goodbye after the second', async () => {
    const d = new FlowDriver(DEFAULT_FLOW);
    await d.start();
    expect(summarize(await d.noInput(1))).toEqual([
      'message:I did not hear anything.',
      'event:config',
      'message:Press 1 for our opening hours, or 2 to talk to an agent.',
    ]);
    expect(summarize(await d.noInput(2))).toEqual(['message:Thank you for calling. Goodbye.', 'event:hangup']);
  });
});
