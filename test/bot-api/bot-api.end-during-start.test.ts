import { afterEach, describe, expect, it } from 'vitest';
import { BotApiConnector } from '../../src/bots/bot-api/index.js';
import { messageActivity } from '../../src/bots/activity.js';
import { BotApiServer } from '../support/bot-api-server.js';

const info = { conversationId: 'call-race-1', direction: 'inbound' as const, caller: '+15550001', callee: '+15550002' };

let server: BotApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

describe('bot-api: the caller hangs up while the conversation is starting', () => {
  it('hanging up while the bot creates the conversation still disconnects it once, and never sends the start event', async () => {
    server = await BotApiServer.start();
    const slow = gate();
    server.fault('create', { until: slow.opened });
    const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl });
    const greeted: unknown[] = [];
    bot.on('activities', (a) => greeted.push(a));
    const starting = bot.start(info);
    await server.waitForRequest((r) => r.kind === 'create');
    const ended = bot.end('client-disconnected', 'caller hung up');
    slow.open();
    await starting;
    await ended;
    expect(server.requests.map((r) => r.kind)).toEqual(['create', 'disconnect']);
    expect(server.requests[1].body).toEqual({ conversation: 'call-race-1', reasonCode: 'client-disconnected', reason: 'caller hung up' });
    expect(greeted).toEqual([]);
  });

  it('hanging up while the start event is in flight resolves start() quietly and disconnects once', async () => {
    server = await BotApiServer.start();
    const slow = gate();
    server.fault('activities', { until: slow.opened });
    const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl });
    const greeted: unknown[] = [];
    bot.on('activities', (a) => greeted.push(a));
    const starting = bot.start(info);
    await server.waitForRequest((r) => r.kind === 'activities');
    await bot.end('client-disconnected');
    slow.open();
    await expect(starting).resolves.toBeUndefined();
    expect(server.count('disconnect')).toBe(1);
    expect(greeted).toEqual([]);
  });
});

describe('bot-api: caller input while the conversation is starting', () => {
  it('queues it until the start event has been answered, then sends it in order', async () => {
    server = await BotApiServer.start();
    const slow = gate();
    server.fault('create', { until: slow.opened });
    const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl });
    const texts: string[] = [];
    bot.on('activities', (list) => texts.push(...list.map((a) => a.text ?? '')));
    const starting = bot.start(info);
    await server.waitForRequest((r) => r.kind === 'create');
    const early = bot.send(messageActivity('hello early'));
    slow.open();
    await starting;
    await early;
    expect(texts).toEqual(['Hello, I am the echo bot.', 'You said: hello early']);
    await bot.end('client-disconnected');
  });
});
