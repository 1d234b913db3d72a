import { afterEach, describe, expect, it } from 'vitest';
import { messageActivity } from '../../src/bots/activity.js';
import { FakeClock } from '../support/fake-clock.js';
import { callInfo, DirectLineFixture, spoken } from './direct-line-fixture.js';

const fx = new DirectLineFixture();
afterEach(() => fx.cleanup());

describe('Direct Line polling', () => {
  it('with useWebSocket false polls GET .../activities with the last watermark and delivers each bot activity once', async () => {
    const server = await fx.startServer();
    const clock = new FakeClock();
    const { bot, emitted } = fx.connector({ useWebSocket: false, pollIntervalMs: 1000, clock });
    await bot.start(callInfo);
    await emitted.activity((a) => a.type === 'message');
    await bot.send(messageActivity('hello'));
    await emitted.activity((a) => a.text === 'You said: hello');
    expect(server.count('stream')).toBe(0);

    // A proactive message arrives with the next scheduled poll.
    const conversationId = server.onlyConversation();
    server.push(conversationId, { type: 'message', text: 'Still there?' });
    const polled = server.waitForRequest((r) => r.kind === 'get-activities', server.count('get-activities') + 1);
    clock.advance(1000);
    await polled;
    await emitted.activity((a) => a.text === 'Still there?');

    expect(spoken(emitted.activities)).toEqual(['Hello, this is the echo bot.', 'You said: hello', 'Still there?']);
    const polls = server.requests.filter((r) => r.kind === 'get-activities');
    expect(polls[0].query.watermark).toBeUndefined();
    expect(polls.slice(1).every((p) => Number(p.query.watermark) > 0)).toBe(true);
    expect(polls.every((p) => p.authorization?.startsWith('Bearer tok_'))).toBe(true);
  });

  it('falls back to polling when the WebSocket stream is refused', async () => {
    const server = await fx.startServer();
    server.refuseStreams = true;
    const clock = new FakeClock();
    const { bot, emitted } = fx.connector({ clock });
    await bot.start(callInfo);
    await emitted.activity((a) => a.text === 'Hello, this is the echo bot.');
    expect(server.count('stream')).toBe(1);
    expect(server.count('get-activities')).toBeGreaterThan(0);
    expect(emitted.failures).toEqual([]);
  });

  it('reports a poll rejected with 404 (conversation gone) as a failure naming Direct Line', async () => {
    const server = await fx.startServer();
    const clock = new FakeClock();
    const { bot, emitted } = fx.connector({ useWebSocket: false, clock });
    await bot.start(callInfo);
    await emitted.activity((a) => a.type === 'message');
    server.forget(server.onlyConversation());
    clock.advance(1000);
    const err = await emitted.failure();
    expect(err.message).toMatch(/^Direct Line receive activities \(GET \/v3\/directline\/conversations\/[^/]+\/activities\) answered 404: BadArgument - Conversation not found/);
  });
});
