import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LlmBotConnector } from '../../src/bots/llm/index.js';
import { deferred, OpenAiChatServer } from '../support/openai-chat-server.js';
import { BotOutputRecorder } from '../support/llm-bot-recorder.js';
import { FakeClock } from '../support/fake-clock.js';

const callInfo = { conversationId: 'call-12', direction: 'inbound' as const, caller: '+15550001', callee: '+15550002' };

describe('LLM bot: an answer stream that stalls', () => {
  let server: OpenAiChatServer;
  let clock: FakeClock;
  beforeEach(async () => {
    server = await OpenAiChatServer.start();
    clock = new FakeClock();
  });
  afterEach(() => server.close());

  const bot = (extra: Partial<ConstructorParameters<typeof LlmBotConnector>[0]> = {}) =>
    new LlmBotConnector({ name: 'assistant', baseUrl: server.baseUrl, model: 'gpt-4o', systemPrompt: 'sys', clock, ...extra });

  it('fails the turn after idleTimeoutMs (default 10 s) of silence mid-answer, keeping the sentence already spoken, and closes the socket', async () => {
    let stalled: Promise<void> | undefined;
    server.script(async (reply) => {
      reply.contentPieces('Your order shipped ', 'on Monday. ', 'It should');
      stalled = reply.stall();
      await stalled;
    });
    const b = bot();
    const out = new BotOutputRecorder(b);
    const started = b.start(callInfo);
    await out.activity(0);
    clock.advance(9_999);
    expect(out.failures).toEqual([]);
    clock.advance(1);
    await started;
    expect((await out.failure()).message).toMatch(
      new RegExp(`^LLM bot "assistant": POST ${server.baseUrl}/chat/completions: the stream stalled: nothing for 10000 ms after \\d+ events \\(idleTimeoutMs\\)$`),
    );
    expect(out.texts).toEqual(['Your order shipped on Monday.']);
    await stalled; // the server saw the client go
  });

  it('a model slow to start (keep-alive comments only) is judged by requestTimeoutMs, not the stream idle deadline', async () => {
    const go = deferred();
    server.script(async (reply) => {
      reply.raw(': keep-alive\n\n');
      await go.promise;
      reply.content('Sure.');
      reply.finish('stop');
    });
    const b = bot({ requestTimeoutMs: 30_000, idleTimeoutMs: 5_000 });
    const out = new BotOutputRecorder(b);
    const started = b.start(callInfo);
    await server.request(0);
    clock.advance(20_000);
    go.resolve();
    await started;
    expect(out.failures).toEqual([]);
    expect(out.texts).toEqual(['Sure.']);
  });

  it('a stream of keep-alive comments and no answer fails after requestTimeoutMs', async () => {
    let gone: Promise<void> | undefined;
    server.script(async (reply) => {
      reply.raw(': keep-alive\n\n');
      gone = reply.stall();
      await gone;
    });
    const b = bot({ requestTimeoutMs: 30_000 });
    const out = new BotOutputRecorder(b);
    const started = b.start(callInfo);
    await server.request(0);
    clock.advance(30_000);
    await started;
    expect((await out.failure()).message).toBe(`LLM bot "assistant": POST ${server.baseUrl}/chat/completions: no answer within 30000 ms`);
    await gone;
  });
});
