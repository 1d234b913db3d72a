import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LlmBotConnector } from '../../src/bots/llm/index.js';
import { messageActivity } from '../../src/bots/activity.js';
import { answer, OpenAiChatServer } from '../support/openai-chat-server.js';
import { BotOutputRecorder } from '../support/llm-bot-recorder.js';
import { FakeClock } from '../support/fake-clock.js';

const callInfo = { conversationId: 'call-7', direction: 'inbound' as const, caller: '+15550001', callee: '+15550002' };

/** An HTTP tool endpoint that holds every request open until the test closes it. */
async function startSilentApi(): Promise<{ server: Server; url: string; held: ServerResponse[]; arrived: Promise<void> }> {
  const held: ServerResponse[] = [];
  let signalArrived!: () => void;
  const arrived = new Promise<void>((r) => (signalArrived = r));
  const server = createServer((_req, res) => {
    held.push(res);
    signalArrived();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slow`, held, arrived };
}

describe('LLM bot against server variants', () => {
  let server: OpenAiChatServer;
  beforeEach(async () => {
    server = await OpenAiChatServer.start();
  });
  afterEach(async () => {
    await server.close();
  });

  it('Azure OpenAI style: key in the api-key header and api-version in the query', async () => {
    server.script(answer('Hello from Azure.'));
    const bot = new LlmBotConnector({
      name: 'azure',
      baseUrl: `${server.baseUrl}/openai/deployments/gpt4o`,
      apiKey: 'azure-key',
      apiKeyHeader: 'api-key',
      query: { 'api-version': '2024-06-01' },
      model: 'gpt-4o',
      systemPrompt: 's',
    });
    const out = new BotOutputRecorder(bot);
    await bot.start(callInfo);
    const request = await server.request(0);
    expect(request.url).toBe('/v1/openai/deployments/gpt4o/chat/completions?api-version=2024-06-01');
    expect(request.headers['api-key']).toBe('azure-key');
    expect(request.headers.authorization).toBeUndefined();
    expect(out.texts).toEqual(['Hello from Azure.']);
  });

  it('accepts a server that ignores stream:true and answers one JSON completion', async () => {
    const json = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content: 'One. Two.' }, finish_reason: 'stop' }],
        }),
      );
    });
    await new Promise<void>((resolve) => json.listen(0, '127.0.0.1', resolve));
    try {
      const bot = new LlmBotConnector({ name: 'plain', baseUrl: `http://127.0.0.1:${(json.address() as AddressInfo).port}/v1`, model: 'm', systemPrompt: 's' });
      const out = new BotOutputRecorder(bot);
      await bot.start(callInfo);
      expect(out.texts).toEqual(['One.', 'Two.']);
    } finally {
      await new Promise((resolve) => json.close(resolve));
    }
  });

  it('assembles two tool calls whose fragments are interleaved by index', async () => {
    server.script((reply) => {
      reply.toolCallDelta(0, { id: 'call_a', name: 'send_dtmf', arguments: '' });
      reply.toolCallDelta(1, { id: 'call_b', name: 'hang_', arguments: '' });
      reply.toolCallDelta(0, { arguments: '{"dig' });
      reply.toolCallDelta(1, { name: 'up', arguments: '{"reason":' });
      reply.toolCallDelta(0, { arguments: 'its":"9"}' });
      reply.toolCallDelta(1, { arguments: '"done"}' });
      reply.finish('tool_calls');
    });
    const bot = new LlmBotConnector({ name: 'b', baseUrl: server.baseUrl, model: 'm', systemPrompt: 's', greeting: 'Hi.' });
    const out = new BotOutputRecorder(bot);
    await bot.start(callInfo);
    await bot.send(messageActivity('press nine and hang up'));
    expect(out.activities.slice(1)).toMatchObject([
      { type: 'event', name: 'sendDtmf', activityParams: { dtmfDigits: '9' } },
      { type: 'event', name: 'hangup', activityParams: { hangupReason: 'done' } },
    ]);
    expect(server.requests).toHaveLength(1); // hang up ends the turn even though send_dtmf alone would continue
  });

  it('accepts whole tool calls without an index, as Ollama streams them', async () => {
    server.script((reply) => {
      reply.raw(
        `data: ${JSON.stringify({
          id: 'chatcmpl-o',
          object: 'chat.completion.chunk',
          created: 1,
          model: 'llama3.1',
          choices: [
            {
              index: 0,
              delta: {
                role: 'assistant',
                content: '',
                tool_calls: [
                  { id: 'call_1', type: 'function', function: { name: 'send_dtmf', arguments: '{"digits":"42"}' } },
                  { id: 'call_2', type: 'function', function: { name: 'transfer_call', arguments: '{"target":"sip:desk@example.com"}' } },
                ],
              },
              finish_reason: null,
            },
          ],
        })}\n\n`,
      );
      reply.finish('tool_calls');
    });
    const bot = new LlmBotConnector({ name: 'ollama', baseUrl: server.baseUrl, model: 'llama3.1', systemPrompt: 's', greeting: 'Hi.' });
    const out = new BotOutputRecorder(bot);
    await bot.start(callInfo);
    await bot.send(messageActivity('extension 42 then the front desk'));
    expect(out.activities.slice(1)).toMatchObject([
      { type: 'event', name: 'sendDtmf', activityParams: { dtmfDigits: '42' } },
      { type: 'event', name: 'transfer', activityParams: { transferTarget: 'sip:desk@example.com' } },
    ]);
  });

  it('an HTTP tool that does not answer in time gives the model an error to apologise with', async () => {
    const api = await startSilentApi();
    const clock = new FakeClock();
    try {
      server.script((reply) => {
        reply.toolCall(0, 'call_s', 'lookup', { q: 'x' });
        reply.finish('tool_calls');
      }, answer('Sorry, the system is slow today.'));
      const bot = new LlmBotConnector({
        name: 'b',
        baseUrl: server.baseUrl,
        model: 'm',
        systemPrompt: 's',
        greeting: 'Hi.',
        clock,
        requestTimeoutMs: 5_000,
        tools: [{ name: 'lookup', description: 'd', parameters: { type: 'object' }, url: api.url }],
      });
      const out = new BotOutputRecorder(bot);
      await bot.start(callInfo);
      const turn = bot.send(messageActivity('look it up'));
      await api.arrived;
      clock.advance(5_000);
      await turn;
      expect((await server.request(1)).body.messages.at(-1)).toEqual({
        role: 'tool',
        tool_call_id: 'call_s',
        content: `error: POST ${api.url}: no answer within 5000 ms`,
      });
      expect(out.texts.at(-1)).toBe('Sorry, the system is slow today.');
      expect(out.failures).toEqual([]);
    } finally {
      api.server.closeAllConnections();
      await new Promise((resolve) => api.server.close(resolve));
    }
  });

  it('the caller speaking during an HTTP tool call cancels it and keeps the history valid', async () => {
    const api = await startSilentApi();
    try {
      server.script((reply) => {
        reply.toolCall(0, 'call_s', 'lookup', { q: 'x' });
        reply.finish('tool_calls');
      }, answer('Okay.'));
      const bot = new LlmBotConnector({
        name: 'b',
        baseUrl: server.baseUrl,
        model: 'm',
        systemPrompt: 's',
        greeting: 'Hi.',
        tools: [{ name: 'lookup', description: 'd', parameters: { type: 'object' }, url: api.url }],
      });
      const out = new BotOutputRecorder(bot);
      await bot.start(callInfo);
      const first = bot.send(messageActivity('look it up'));
      await api.arrived;
      await Promise.all([first, bot.send(messageActivity('forget it'))]);
      expect((await server.request(1)).body.messages.slice(-3)).toMatchObject([
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_s' }] },
        { role: 'tool', tool_call_id: 'call_s', content: 'error: cancelled, the caller spoke' },
        { role: 'user', content: 'forget it' },
      ]);
      expect(out.texts).toEqual(['Hi.', 'Okay.']);
      expect(out.failures).toEqual([]);
    } finally {
      api.server.closeAllConnections();
      await new Promise((resolve) => api.server.close(resolve));
    }
  });
});
