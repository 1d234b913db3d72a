import { afterEach, describe, expect, it } from 'vitest';
import { messageActivity } from '../../src/bots/activity.js';
import { DirectLineError } from '../../src/bots/direct-line/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { ObservedClock } from '../support/bot-api-clock.js';
import { callInfo, DirectLineFixture, spoken } from './direct-line-fixture.js';

const fx = new DirectLineFixture();
afterEach(() => fx.cleanup());

async function startedCall() {
  const server = await fx.startServer();
  const clock = new FakeClock();
  const { bot, emitted } = fx.connector({ clock });
  await bot.start(callInfo);
  await emitted.activity((a) => a.type === 'message');
  return { server, clock, bot, emitted, conversationId: server.onlyConversation() };
}

describe('Direct Line stream dropped mid-call', () => {
  it('reconnects with the last watermark and delivers what the bot said meanwhile, once', async () => {
    const { server, bot, emitted, conversationId } = await startedCall();
    await bot.send(messageActivity('hello'));
    await emitted.activity((a) => a.text === 'You said: hello');
    const watermarkBeforeDrop = String(server.transcript(conversationId).length);

    const reconnected = server.waitForRequest((r) => r.kind === 'reconnect');
    server.dropStreams(conversationId);
    server.push(conversationId, { type: 'message', text: 'Sorry, that took a while.' });
    const reconnect = await reconnected;
    expect(reconnect.path).toBe(`/v3/directline/conversations/${conversationId}`);
    expect(reconnect.query.watermark).toBe(watermarkBeforeDrop);
    expect(reconnect.authorization).toMatch(/^Bearer tok_/);

    await emitted.activity((a) => a.text === 'Sorry, that took a while.');
    await server.waitForStream(conversationId);
    await bot.send(messageActivity('and now'));
    await emitted.activity((a) => a.text === 'You said: and now');
    expect(spoken(emitted.activities)).toEqual(['Hello, this is the echo bot.', 'You said: hello', 'Sorry, that took a while.', 'You said: and now']);
    expect(server.streamCount(conversationId)).toBe(1);
    expect(emitted.failures).toEqual([]);
  });

  it('fails clearly when the conversation is gone and the stream cannot be reopened', async () => {
    const { server, emitted, conversationId } = await startedCall();
    server.forget(conversationId);
    const err = (await emitted.failure()) as DirectLineError;
    expect(err.kind).toBe('conversation-gone');
    expect(err.message).toMatch(/^Direct Line stream was lost and cannot be reopened: Direct Line reconnect to conversation \(GET \/v3\/directline\/conversations\/[^/]+\) answered 404: BadArgument - Conversation not found/);
  });

  it('retries a failing reconnect with backoff, then gives up with a failure naming the attempts', async () => {
    const server = await fx.startServer();
    const clock = new ObservedClock();
    const { bot, emitted } = fx.connector({ clock });
    await bot.start(callInfo);
    await emitted.activity((a) => a.type === 'message');
    const conversationId = server.onlyConversation();
    for (let i = 0; i < 5; i++) server.fault('reconnect', { status: 500, code: 'ServiceError', message: 'Internal error' });
    let armed = clock.nextTimer((ms) => ms === 1000);
    server.dropStreams(conversationId); // first attempt at once
    for (const backoff of [1000, 2000, 4000, 8000]) {
      await armed;
      armed = clock.nextTimer((ms) => ms === backoff * 2);
      clock.advance(backoff);
    }
    const err = await emitted.failure();
    expect(err.message).toBe(`Direct Line stream of conversation ${conversationId} was lost and could not be reopened after 5 attempts`);
    expect(server.count('reconnect')).toBe(5);
  });
});
