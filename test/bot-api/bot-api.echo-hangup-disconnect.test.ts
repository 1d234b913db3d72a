import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { BotApiConnector } from '../../src/bots/bot-api/index.js';
import { eventActivity, messageActivity, type Activity } from '../../src/bots/activity.js';
import { BotApiServer } from '../support/bot-api-server.js';

const info = { conversationId: 'call-echo-1', direction: 'inbound' as const, caller: '+15550001', callee: '+15550002' };

let server: BotApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function started(): Promise<{ server: BotApiServer; bot: BotApiConnector }> {
  server = await BotApiServer.start({ token: 't0ken', hangupKeyword: 'goodbye' });
  const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl, token: 't0ken' });
  const greeted = once(bot, 'activities');
  await bot.start(info);
  await greeted;
  return { server, bot };
}

describe('bot-api conversation', () => {
  it('delivers user text and DTMF and emits the bot answers', async () => {
    const { bot } = await started();
    let answer = once(bot, 'activities') as Promise<[Activity[]]>;
    await bot.send(messageActivity('what time is it', { parameters: { confidence: 0.9 } }));
    expect((await answer)[0].map((a) => a.text)).toEqual(['You said: what time is it']);

    answer = once(bot, 'activities') as Promise<[Activity[]]>;
    await bot.send(eventActivity('DTMF', { value: '5' }));
    expect((await answer)[0].map((a) => a.text)).toEqual(['You pressed 5']);
    await bot.end('client-disconnected');
  });

  it('keeps activities in order when the session sends several at once', async () => {
    const { bot, server } = await started();
    const texts: string[] = [];
    bot.on('activities', (list) => texts.push(...list.map((a) => a.text ?? '')));
    await Promise.all(['one', 'two', 'three'].map((t) => bot.send(messageActivity(t))));
    expect(texts).toEqual(['You said: one', 'You said: two', 'You said: three']);
    const sent = server.requests.filter((r) => r.kind === 'activities').slice(1);
    expect(sent.map((r) => (r.body.activities as Activity[])[0].text)).toEqual(['one', 'two', 'three']);
    await bot.end('client-disconnected');
  });

  it('passes on the bot hangup event when the caller says the keyword', async () => {
    const { bot } = await started();
    const answer = once(bot, 'activities') as Promise<[Activity[]]>;
    await bot.send(messageActivity('ok goodbye then'));
    const [activities] = await answer;
    expect(activities.map((a) => [a.type, a.name ?? a.text])).toEqual([
      ['message', 'Goodbye!'],
      ['event', 'hangup'],
    ]);
    expect(activities[1].activityParams).toEqual({ hangupReason: 'caller said goodbye' });
    await bot.end('bot-disconnected', 'bot hung up');
  });

  it('sends the disconnect with its reason code exactly once, however often end() is called', async () => {
    const { bot, server } = await started();
    const ends = [bot.end('transferred', 'to tel:+15550100'), bot.end('client-disconnected'), bot.end('error')];
    await Promise.all(ends);
    await bot.end('client-disconnected');
    const disconnects = server.requests.filter((r) => r.kind === 'disconnect');
    expect(disconnects).toHaveLength(1);
    expect(disconnects[0].body).toEqual({ conversation: 'call-echo-1', reasonCode: 'transferred', reason: 'to tel:+15550100' });
    expect(disconnects[0].authorization).toBe('Bearer t0ken');

    // Activities produced after the end are not sent to the bot.
    const before = server.requests.length;
    await bot.send(messageActivity('too late'));
    expect(server.requests.length).toBe(before);
  });

  it('refuses send() before start()', async () => {
    const bot = new BotApiConnector({ name: 'echo', botUrl: 'http://127.0.0.1:9/bot' });
    await expect(bot.send(messageActivity('hi'))).rejects.toThrow(/send\(\) before start\(\)/);
  });
});
