import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LlmBotConnector } from '../../src/bots/llm/index.js';
import { messageActivity } from '../../src/bots/activity.js';
import { answer, OpenAiChatServer } from '../support/openai-chat-server.js';
import { BotOutputRecorder } from '../support/llm-bot-recorder.js';

const callInfo = { conversationId: 'call-2', direction: 'inbound' as const, caller: '+15550001', callee: '+15550002' };

describe('LLM bot call-control tools', () => {
  let server: OpenAiChatServer;
  let bot: LlmBotConnector;
  let out: BotOutputRecorder;
  beforeEach(async () => {
    server = await OpenAiChatServer.start();
    bot = new LlmBotConnector({ name: 'assistant', baseUrl: server.baseUrl, model: 'gpt-4o', systemPrompt: 'sys', greeting: 'Hello.' });
    out = new BotOutputRecorder(bot);
    await bot.start(callInfo);
  });
  afterEach(async () => {
    await server.close();
  });

  it('maps transfer_call (arguments streamed in fragments) to a transfer event after the spoken goodbye', async () => {
    server.script((reply) => {
      reply.content('Let me put you through to billing. ');
      reply.toolCall(0, 'call_abc', 'transfer_call', { target: '+1 555 123 4567', reason: 'billing question' }, 4);
      reply.finish('tool_calls');
    });
    await bot.send(messageActivity('I have a billing question'));
    expect(out.activities.slice(1)).toMatchObject([
      { type: 'message', text: 'Let me put you through to billing.' },
      { type: 'event', name: 'transfer', activityParams: { transferTarget: 'tel:+15551234567', handoverReason: 'billing question' } },
    ]);
    expect(server.requests).toHaveLength(1); // the call is leaving: no further completion
    expect(out.failures).toEqual([]);
  });

  it('maps hang_up to a hangup event with the reason', async () => {
    server.script((reply) => {
      reply.toolCall(0, 'call_h', 'hang_up', { reason: 'caller said goodbye' });
      reply.finish('tool_calls');
    });
    await bot.send(messageActivity('bye'));
    expect(out.activities.slice(1)).toMatchObject([{ type: 'event', name: 'hangup', activityParams: { hangupReason: 'caller said goodbye' } }]);
  });

  it('maps send_dtmf to a sendDtmf event and lets the model continue with the tool result in history', async () => {
    server.script(
      (reply) => {
        reply.toolCall(0, 'call_d', 'send_dtmf', { digits: '1234#' }, 2);
        reply.finish('tool_calls');
      },
      answer('I entered the code.'),
    );
    await bot.send(messageActivity('enter 1234 pound'));
    expect(out.activities.slice(1)).toMatchObject([
      { type: 'event', name: 'sendDtmf', activityParams: { dtmfDigits: '1234#' } },
      { type: 'message', text: 'I entered the code.' },
    ]);
    const second = await server.request(1);
    expect(second.body.messages.slice(-2)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_d', type: 'function', function: { name: 'send_dtmf', arguments: '{"digits":"1234#"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_d', content: 'done' },
    ]);
  });

  it('answers invalid tool arguments with an error the model can correct, emitting nothing for them', async () => {
    server.script(
      (reply) => {
        reply.toolCall(0, 'call_bad', 'send_dtmf', { digits: 'abc' });
        reply.finish('tool_calls');
      },
      answer('Sorry, which digits?'),
    );
    await bot.send(messageActivity('press the letters'));
    expect(out.activities.slice(1)).toMatchObject([{ type: 'message', text: 'Sorry, which digits?' }]);
    const second = await server.request(1);
    expect(second.body.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_bad' });
    expect(second.body.messages.at(-1)?.content).toMatch(/^error: send_dtmf needs "digits"/);
  });
});
