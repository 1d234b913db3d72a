/** Over the websocket too: `"Event"`/`"Hangup"` are understood, and one bad activity does not cost the rest of the frame. */
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { BotApiConnector } from '../../src/bots/bot-api/index.js';
import { messageActivity, type Activity } from '../../src/bots/activity.js';
import { BotApiServer } from '../support/bot-api-server.js';
import { captureLogger } from '../support/captured-logger.js';

const info = { conversationId: 'call-ws-caps', direction: 'inbound' as const, caller: '+15550001', callee: '+15550002' };

let server: BotApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function commandFailedReports(s: BotApiServer): unknown[] {
  return s.requests
    .filter((r) => r.kind === 'activities')
    .flatMap((r) => (r.body.activities as Activity[]).filter((a) => a.name === 'commandFailed').map((a) => a.value));
}

describe('bot-api activities in any case, and one bad activity among good ones', () => {
  it('a websocket frame with `type: "Event", name: "Hangup"` reaches the call as a hangup with its reason', async () => {
    server = await BotApiServer.start({ websocket: true, expiresSeconds: [3600] });
    const bot = new BotApiConnector({ name: 'legacy', botUrl: server.botUrl });
    await bot.start(info);
    await server.waitForWebsocket(info.conversationId);
    const next = once(bot, 'activities') as Promise<[Activity[]]>;
    server.push(info.conversationId, [
      { type: 'MESSAGE', text: 'Thanks, goodbye.' },
      { type: 'Event', name: 'Hangup', activityParams: { hangupReason: 'resolved' } },
    ]);
    const [activities] = await next;
    expect(activities.map((a) => [a.type, a.name ?? a.text, a.activityParams])).toEqual([
      ['message', 'Thanks, goodbye.', undefined],
      ['event', 'hangup', { hangupReason: 'resolved' }],
    ]);
    expect(commandFailedReports(server)).toEqual([]);
    await bot.end('bot-disconnected', 'resolved');
  });

  it('a websocket frame with a bad activity delivers the good ones, logs the bad one and tells the bot over HTTP', async () => {
    server = await BotApiServer.start({ websocket: true, expiresSeconds: [3600] });
    const logs = captureLogger();
    const bot = new BotApiConnector({ name: 'legacy', botUrl: server.botUrl, logger: logs.logger });
    await bot.start(info);
    await server.waitForWebsocket(info.conversationId);
    const next = once(bot, 'activities') as Promise<[Activity[]]>;
    const reported = server.waitForRequest((r) => r.kind === 'activities' && (r.body.activities as Activity[])[0].name === 'commandFailed');
    server.push(info.conversationId, [{ type: 'message', text: 'One moment.' }, { id: 'bad-7', type: 'event' }, { type: 'event', name: 'PlayUrl', activityParams: { playUrlUrl: 'https://media.example/hold.wav' } }]);
    const [activities] = await next;
    expect(activities.map((a) => a.name ?? a.text)).toEqual(['One moment.', 'playUrl']);
    await reported;
    expect(commandFailedReports(server)).toEqual([{ command: 'invalidActivity', index: 1, type: 'event', activityId: 'bad-7', reason: 'an event needs a string "name"' }]);
    expect(logs.lines.find((l) => l.msg === 'bot activity rejected; the rest of its batch is carried out')).toMatchObject({ index: 1, type: 'event', activityId: 'bad-7' });
    await bot.end('client-disconnected');
  });

  it('a bot that answers each report with another bad activity is told once, not endlessly', async () => {
    server = await BotApiServer.start({ expiresSeconds: [3600] });
    const bot = new BotApiConnector({ name: 'legacy', botUrl: server.botUrl });
    await bot.start(info);
    // Its answer to the caller's text and to the report both carry a bad activity.
    const bad = JSON.stringify({ activities: [{ type: 'message', text: 'Sure.' }, { type: 'shout' }] });
    server.fault('activities', { rawBody: bad });
    server.fault('activities', { rawBody: bad });
    const answered = once(bot, 'activities') as Promise<[Activity[]]>;
    await bot.send(messageActivity('hello'));
    expect((await answered)[0].map((a) => a.text)).toEqual(['Sure.']);
    await bot.end('client-disconnected'); // drains the report first
    expect(commandFailedReports(server)).toEqual([{ command: 'invalidActivity', index: 1, type: 'shout', reason: '"type" must be "message" or "event" (any case), got "shout"' }]);
    expect(server.count('disconnect')).toBe(1);
  });
});
