import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { BotApiConnector } from '../../src/bots/bot-api/index.js';
import { messageActivity, type Activity } from '../../src/bots/activity.js';
import { BotApiServer } from '../support/bot-api-server.js';
import { ObservedClock } from '../support/bot-api-clock.js';

const info = { conversationId: 'call-retry-1', direction: 'inbound' as const, caller: '+15550001', callee: '+15550002' };

let server: BotApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const sentIds = (s: BotApiServer) =>
  s.requests.filter((r) => r.kind === 'activities').map((r) => (r.body.activities as Activity[])[0].id);

describe('bot-api retry', () => {
  it('resends the same activity id after a timeout; the bot processes it once and the caller hears one answer', async () => {
    server = await BotApiServer.start({ expiresSeconds: [3600] });
    const clock = new ObservedClock();
    const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl, clock, requestTimeoutMs: 2000, retries: 2 });
    await bot.start(info);
    const answers: Activity[][] = [];
    bot.on('activities', (a) => answers.push(a));

    server.fault('activities', { hold: true });
    const activity = messageActivity('are you there');
    const sent = bot.send(activity);
    await server.waitForRequest((r) => r.kind === 'activities', 2); // the held one
    clock.advance(2000); // the request times out
    await sent;

    expect(sentIds(server).slice(1)).toEqual([activity.id, activity.id]);
    expect(server.processed.get(activity.id)).toBe(1);
    expect(answers.map((list) => list.map((a) => a.text))).toEqual([['You said: are you there']]);
    await bot.end('client-disconnected');
  });

  it('retries a 5xx answer and gives up with a failure after the configured retries', async () => {
    server = await BotApiServer.start({ expiresSeconds: [3600] });
    const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl, retries: 2 });
    await bot.start(info);

    server.fault('activities', { status: 502 });
    const answered = once(bot, 'activities') as Promise<[Activity[]]>;
    await bot.send(messageActivity('first'));
    expect((await answered)[0][0].text).toBe('You said: first');

    for (let i = 0; i < 3; i++) server.fault('activities', { status: 500 });
    const failure = once(bot, 'failure') as Promise<[Error]>;
    const activity = messageActivity('second');
    await bot.send(activity);
    const [err] = await failure;
    expect(err.message).toMatch(/activities answered 500/);
    expect(sentIds(server).filter((id) => id === activity.id)).toHaveLength(3);
    await bot.end('error');
  });

  it('does not retry a 4xx answer', async () => {
    server = await BotApiServer.start({ expiresSeconds: [3600] });
    const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl, retries: 2 });
    await bot.start(info);
    server.fault('activities', { status: 400 });
    const failure = once(bot, 'failure') as Promise<[Error]>;
    await bot.send(messageActivity('bad'));
    expect((await failure)[0].message).toMatch(/answered 400/);
    expect(server.count('activities')).toBe(2);
    await bot.end('error');
  });
});
