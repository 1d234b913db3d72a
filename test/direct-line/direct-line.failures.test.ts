import { afterEach, describe, expect, it } from 'vitest';
import { messageActivity } from '../../src/bots/activity.js';
import { DirectLineError } from '../../src/bots/direct-line/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { callInfo, DirectLineFixture } from './direct-line-fixture.js';

const fx = new DirectLineFixture();
afterEach(() => fx.cleanup());

async function startedCall(extra = {}) {
  const server = await fx.startServer();
  const { bot, emitted } = fx.connector(extra);
  await bot.start(callInfo);
  await emitted.activity((a) => a.type === 'message');
  return { server, bot, emitted, conversationId: server.onlyConversation() };
}

describe('Direct Line failures', () => {
  it('a wrong secret makes start() fail with a message naming Direct Line, the status and the secret', async () => {
    const server = await fx.startServer();
    const { bot } = fx.connector({ secret: 'not-the-secret' });
    const err = (await bot.start(callInfo).catch((e: unknown) => e)) as DirectLineError;
    expect(err).toBeInstanceOf(DirectLineError);
    expect(err).toMatchObject({ kind: 'auth', status: 403, code: 'BadArgument' });
    expect(err.message).toBe('Direct Line start conversation (POST /v3/directline/conversations) answered 403: BadArgument - Invalid token or secret (check the Direct Line secret of the bot)');
    expect(server.count('create')).toBe(1);
    await bot.end('error'); // nothing was opened: nothing to end
    expect(server.count('post-activity')).toBe(0);
  });

  it.each([
    [429, 'TooManyRequests', 'Too many requests', 'rate-limited'],
    [502, 'BotError', 'Failed to send activity: bot timed out', 'bot-unavailable'],
    [404, 'BadArgument', 'Conversation not found', 'conversation-gone'],
  ])('a send answered %i is reported once as a failure naming the status and the error code', async (status, code, message, kind) => {
    const { server, bot, emitted } = await startedCall();
    server.fault('post-activity', { status, code, message });
    await bot.send(messageActivity('hello'));
    await bot.send(messageActivity('anyone there?'));
    const err = (await emitted.failure()) as DirectLineError;
    expect(err).toMatchObject({ kind, status, code });
    expect(err.message).toMatch(new RegExp(`^Direct Line send message \\(POST /v3/directline/conversations/[^/]+/activities\\) answered ${status}: ${code} - ${message}`));
    expect(emitted.failures).toHaveLength(1);
    expect(server.transcript(server.onlyConversation()).some((a) => a.text === 'anyone there?')).toBe(false);
  });

  it('a send Direct Line never answers fails at requestTimeoutMs', async () => {
    const clock = new FakeClock();
    const { server, bot, emitted } = await startedCall({ clock, requestTimeoutMs: 3000 });
    server.fault('post-activity', { hold: true });
    const held = server.waitForRequest((r) => r.kind === 'post-activity', 2);
    const sending = bot.send(messageActivity('hello'));
    await held;
    clock.advance(2999);
    expect(emitted.failures).toEqual([]);
    clock.advance(1);
    await sending;
    const err = (await emitted.failure()) as DirectLineError;
    expect(err.kind).toBe('timeout');
    expect(err.message).toMatch(/^Direct Line send message \(POST \/v3\/directline\/conversations\/[^/]+\/activities\) got no answer within 3000 ms$/);
  });

  it('a stream message that is not an ActivitySet is a failure naming the problem; keep-alives are fine', async () => {
    const { server, emitted, conversationId } = await startedCall();
    server.sendRaw(conversationId, ''); // keep-alive
    server.sendRaw(conversationId, JSON.stringify({ activities: [{ type: 'message', text: 'ok' }, { text: 'no type' }], watermark: '9' }));
    const err = await emitted.failure();
    expect(err.message).toBe('Direct Line stream sent a malformed ActivitySet: activities[1].type must be a string, got nothing');
    expect(emitted.activities.some((a) => a.text === 'ok')).toBe(false); // a broken set is not half-delivered
  });

  it('a stream message that is not JSON is a failure quoting it', async () => {
    const { server, emitted, conversationId } = await startedCall();
    server.sendRaw(conversationId, '<html>proxy error</html>');
    expect((await emitted.failure()).message).toMatch(/^Direct Line stream sent a malformed ActivitySet: not JSON \(.+\): "<html>proxy error<\/html>"$/);
  });

  it('a start conversation answer without conversationId makes start() fail naming the field', async () => {
    const server = await fx.startServer();
    server.fault('create', { status: 201, rawBody: JSON.stringify({ token: 't', expires_in: 1800 }) });
    const { bot } = fx.connector();
    await expect(bot.start(callInfo)).rejects.toThrow('Direct Line start conversation answer is malformed: "conversationId" is missing');
  });

  it('an unreachable Direct Line makes start() fail naming the connection problem', async () => {
    const server = await fx.startServer();
    await server.close();
    const { bot } = fx.connector();
    await expect(bot.start(callInfo)).rejects.toThrow(/^Direct Line start conversation \(POST \/v3\/directline\/conversations\) failed: ECONNREFUSED$/);
  });
});
