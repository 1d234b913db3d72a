import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LlmBotConnector } from '../../src/bots/llm/index.js';
import { messageActivity } from '../../src/bots/activity.js';
import { answer, OpenAiChatServer } from '../support/openai-chat-server.js';
import { BotOutputRecorder } from '../support/llm-bot-recorder.js';

const callInfo = { conversationId: 'call-3', direction: 'inbound' as const, caller: '+15550001', callee: '+15550002' };

interface ToolHit {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The user's HTTP API behind a tool: records each call and answers a fixed account balance. */
async function startBalanceApi(): Promise<{ server: Server; url: string; hits: ToolHit[] }> {
  const hits: ToolHit[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (req.headers['x-api-token'] !== 'secret') {
        res.writeHead(403).end('forbidden');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"balance":42.5,"currency":"USD"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/balance`, hits };
}

describe('LLM bot user-defined HTTP tools', () => {
  let llm: OpenAiChatServer;
  let api: Awaited<ReturnType<typeof startBalanceApi>>;
  beforeEach(async () => {
    llm = await OpenAiChatServer.start();
    api = await startBalanceApi();
  });
  afterEach(async () => {
    await llm.close();
    await new Promise((resolve) => api.server.close(resolve));
  });

  function balanceBot(method?: 'GET' | 'POST', token = 'secret'): LlmBotConnector {
    return new LlmBotConnector({
      name: 'bank',
      baseUrl: llm.baseUrl,
      model: 'gpt-4o',
      systemPrompt: 'You are a bank assistant.',
      greeting: 'Welcome to the bank.',
      tools: [
        {
          name: 'get_balance',
          description: 'The balance of an account',
          parameters: { type: 'object', properties: { account: { type: 'string' } }, required: ['account'] },
          url: api.url,
          method,
          headers: { 'x-api-token': token },
        },
      ],
    });
  }

  it('calls the tool URL with the model arguments and continues the answer with its result', async () => {
    llm.script(
      (reply) => {
        reply.content('One moment. ');
        reply.toolCall(0, 'call_bal', 'get_balance', { account: '12-34' }, 5);
        reply.finish('tool_calls');
      },
      answer('Your balance is 42.50 dollars.'),
    );
    const bot = balanceBot();
    const out = new BotOutputRecorder(bot);
    await bot.start(callInfo);
    await bot.send(messageActivity("what's my balance on account 12-34"));

    expect(api.hits).toHaveLength(1);
    expect(api.hits[0]).toMatchObject({ method: 'POST', url: '/balance', body: '{"account":"12-34"}' });
    expect(api.hits[0].headers['content-type']).toBe('application/json');

    const first = await llm.request(0);
    expect(first.body.tools?.map((t) => t.function.name)).toContain('get_balance');
    expect(first.body.tools?.find((t) => t.function.name === 'get_balance')?.function.parameters).toEqual({
      type: 'object',
      properties: { account: { type: 'string' } },
      required: ['account'],
    });
    const second = await llm.request(1);
    expect(second.body.messages.slice(-2)).toEqual([
      {
        role: 'assistant',
        content: 'One moment.',
        tool_calls: [{ id: 'call_bal', type: 'function', function: { name: 'get_balance', arguments: '{"account":"12-34"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_bal', content: '{"balance":42.5,"currency":"USD"}' },
    ]);
    expect(out.texts).toEqual(['Welcome to the bank.', 'One moment.', 'Your balance is 42.50 dollars.']);
    expect(out.failures).toEqual([]);
  });

  it('sends GET tool arguments as query parameters, and hands an HTTP error back to the model', async () => {
    llm.script(
      (reply) => {
        reply.toolCall(0, 'call_g', 'get_balance', { account: '77' });
        reply.finish('tool_calls');
      },
      answer('Sorry, I cannot look that up right now.'),
    );
    const bot = balanceBot('GET', 'wrong');
    const out = new BotOutputRecorder(bot);
    await bot.start(callInfo);
    await bot.send(messageActivity('balance of 77'));

    expect(api.hits[0]).toMatchObject({ method: 'GET', url: '/balance?account=77', body: '' });
    const second = await llm.request(1);
    expect(second.body.messages.at(-1)).toEqual({
      role: 'tool',
      tool_call_id: 'call_g',
      content: `error: GET ${api.url} answered 403 Forbidden: forbidden`,
    });
    expect(out.texts.at(-1)).toBe('Sorry, I cannot look that up right now.');
  });

  it('stops after the bounded number of tool rounds and reports a failure', async () => {
    const loop = (reply: import('../support/openai-chat-server.js').ChatStreamReply) => {
      reply.toolCall(0, `call_${llm.requests.length}`, 'get_balance', { account: '1' });
      reply.finish('tool_calls');
    };
    llm.script(loop, loop, loop);
    const bot = new LlmBotConnector({
      name: 'loopy',
      baseUrl: llm.baseUrl,
      model: 'm',
      systemPrompt: 's',
      greeting: 'Hi.',
      maxToolRounds: 2,
      tools: [{ name: 'get_balance', description: 'd', parameters: { type: 'object' }, url: api.url, headers: { 'x-api-token': 'secret' } }],
    });
    const out = new BotOutputRecorder(bot);
    await bot.start(callInfo);
    await bot.send(messageActivity('balance'));
    expect(llm.requests).toHaveLength(3);
    expect((await out.failure()).message).toMatch(/called tools 3 times in one turn/);
  });
});
