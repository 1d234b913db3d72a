import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { BotApiConnector, BotApiError, validateBotApi } from '../../src/bots/bot-api/index.js';
import type { Activity } from '../../src/bots/activity.js';
import { BotApiServer } from '../support/bot-api-server.js';

const info = {
  conversationId: 'call-start-1',
  direction: 'inbound' as const,
  caller: '+15550001',
  callee: '+15550002',
  callerHost: 'carrier.example',
  calleeHost: 'voxgate.example',
  callerDisplayName: 'Ada',
  parameters: { 'X-Account': '42' },
};

let server: BotApiServer | undefined;
const connectors: BotApiConnector[] = [];
afterEach(async () => {
  await Promise.all(connectors.splice(0).map((c) => c.end('client-disconnected')));
  await server?.close();
  server = undefined;
});

function connect(s: BotApiServer, extra: Partial<ConstructorParameters<typeof BotApiConnector>[0]> = {}): BotApiConnector {
  const c = new BotApiConnector({ name: 'echo', botUrl: s.botUrl, token: 'secret', ...extra });
  connectors.push(c);
  return c;
}

describe('bot-api start', () => {
  it('creates the conversation, sends the start event with call parameters, and emits the greeting', async () => {
    server = await BotApiServer.start({ token: 'secret', greeting: 'Welcome to the echo bot.' });
    const bot = connect(server);
    const greeted = once(bot, 'activities') as Promise<[Activity[]]>;
    await bot.start(info);
    const [activities] = await greeted;
    expect(activities.map((a) => a.text)).toEqual(['Welcome to the echo bot.']);

    const create = await server.waitForRequest((r) => r.kind === 'create');
    expect(create.body).toEqual({ conversation: 'call-start-1' });
    expect(create.authorization).toBe('Bearer secret');
    const start = await server.waitForRequest((r) => r.kind === 'activities');
    const sent = (start.body.activities as Activity[])[0];
    expect(start.body.conversation).toBe('call-start-1');
    expect(sent).toMatchObject({
      type: 'event',
      name: 'start',
      parameters: {
        caller: '+15550001',
        callee: '+15550002',
        callerHost: 'carrier.example',
        calleeHost: 'voxgate.example',
        callerDisplayName: 'Ada',
        vaigConversationId: 'call-start-1',
        'X-Account': '42',
      },
    });
    expect(sent.id).toMatch(/\S/);
    expect(new Date(sent.timestamp).toISOString()).toBe(sent.timestamp);
  });

  it('resolves the relative conversation URLs against botURL (beside the bot path, not under it)', async () => {
    server = await BotApiServer.start({ urlStyle: 'relative' });
    const bot = connect(server, { token: undefined });
    await bot.start(info);
    await bot.end('client-disconnected');
    const paths = server.requests.map((r) => `${r.kind} ${r.path}`);
    expect(paths).toEqual([
      'create /api/bots/echo',
      'activities /api/bots/conversations/call-start-1/activities',
      'disconnect /api/bots/conversations/call-start-1/disconnect',
    ]);
    // No token configured: no Authorization header at all.
    expect(server.requests.every((r) => r.authorization === undefined)).toBe(true);
  });

  it('uses absolute conversation URLs unchanged', async () => {
    server = await BotApiServer.start({ urlStyle: 'absolute' });
    const bot = connect(server);
    await bot.start(info);
    expect((await server.waitForRequest((r) => r.kind === 'activities')).path).toBe('/api/bots/conversations/call-start-1/activities');
  });

  it('rejects a botUrl that is not an absolute URL, naming it', () => {
    expect(() => new BotApiConnector({ name: 'broken', botUrl: 'bots/echo' })).toThrow(/broken.*botUrl "bots\/echo"/);
  });
});

describe('validateBotApi', () => {
  it('accepts a bot that answers {type:"ac-bot-api", success:true}', async () => {
    server = await BotApiServer.start({ token: 'secret' });
    await expect(validateBotApi(server.botUrl, { token: 'secret' })).resolves.toBeUndefined();
    expect(server.requests[0]).toMatchObject({ kind: 'validate', method: 'GET', authorization: 'Bearer secret' });
  });

  it('reports a rejected token and a server that is not a bot-api bot', async () => {
    server = await BotApiServer.start({ token: 'secret' });
    await expect(validateBotApi(server.botUrl, { token: 'wrong' })).rejects.toThrow(/answered 401.*rejected the token/);
    const notABot = validateBotApi(`${server.origin}/nothing-here`, {});
    await expect(notABot).rejects.toBeInstanceOf(BotApiError);
    await expect(notABot).rejects.toThrow(/404/);
  });
});
