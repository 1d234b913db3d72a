/**
 * On a dialed-out call whose bot listed `dialoutInitiated`, the bot gets that event and then `start`
 * in two requests, in order: a bot that reads only the first activity of a request still greets.
 */
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { BotApiConnector } from '../../src/bots/bot-api/index.js';
import type { Activity } from '../../src/bots/activity.js';
import { botConversationInfo } from '../../src/call/conversation-opening.js';
import { DEFAULT_CALL_SETTINGS, mergeSettings } from '../../src/call/settings.js';
import type { CallInfo } from '../../src/carriers/leg.js';
import { BotApiServer } from '../support/bot-api-server.js';

const dialedOut: CallInfo = {
  callId: 'call-out-1',
  carrier: 'plivo',
  carrierCallId: 'plivo-out-1',
  direction: 'outbound',
  from: '+14155550100',
  to: '+14155550201',
  outbound: { target: '+14155550201', metadata: { ticket: 'T-9' } },
};

let server: BotApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('an outbound call opening with dialoutInitiated', () => {
  it('sends dialoutInitiated, then start, as separate requests; a bot reading only the first activity of each request greets', async () => {
    server = await BotApiServer.start({ readsFirstActivityOnly: true, greeting: 'Hello, this is about ticket T-9.' });
    const settings = mergeSettings(DEFAULT_CALL_SETTINGS, { sendEventsToBot: ['dialoutInitiated'] });
    const bot = new BotApiConnector({ name: 'notifier', botUrl: server.botUrl });
    const greeted = once(bot, 'activities') as Promise<[Activity[]]>;
    await bot.start(botConversationInfo(dialedOut, settings, Date.now()));

    expect((await greeted)[0].map((a) => a.text)).toEqual(['Hello, this is about ticket T-9.']);
    const requests = server.requests.filter((r) => r.kind === 'activities').map((r) => (r.body.activities as Activity[]).map((a) => a.name));
    expect(requests).toEqual([['dialoutInitiated'], ['start']]);
    const [start] = server.requests.filter((r) => r.kind === 'activities')[1].body.activities as Activity[];
    expect(start.parameters).toMatchObject({ outboundTarget: '+14155550201', dialoutMetadata: { ticket: 'T-9' } });
    await bot.end('client-disconnected');
  });

  it('without dialoutInitiated listed, the opening is the start request alone', async () => {
    server = await BotApiServer.start({ readsFirstActivityOnly: true });
    const bot = new BotApiConnector({ name: 'notifier', botUrl: server.botUrl });
    const greeted = once(bot, 'activities');
    await bot.start(botConversationInfo(dialedOut, DEFAULT_CALL_SETTINGS, Date.now()));
    await greeted;
    expect(server.requests.filter((r) => r.kind === 'activities').map((r) => (r.body.activities as Activity[]).map((a) => a.name))).toEqual([['start']]);
    await bot.end('client-disconnected');
  });
});
