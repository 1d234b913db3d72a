import { afterEach, describe, expect, it } from 'vitest';
import { callInfo, DirectLineFixture, spoken } from './direct-line-fixture.js';
import { decodeBotActivity } from '../../src/call/bot-command.js';

const fx = new DirectLineFixture();
afterEach(() => fx.cleanup());

describe('Direct Line start', () => {
  it('opens a conversation with the secret, listens on the stream and speaks the greeting', async () => {
    const server = await fx.startServer({ greeting: ['Welcome to the echo bot.', 'How can I help?'] });
    const { bot, emitted } = fx.connector();
    await bot.start(callInfo);
    await emitted.activity((a) => a.text === 'How can I help?');

    // The typing indicator and our own echoed start event are not activities for the call.
    expect(spoken(emitted.activities)).toEqual(['Welcome to the echo bot.', 'How can I help?']);
    expect(emitted.activities.map((a) => decodeBotActivity(a).kind)).toEqual(['speak', 'speak']);
    expect(emitted.activities[0].id).toMatch(/\|0000002$/);

    const create = await server.waitForRequest((r) => r.kind === 'create');
    expect(create).toMatchObject({ method: 'POST', path: '/v3/directline/conversations', authorization: 'Bearer dl-secret' });
    const stream = server.requests.find((r) => r.kind === 'stream');
    expect(stream?.authorization).toBeUndefined(); // the stream URL is preauthorized
    expect(server.count('get-activities')).toBe(0);

    const conversationId = server.onlyConversation();
    const [start] = server.transcript(conversationId);
    expect(start).toMatchObject({
      type: 'event',
      name: 'start',
      from: { id: 'voxgate-call-dl-1', name: 'Ada' },
      value: { caller: '+15550001', callee: '+15550002', callerHost: 'carrier.example', vaigConversationId: 'call-dl-1', 'X-Account': '42', direction: 'inbound' },
      channelData: { caller: '+15550001', callee: '+15550002' },
    });
    // After the create answer, requests use the conversation token, not the secret.
    const postStart = server.requests.find((r) => r.kind === 'post-activity');
    expect(postStart?.authorization).toMatch(/^Bearer tok_/);
  });

  it('with exchangeSecretForToken sends the secret only to /tokens/generate, bound to the user id', async () => {
    const server = await fx.startServer();
    const { bot, emitted } = fx.connector({ exchangeSecretForToken: true, userId: 'dl_caller-7', locale: 'de-DE' });
    await bot.start(callInfo);
    await emitted.activity((a) => a.type === 'message');
    expect(server.requests.map((r) => r.kind).slice(0, 4)).toEqual(['generate', 'create', 'stream', 'post-activity']);
    expect(server.requests[0]).toMatchObject({ authorization: 'Bearer dl-secret', body: { user: { id: 'dl_caller-7', name: 'Ada' } } });
    expect(server.requests.slice(1).every((r) => r.authorization !== 'Bearer dl-secret')).toBe(true);
    expect(server.transcript(server.onlyConversation())[0]).toMatchObject({ from: { id: 'dl_caller-7' }, locale: 'de-DE' });
  });

  it('rejects a baseUrl that is not an absolute URL and an empty secret, naming the bot', async () => {
    await fx.startServer();
    expect(() => fx.connector({ baseUrl: 'directline/v3' })).toThrow(/direct-line bot "echo": baseUrl "directline\/v3" is not a valid absolute URL/);
    expect(() => fx.connector({ secret: '' })).toThrow(/direct-line bot "echo": the Direct Line secret is empty/);
  });
});
