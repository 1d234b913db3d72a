import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { BotApiConnector } from '../../src/bots/bot-api/index.js';
import type { Activity } from '../../src/bots/activity.js';
import { BotApiServer } from '../support/bot-api-server.js';
import { ObservedClock } from '../support/bot-api-clock.js';

const info = { conversationId: 'call-ws-1', direction: 'inbound' as const, caller: '+15550001', callee: '+15550002' };

let server: BotApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('bot-api websocket', () => {
  it('opens the websocket with the bearer token and emits asynchronous bot activities', async () => {
    server = await BotApiServer.start({ token: 'ws-token', websocket: true, expiresSeconds: [3600] });
    const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl, token: 'ws-token' });
    await bot.start(info);
    await server.waitForWebsocket('call-ws-1');
    const upgrade = await server.waitForRequest((r) => r.kind === 'websocket');
    expect(upgrade.path).toBe('/api/bots/conversations/call-ws-1/ws');
    expect(upgrade.authorization).toBe('Bearer ws-token');

    let next = once(bot, 'activities') as Promise<[Activity[]]>;
    server.push('call-ws-1', [{ type: 'message', text: 'Please wait while I look that up.' }]);
    expect((await next)[0].map((a) => a.text)).toEqual(['Please wait while I look that up.']);

    // Malformed frames are logged and skipped; the socket keeps working.
    server.push('call-ws-1', 'not json at all');
    server.push('call-ws-1', JSON.stringify({ activities: 'nope' }));
    next = once(bot, 'activities') as Promise<[Activity[]]>;
    server.push('call-ws-1', [
      { type: 'message', text: 'Your order ships tomorrow.' },
      { type: 'event', name: 'hangup' },
    ]);
    const [later] = await next;
    expect(later.map((a) => a.name ?? a.text)).toEqual(['Your order ships tomorrow.', 'hangup']);
    expect(later.every((a) => typeof a.id === 'string' && typeof a.timestamp === 'string')).toBe(true);

    await bot.end('client-disconnected');
    expect(server.count('disconnect')).toBe(1);
  });

  it('closes the websocket when the call ends', async () => {
    server = await BotApiServer.start({ websocket: true, expiresSeconds: [3600], urlStyle: 'absolute' });
    const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl });
    await bot.start(info);
    await server.waitForWebsocket('call-ws-1');
    const socket = server.socketOf('call-ws-1')!;
    const closed = once(socket, 'close');
    await bot.end('client-disconnected');
    await closed;
  });

  it('a refused websocket does not stop the conversation and is retried with backoff', async () => {
    server = await BotApiServer.start({ websocket: true, expiresSeconds: [3600] });
    server.refuseWebsockets = true;
    const clock = new ObservedClock();
    const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl, clock, requestTimeoutMs: 3000 });
    const greeted = once(bot, 'activities') as Promise<[Activity[]]>;
    const firstRetry = clock.nextTimer((ms) => ms === 1000);
    await bot.start(info);
    expect((await greeted)[0][0].text).toMatch(/Hello/);
    await firstRetry;
    expect(server.count('websocket')).toBe(1);

    const secondRetry = clock.nextTimer((ms) => ms === 2000);
    clock.advance(1000);
    await server.waitForRequest((r) => r.kind === 'websocket', 2);
    await secondRetry; // refused again: wait longer

    server.refuseWebsockets = false;
    clock.advance(2000);
    await server.waitForWebsocket('call-ws-1');
    const next = once(bot, 'activities') as Promise<[Activity[]]>;
    server.push('call-ws-1', [{ type: 'message', text: 'Connected at last.' }]);
    expect((await next)[0][0].text).toBe('Connected at last.');
    await bot.end('client-disconnected');
    expect(clock.pendingTimers()).toBe(0);
  });

  it('reopens a websocket the bot dropped mid-call, so later async answers still arrive', async () => {
    server = await BotApiServer.start({ websocket: true, expiresSeconds: [3600] });
    const clock = new ObservedClock();
    const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl, clock, requestTimeoutMs: 3000 });
    await bot.start(info);
    await server.waitForWebsocket('call-ws-1');
    const reopen = clock.nextTimer((ms) => ms === 1000);
    server.socketOf('call-ws-1')!.close(1011, 'bot restarting');
    await reopen;
    clock.advance(1000);
    await server.waitForRequest((r) => r.kind === 'websocket', 2);
    await server.waitForWebsocket('call-ws-1');
    const next = once(bot, 'activities') as Promise<[Activity[]]>;
    server.push('call-ws-1', [{ type: 'message', text: 'Here is your answer.' }]);
    expect((await next)[0][0].text).toBe('Here is your answer.');
    await bot.end('client-disconnected');
  });
});
