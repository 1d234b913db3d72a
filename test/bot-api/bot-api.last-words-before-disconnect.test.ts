/**
 * Ending a Bot API conversation: what was queued for the bot (conversationEnd) goes out before the
 * disconnect, and the websocket stays open until the disconnect is done, so the bot's last message
 * on it is received.
 */
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { BotApiConnector } from '../../src/bots/bot-api/index.js';
import { eventActivity, messageActivity, type Activity } from '../../src/bots/activity.js';
import { BotApiServer } from '../support/bot-api-server.js';
import { captureLogger } from '../support/captured-logger.js';

const info = { conversationId: 'call-last-1', direction: 'inbound' as const, caller: '+15550001', callee: '+15550002' };

let server: BotApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('the end of a Bot API conversation', () => {
  it('a message the bot sends on the websocket while the disconnect is in flight is received and logged; the socket closes after the disconnect', async () => {
    server = await BotApiServer.start({ websocket: true, expiresSeconds: [3600] });
    const logs = captureLogger();
    const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl, logger: logs.logger });
    await bot.start(info);
    await server.waitForWebsocket(info.conversationId);
    const socket = server.socketOf(info.conversationId)!;
    let releaseDisconnect!: () => void;
    server.fault('disconnect', { until: new Promise<void>((resolve) => (releaseDisconnect = resolve)) });

    const ended = bot.end('client-disconnected', 'caller hung up');
    await server.waitForRequest((r) => r.kind === 'disconnect');
    const received = once(bot, 'activities') as Promise<[Activity[]]>;
    server.push(info.conversationId, [{ type: 'message', text: 'Your ticket number is T-9.' }]);
    expect((await received)[0].map((a) => a.text)).toEqual(['Your ticket number is T-9.']);
    expect(logs.lines.find((l) => l.msg === 'bot activities received after the call ended; not carried out')).toMatchObject({
      activities: [expect.objectContaining({ type: 'message', text: 'Your ticket number is T-9.' })],
    });

    const closed = once(socket, 'close');
    releaseDisconnect();
    await ended;
    await closed;
    expect(server.count('disconnect')).toBe(1);
  });

  it('a message the bot sent just before the end is received, not cut off', async () => {
    server = await BotApiServer.start({ websocket: true, expiresSeconds: [3600] });
    const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl });
    await bot.start(info);
    await server.waitForWebsocket(info.conversationId);
    const received = once(bot, 'activities') as Promise<[Activity[]]>;
    server.push(info.conversationId, [{ type: 'event', name: 'sendMetaData', value: { outcome: 'resolved' } }]);
    const ended = bot.end('client-disconnected');
    expect((await received)[0].map((a) => a.name)).toEqual(['sendMetaData']);
    await ended;
  });

  it('conversationEnd, queued as the call ends, reaches the bot before the disconnect; a turn still in flight is abandoned', async () => {
    server = await BotApiServer.start({ expiresSeconds: [3600] });
    const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl });
    await bot.start(info);
    server.fault('activities', { hold: true }); // the caller's last turn: the bot never answers it
    void bot.send(messageActivity('are you there'));
    await server.waitForRequest((r) => r.kind === 'activities', 2);
    void bot.send(eventActivity('conversationEnd', { value: { reason: 'caller-hangup' } }));
    await bot.end('client-disconnected', 'caller-hangup');

    const order = server.requests.filter((r) => r.kind === 'activities' || r.kind === 'disconnect').map((r) => (r.kind === 'disconnect' ? 'disconnect' : (r.body.activities as Activity[])[0].name ?? (r.body.activities as Activity[])[0].text));
    expect(order).toEqual(['start', 'are you there', 'conversationEnd', 'disconnect']);
    // Nothing the session sends after the end goes out.
    await bot.send(messageActivity('too late'));
    expect(server.count('activities')).toBe(3);
  });
});
