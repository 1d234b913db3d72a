import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LlmBotConnector } from '../../src/bots/llm/index.js';
import { eventActivity, messageActivity } from '../../src/bots/activity.js';
import { answer, deferred, OpenAiChatServer } from '../support/openai-chat-server.js';
import { BotOutputRecorder } from '../support/llm-bot-recorder.js';

const callInfo = { conversationId: 'call-1', direction: 'inbound' as const, caller: '+15550001', callee: '+15550002' };

describe('LLM bot streams sentence by sentence', () => {
  let server: OpenAiChatServer;
  beforeEach(async () => {
    server = await OpenAiChatServer.start();
  });
  afterEach(async () => {
    await server.close();
  });

  it('emits the first sentence while the second is still being generated', async () => {
    const secondMayCome = deferred();
    let secondGenerated = false;
    server.script(async (reply) => {
      reply.contentPieces('Hello', ' there', '! I am', ' your assistant. ');
      await secondMayCome.promise;
      secondGenerated = true;
      reply.contentPieces('How can', ' I help', ' you today?');
      reply.finish();
    });
    const bot = new LlmBotConnector({ name: 'assistant', baseUrl: server.baseUrl, apiKey: 'sk-test-123', model: 'gpt-4o-mini', systemPrompt: 'You are helpful.' });
    const out = new BotOutputRecorder(bot);
    const started = bot.start(callInfo);

    const first = await out.activity(0);
    expect(first).toMatchObject({ type: 'message', text: 'Hello there!' });
    const second = await out.activity(1);
    expect(second.text).toBe('I am your assistant.');
    expect(secondGenerated).toBe(false);

    secondMayCome.resolve();
    expect((await out.activity(2)).text).toBe('How can I help you today?');
    await started;
    expect(out.activities).toHaveLength(3);
    expect(out.failures).toEqual([]);
  });

  it('sends the key as Bearer, the model, the system prompt, the tools, and the emitted answer as history', async () => {
    server.script(answer('Welcome to Acme.', 'What do you need?'), answer('Sure.'));
    const bot = new LlmBotConnector({
      name: 'assistant',
      baseUrl: `${server.baseUrl}/`,
      apiKey: 'sk-test-123',
      model: 'llama3.1',
      systemPrompt: 'You are Acme support.',
      temperature: 0.3,
      maxTokens: 200,
    });
    const out = new BotOutputRecorder(bot);
    await bot.start(callInfo);
    await bot.send(messageActivity('I want a refund'));

    const first = await server.request(0);
    expect(first.url).toBe('/v1/chat/completions');
    expect(first.headers.authorization).toBe('Bearer sk-test-123');
    expect(first.body).toMatchObject({ model: 'llama3.1', stream: true, temperature: 0.3, max_tokens: 200 });
    expect(first.body.messages).toEqual([{ role: 'system', content: 'You are Acme support.' }]);
    expect(first.body.tools?.map((t) => t.function.name)).toEqual(['transfer_call', 'hang_up', 'send_dtmf']);

    const second = await server.request(1);
    expect(second.body.messages).toEqual([
      { role: 'system', content: 'You are Acme support.' },
      { role: 'assistant', content: 'Welcome to Acme. What do you need?' },
      { role: 'user', content: 'I want a refund' },
    ]);
    expect(out.texts).toEqual(['Welcome to Acme.', 'What do you need?', 'Sure.']);
  });

  it('speaks a configured greeting without asking the model, and sends no Authorization without a key', async () => {
    server.script(answer('You pressed five.'));
    const bot = new LlmBotConnector({ name: 'local', baseUrl: server.baseUrl, model: 'm', systemPrompt: 'sys', greeting: 'Hi, this is Acme.' });
    const out = new BotOutputRecorder(bot);
    await bot.start(callInfo);
    expect(out.texts).toEqual(['Hi, this is Acme.']);
    expect(server.requests).toHaveLength(0);

    await bot.send(eventActivity('DTMF', { value: '5' }));
    const request = await server.request(0);
    expect(request.headers.authorization).toBeUndefined();
    expect(request.body.messages.slice(1)).toEqual([
      { role: 'assistant', content: 'Hi, this is Acme.' },
      { role: 'user', content: '[caller pressed 5]' },
    ]);
    expect(out.texts).toEqual(['Hi, this is Acme.', 'You pressed five.']);
  });
});
