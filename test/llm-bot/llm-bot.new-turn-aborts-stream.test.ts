import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LlmBotConnector } from '../../src/bots/llm/index.js';
import { messageActivity } from '../../src/bots/activity.js';
import { answer, deferred, OpenAiChatServer } from '../support/openai-chat-server.js';
import { BotOutputRecorder } from '../support/llm-bot-recorder.js';

const callInfo = { conversationId: 'call-5', direction: 'inbound' as const, caller: '+15550001', callee: '+15550002' };

describe('LLM bot: a new user turn while the answer is streaming', () => {
  let server: OpenAiChatServer;
  beforeEach(async () => {
    server = await OpenAiChatServer.start();
  });
  afterEach(async () => {
    await server.close();
  });

  it('aborts the old stream and keeps only what was already emitted in the history', async () => {
    const more = deferred();
    let oldStreamClosed: Promise<void> | undefined;
    server.script(
      answer('Welcome.'),
      async (reply) => {
        oldStreamClosed = reply.clientGone;
        reply.contentPieces('Once upon', ' a time. ', 'There was a', ' little');
        await more.promise;
        reply.content(' fox. ');
        reply.finish();
      },
      answer('Okay, never mind.'),
    );
    const bot = new LlmBotConnector({ name: 'storyteller', baseUrl: server.baseUrl, model: 'm', systemPrompt: 'Tell stories.' });
    const out = new BotOutputRecorder(bot);
    await bot.start(callInfo);
    const story = bot.send(messageActivity('tell me a story'));
    await out.activity(1);

    const cancel = bot.send(messageActivity('actually, never mind'));
    await oldStreamClosed;
    more.resolve();
    await Promise.all([story, cancel]);

    expect(out.texts).toEqual(['Welcome.', 'Once upon a time.', 'Okay, never mind.']);
    expect((await server.request(2)).body.messages).toEqual([
      { role: 'system', content: 'Tell stories.' },
      { role: 'assistant', content: 'Welcome.' },
      { role: 'user', content: 'tell me a story' },
      { role: 'assistant', content: 'Once upon a time.' },
      { role: 'user', content: 'actually, never mind' },
    ]);
    expect(out.failures).toEqual([]);
  });

  it('end() aborts a running stream without a failure', async () => {
    let closed: Promise<void> | undefined;
    const never = deferred();
    server.script(async (reply) => {
      closed = reply.clientGone;
      reply.content('Hello ');
      await never.promise;
    });
    const bot = new LlmBotConnector({ name: 'b', baseUrl: server.baseUrl, model: 'm', systemPrompt: 's' });
    const out = new BotOutputRecorder(bot);
    const started = bot.start(callInfo);
    await server.request(0);
    await bot.end('client-disconnected');
    await started;
    await closed;
    never.resolve();
    expect(out.activities).toEqual([]);
    expect(out.failures).toEqual([]);
  });
});
