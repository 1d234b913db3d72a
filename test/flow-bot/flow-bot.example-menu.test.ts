import { describe, expect, it } from 'vitest';
import { EXAMPLE_FLOW, FlowDriver, summarize } from '../support/flow-driver.js';

describe('FlowBot: the example menu flow', () => {
  it('on start: welcome message, DTMF collect config, then the prompt; then waits', async () => {
    const d = new FlowDriver(EXAMPLE_FLOW);
    const acts = await d.start();
    expect(summarize(acts)).toEqual([
      'message:Welcome to Voxgate. Press 1 for opening hours, 2 to talk to an agent.',
      'event:config',
      'message:Please press 1 or 2.',
    ]);
    expect(acts[1].sessionParams).toEqual({
      dtmfCollect: true,
      dtmfCollectMaxDigits: 1,
      dtmfCollectSubmitDigit: '#',
      dtmfCollectInterDigitTimeoutMS: 3000,
      userNoInputTimeoutMS: 5000,
      userNoInputSendEvent: true,
      sendDTMF: true,
      bargeInOnDTMF: true,
    });
    expect(acts[0]).toMatchObject({ type: 'message', language: 'en-US' });
    for (const a of acts) {
      expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(Number.isNaN(Date.parse(a.timestamp))).toBe(false);
    }
    expect(new Set(acts.map((a) => a.id)).size).toBe(3);
    expect(d.bot.waitingAt).toBe('menu');
  });

  it('DTMF "1" plays the hours, then says goodbye and hangs up', async () => {
    const d = new FlowDriver(EXAMPLE_FLOW);
    await d.start();
    const acts = await d.dtmf('1');
    expect(summarize(acts)).toEqual(['message:We are open from nine to five.', 'message:Goodbye.', 'event:hangup']);
    expect(acts[2].activityParams).toEqual({ hangupReason: 'completed' });
    expect(await d.dtmf('1')).toEqual([]); // the conversation is over
  });

  it('a trailing submit digit is ignored ("1#" is "1")', async () => {
    const d = new FlowDriver(EXAMPLE_FLOW);
    await d.start();
    expect(summarize(await d.dtmf('1#'))[0]).toBe('message:We are open from nine to five.');
  });

  it('DTMF "9" takes the noMatch path back to the menu', async () => {
    const d = new FlowDriver(EXAMPLE_FLOW);
    await d.start();
    expect(summarize(await d.dtmf('9'))).toEqual(['event:config', 'message:Please press 1 or 2.']);
    expect(d.bot.waitingAt).toBe('menu');
    expect(summarize(await d.dtmf('1'))).toContain('event:hangup');
  });

  it('a spoken choice ("two please") counts like the key', async () => {
    const d = new FlowDriver(EXAMPLE_FLOW);
    await d.start();
    expect(summarize(await d.say('Two, please.'))).toEqual(['message:Transferring you now.', 'event:transfer']);
  });

  it('DTMF "2" says it is transferring, then transfers to the agent', async () => {
    const d = new FlowDriver(EXAMPLE_FLOW);
    await d.start();
    const acts = await d.dtmf('2');
    expect(summarize(acts)).toEqual(['message:Transferring you now.', 'event:transfer']);
    expect(acts[1].activityParams).toEqual({ transferTarget: 'tel:+15550001111' });
    expect(d.bot.waitingAt).toBeUndefined();
  });
});
