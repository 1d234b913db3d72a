import { afterEach, describe, expect, it } from 'vitest';
import { messageActivity } from '../../src/bots/activity.js';
import { callInfo, DirectLineFixture } from './direct-line-fixture.js';

const fx = new DirectLineFixture();
afterEach(() => fx.cleanup());

describe('Direct Line end', () => {
  it('sends one endOfConversation with the reason, closes the stream, and is safe to call again', async () => {
    const server = await fx.startServer();
    const { bot, emitted } = fx.connector();
    await bot.start(callInfo);
    await emitted.activity((a) => a.type === 'message');
    const conversationId = server.onlyConversation();
    expect(server.streamCount(conversationId)).toBe(1);

    const streamClosed = server.waitForStreamsClosed(conversationId);
    const first = bot.end('client-disconnected', 'caller hung up');
    const second = bot.end('error');
    expect(second).toBe(first);
    await first;
    await bot.end('client-disconnected');

    const ends = server.transcript(conversationId).filter((a) => a.type === 'endOfConversation');
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({
      from: { id: 'voxgate-call-dl-1' },
      code: 'userCancelled',
      text: 'caller hung up',
      value: { reasonCode: 'client-disconnected', reason: 'caller hung up' },
    });
    expect(await streamClosed).toBe(1000); // a normal close, not a dropped connection
    // Nothing goes out after the end.
    const before = server.count('post-activity');
    await bot.send(messageActivity('too late'));
    expect(server.count('post-activity')).toBe(before);
    expect(emitted.failures).toEqual([]);
  });

  it('end() during start waits for the conversation and then ends it on Direct Line', async () => {
    const server = await fx.startServer();
    const { bot } = fx.connector();
    const created = server.waitForRequest((r) => r.kind === 'create');
    const starting = bot.start(callInfo);
    await created;
    await bot.end('client-disconnected');
    await starting;
    const conversationId = server.onlyConversation();
    // The call ended before the start event went out: the bot only hears that it is over.
    expect(server.transcript(conversationId).map((a) => a.type)).toEqual(['endOfConversation']);
    expect(server.streamCount(conversationId)).toBe(0);
  });

  it('a conversation Direct Line already dropped ends without an error', async () => {
    const server = await fx.startServer();
    const { bot, emitted } = fx.connector();
    await bot.start(callInfo);
    await emitted.activity((a) => a.type === 'message');
    server.fault('post-activity', { status: 404, code: 'BadArgument', message: 'Conversation not found' });
    await expect(bot.end('bot-disconnected')).resolves.toBeUndefined();
  });
});
