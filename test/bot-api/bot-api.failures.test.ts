import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { BotApiConnector, BotApiError } from '../../src/bots/bot-api/index.js';
import { messageActivity } from '../../src/bots/activity.js';
import { BotApiServer } from '../support/bot-api-server.js';

const info = { conversationId: 'call-fail-1', direction: 'inbound' as const, caller: '+15550001', callee: '+15550002' };

let server: BotApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function started(token = 'good'): Promise<{ server: BotApiServer; bot: BotApiConnector }> {
  server = await BotApiServer.start({ token: 'good', expiresSeconds: [3600] });
  const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl, token });
  await bot.start(info);
  return { server, bot };
}

describe('bot-api failures', () => {
  it('a wrong token makes start() fail with a message naming the URL and the token problem', async () => {
    server = await BotApiServer.start({ token: 'good' });
    const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl, token: 'bad' });
    const err = await bot.start(info).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BotApiError);
    expect((err as BotApiError).kind).toBe('auth');
    expect((err as Error).message).toBe(`POST ${server.botUrl} answered 401: the bot rejected the token (check the bot's token or OAuth settings)`);
    expect(server.count('create')).toBe(1); // auth errors are not retried
  });

  it('a token rejected mid-call is reported as a failure', async () => {
    const { bot, server } = await started();
    server.requireToken('rotated');
    const failure = once(bot, 'failure') as Promise<[BotApiError]>;
    await bot.send(messageActivity('hello'));
    const [err] = await failure;
    expect(err.kind).toBe('auth');
    expect(err.message).toMatch(/activities answered 401: the bot rejected the token/);
    // The disconnect is rejected too, and says so (the session logs it).
    await expect(bot.end('error')).rejects.toThrow(/disconnect answered 401/);
  });

  it('a conversation the bot dropped mid-call (404) is reported as a failure, once', async () => {
    const { bot, server } = await started();
    server.forget('call-fail-1');
    const failures: Error[] = [];
    bot.on('failure', (e) => failures.push(e));
    await bot.send(messageActivity('hello'));
    await bot.send(messageActivity('anyone?'));
    expect(failures).toHaveLength(1);
    expect((failures[0] as BotApiError).kind).toBe('conversation-gone');
    expect(failures[0].message).toMatch(/conversations\/call-fail-1\/activities answered 404/);
    await bot.end('error'); // the disconnect's 404 is expected and not an error
  });

  it('a malformed JSON answer is a failure naming the URL and the problem', async () => {
    const { bot, server } = await started();
    server.fault('activities', { rawBody: '{"activities": [ {"type": "message", ' });
    const failure = once(bot, 'failure') as Promise<[BotApiError]>;
    await bot.send(messageActivity('hello'));
    const [err] = await failure;
    expect(err.kind).toBe('malformed');
    expect(err.message).toContain(`${server.origin}/api/bots/conversations/call-fail-1/activities answered malformed JSON`);
    await bot.end('error');
  });

  it('an answer that is not a batch of activities is a failure naming the field', async () => {
    const { bot, server } = await started();
    server.fault('activities', { rawBody: JSON.stringify({ activities: { type: 'message', text: 'ok' } }) });
    const failure = once(bot, 'failure') as Promise<[BotApiError]>;
    await bot.send(messageActivity('hello'));
    expect((await failure)[0].message).toMatch(/malformed: "activities" must be an array, got object/);
    await bot.end('error');
  });

  it('a create answer without activitiesURL makes start() fail naming the field', async () => {
    server = await BotApiServer.start();
    server.fault('create', { rawBody: JSON.stringify({ refreshURL: 'r', expiresSeconds: 60 }) });
    const bot = new BotApiConnector({ name: 'echo', botUrl: server.botUrl });
    await expect(bot.start(info)).rejects.toThrow(`bot-api answer from ${server.botUrl} is malformed: "activitiesURL" is missing`);
  });

  it('an unreachable bot makes start() fail after the retries, naming the connection problem', async () => {
    server = await BotApiServer.start();
    const url = server.botUrl;
    await server.close();
    server = undefined;
    const bot = new BotApiConnector({ name: 'echo', botUrl: url, retries: 1 });
    await expect(bot.start(info)).rejects.toThrow(`POST ${url} failed: ECONNREFUSED`);
  });
});
