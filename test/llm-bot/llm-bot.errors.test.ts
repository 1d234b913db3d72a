import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LlmBotConnector } from '../../src/bots/llm/index.js';
import { messageActivity } from '../../src/bots/activity.js';
import { answer, deferred, OpenAiChatServer } from '../support/openai-chat-server.js';
import { BotOutputRecorder } from '../support/llm-bot-recorder.js';
import { FakeClock } from '../support/fake-clock.js';

const callInfo = { conversationId: 'call-6', direction: 'inbound' as const, caller: '+15550001', callee: '+15550002' };

describe('LLM bot errors become failure events', () => {
  let server: OpenAiChatServer;
  beforeEach(async () => {
    server = await OpenAiChatServer.start();
  });
  afterEach(async () => {
    await server.close();
  });

  function bot(extra: Partial<ConstructorParameters<typeof LlmBotConnector>[0]> = {}): LlmBotConnector {
    return new LlmBotConnector({ name: 'assistant', baseUrl: server.baseUrl, apiKey: 'sk-wrong', model: 'gpt-4o', systemPrompt: 'sys', ...extra });
  }

  it('401 names the URL, the status and the server message; start() does not throw', async () => {
    server.script((reply) => reply.error(401, 'Incorrect API key provided: sk-wrong.', 'invalid_request_error'));
    const b = bot();
    const out = new BotOutputRecorder(b);
    await expect(b.start(callInfo)).resolves.toBeUndefined();
    const failure = await out.failure();
    expect(failure.message).toBe(
      `LLM bot "assistant": POST ${server.baseUrl}/chat/completions answered 401 Unauthorized: Incorrect API key provided: sk-wrong.`,
    );
    expect(out.activities).toEqual([]);
  });

  it('429 and 500 are reported with their status', async () => {
    server.script(
      (reply) => reply.error(429, 'Rate limit reached for gpt-4o', 'requests'),
      (reply) => reply.error(503, 'The server is overloaded', 'server_error'),
    );
    const b = bot({ greeting: 'Hi.' });
    const out = new BotOutputRecorder(b);
    await b.start(callInfo);
    await b.send(messageActivity('one'));
    await b.send(messageActivity('two'));
    expect(out.failures.map((f) => f.message)).toEqual([
      expect.stringContaining('answered 429 Too Many Requests: Rate limit reached for gpt-4o'),
      expect.stringContaining('answered 503 Service Unavailable: The server is overloaded'),
    ]);
  });

  it('malformed SSE data fails the turn with a clear message, keeping what was spoken before it', async () => {
    server.script((reply) => {
      reply.content('Fine. ');
      reply.raw('data: {"id":"chatcmpl-x","object":"chat.completion.chunk","choices":[{"delta":{"content":"oops"\n\n');
      reply.end();
    });
    const b = bot();
    const out = new BotOutputRecorder(b);
    await expect(b.start(callInfo)).resolves.toBeUndefined();
    expect((await out.failure()).message).toMatch(
      new RegExp(`^LLM bot "assistant": POST ${server.baseUrl}/chat/completions: malformed SSE data \\(not JSON\\): \\{"id":"chatcmpl-x"`),
    );
    expect(out.texts).toEqual(['Fine.']);
  });

  it('a stream that ends without [DONE] or finish_reason is a failure, not a silent half answer', async () => {
    server.script((reply) => {
      reply.content('Half an ans');
      reply.end();
    });
    const b = bot();
    const out = new BotOutputRecorder(b);
    await b.start(callInfo);
    expect((await out.failure()).message).toContain('the stream ended without a finish_reason or [DONE]');
  });

  it('an error object inside the stream is reported', async () => {
    server.script((reply) => {
      reply.raw('data: {"error":{"message":"The model is overloaded","type":"server_error"}}\n\n');
      reply.end();
    });
    const b = bot();
    const out = new BotOutputRecorder(b);
    await b.start(callInfo);
    expect((await out.failure()).message).toContain('the stream reported an error: The model is overloaded');
  });

  it('times out when the server stops sending (idle timeout on the fake clock)', async () => {
    const clock = new FakeClock();
    const hold = deferred();
    let closed: Promise<void> | undefined;
    server.script(async (reply) => {
      closed = reply.clientGone;
      reply.content('Let me check. ');
      await hold.promise;
    });
    const b = bot({ clock, requestTimeoutMs: 30_000, idleTimeoutMs: 10_000 });
    const out = new BotOutputRecorder(b);
    const started = b.start(callInfo);
    await out.activity(0);
    clock.advance(9_999);
    expect(out.failures).toEqual([]);
    clock.advance(1);
    await started;
    expect((await out.failure()).message).toMatch(new RegExp(`^LLM bot "assistant": POST ${server.baseUrl}/chat/completions: the stream stalled: nothing for 10000 ms after \\d+ events? \\(idleTimeoutMs\\)$`));
    await closed;
    hold.resolve();
  });

  it('an unreachable server is a failure naming the URL', async () => {
    const closedServer = await OpenAiChatServer.start();
    const url = closedServer.baseUrl;
    await closedServer.close();
    const b = new LlmBotConnector({ name: 'gone', baseUrl: url, model: 'm', systemPrompt: 's' });
    const out = new BotOutputRecorder(b);
    await b.start(callInfo);
    expect((await out.failure()).message).toMatch(new RegExp(`^LLM bot "gone": POST ${url}/chat/completions failed: fetch failed`));
  });

  it('recovers on the next turn after a failure', async () => {
    server.script((reply) => reply.error(500, 'boom', 'server_error'), answer('Back again.'));
    const b = bot();
    const out = new BotOutputRecorder(b);
    await b.start(callInfo);
    await b.send(messageActivity('hello?'));
    expect(out.failures).toHaveLength(1);
    expect(out.texts).toEqual(['Back again.']);
  });
});

describe('LLM bot and a throwing activities listener', () => {
  it('keeps streaming and does not blame the LLM server', async () => {
    const server = await OpenAiChatServer.start();
    try {
      server.script(answer('One.', 'Two.'));
      const b = new LlmBotConnector({ name: 'b', baseUrl: server.baseUrl, model: 'm', systemPrompt: 's' });
      const out = new BotOutputRecorder(b);
      b.on('activities', () => {
        throw new Error('listener bug');
      });
      await b.start(callInfo);
      expect(out.texts).toEqual(['One.', 'Two.']);
      expect(out.failures).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe('LLM bot configuration', () => {
  it('rejects a baseUrl that is not an absolute http(s) URL, naming the bot', () => {
    expect(() => new LlmBotConnector({ name: 'cfg', baseUrl: 'localhost:11434/v1', model: 'm', systemPrompt: 's' })).toThrow(
      'LLM bot "cfg": baseUrl "localhost:11434/v1" is not an absolute http(s) URL',
    );
    expect(() => new LlmBotConnector({ name: 'cfg', baseUrl: '/v1', model: 'm', systemPrompt: 's' })).toThrow(/not an absolute http\(s\) URL/);
  });
});
