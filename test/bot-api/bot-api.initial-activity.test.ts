import { afterEach, describe, expect, it } from 'vitest';
import { BotApiConnector } from '../../src/bots/bot-api/index.js';
import type { Activity } from '../../src/bots/activity.js';
import { BotApiServer } from '../support/bot-api-server.js';

const info = { conversationId: 'call-initial-1', direction: 'inbound' as const, caller: '+15550001', callee: '+15550002' };

let server: BotApiServer | undefined;
const connectors: BotApiConnector[] = [];
afterEach(async () => {
  await Promise.all(connectors.splice(0).map((c) => c.end('client-disconnected')));
  await server?.close();
  server = undefined;
});

describe('bot-api initial activity setting', () => {
  it('sends the configured override instead of the start event', async () => {
    server = await BotApiServer.start({ token: 'secret' });
    const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl, token: 'secret' });
    connectors.push(bot);
    const override: Activity = { id: 'override-1', timestamp: new Date(0).toISOString(), type: 'event', name: 'welcome', value: { account: 'A-77' } };
    await bot.start({ ...info, initialActivity: override });
    const sent = await server.waitForRequest((r) => r.kind === 'activities');
    expect(sent.body.activities).toEqual([override]);
  });

  it('with none, creates the conversation and sends no activity until the caller speaks', async () => {
    server = await BotApiServer.start({ token: 'secret' });
    const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl, token: 'secret' });
    connectors.push(bot);
    await bot.start({ ...info, initialActivity: null });
    await bot.send({ id: 'm1', timestamp: new Date(0).toISOString(), type: 'message', text: 'hello' });
    const sent = await server.waitForRequest((r) => r.kind === 'activities');
    expect((sent.body.activities as Activity[]).map((a) => a.text)).toEqual(['hello']);
  });
});
