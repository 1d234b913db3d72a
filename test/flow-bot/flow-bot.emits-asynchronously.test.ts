import { describe, expect, it } from 'vitest';
import { FlowBot } from '../../src/bots/flow/flow-bot.js';
import { validateFlow } from '../../src/bots/flow/flow-schema.js';
import { eventActivity } from '../../src/bots/activity.js';
import { EXAMPLE_FLOW } from '../support/flow-driver.js';

const info = { conversationId: 'c', direction: 'inbound' as const, caller: '1', callee: '2' };

describe('FlowBot: activities arrive through the event, after the call returns', () => {
  it('nothing is emitted synchronously inside start(); one batch arrives before it resolves', async () => {
    const bot = new FlowBot(validateFlow(EXAMPLE_FLOW));
    const batches: number[] = [];
    const started = bot.start(info);
    bot.on('activities', (a) => batches.push(a.length)); // attached after the call: still in time
    expect(batches).toEqual([]);
    await started;
    expect(batches).toEqual([3]);
  });

  it('send() before start() and start() twice are rejected with a clear error', async () => {
    const bot = new FlowBot(validateFlow(EXAMPLE_FLOW));
    await expect(bot.send(eventActivity('DTMF', { value: '1' }))).rejects.toThrow('flow:demo: send() before start()');
    await bot.start(info);
    await expect(bot.start(info)).rejects.toThrow('start() called twice');
  });
});
