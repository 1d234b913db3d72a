import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LlmBotConnector } from '../../src/bots/llm/index.js';
import { eventActivity, messageActivity } from '../../src/bots/activity.js';
import { answer, deferred, OpenAiChatServer } from '../support/openai-chat-server.js';
import { BotOutputRecorder } from '../support/llm-bot-recorder.js';

const callInfo = { conversationId: 'call-4', direction: 'inbound' as const, caller: '+15550001', callee: '+15550002' };

function interrupted(activityId: string, heardFraction: number) {
  return eventActivity('promptInterrupted', { value: { activityId, heardFraction } });
}

describe('LLM bot history after a barge-in', () => {
  let server: OpenAiChatServer;
  let bot: LlmBotConnector;
  let out: BotOutputRecorder;
  beforeEach(async () => {
    server = await OpenAiChatServer.start();
    bot = new LlmBotConnector({ name: 'assistant', baseUrl: server.baseUrl, model: 'gpt-4o', systemPrompt: 'sys' });
    out = new BotOutputRecorder(bot);
  });
  afterEach(async () => {
    await server.close();
  });

  it('cuts the assistant message to the heard part of the interrupted sentence and drops the unheard ones', async () => {
    server.script(answer('Our opening hours are nine to five on weekdays.', 'On Saturdays we open at ten.'), answer('Yes, Sunday too.'));
    await bot.start(callInfo);
    const [first, second] = out.activities;
    expect([first.text, second.text]).toEqual(['Our opening hours are nine to five on weekdays.', 'On Saturdays we open at ten.']);

    // The caller heard half of the first sentence (up to "ni" of "nine"), then spoke.
    await bot.send(interrupted(first.id, 0.5));
    await bot.send(messageActivity('and on Sundays?'));
    const next = await server.request(1);
    expect(next.body.messages.slice(1)).toEqual([
      { role: 'assistant', content: 'Our opening hours are…' },
      { role: 'user', content: 'and on Sundays?' },
    ]);
  });

  it('keeps a fully heard sentence and drops only the ones after it', async () => {
    server.script(answer('First part.', 'Second part.', 'Third part.'), answer('Ok.'));
    await bot.start(callInfo);
    expect(bot.heardOnly(out.activities[1].id, 1)).toBe(true);
    await bot.send(messageActivity('stop'));
    expect((await server.request(1)).body.messages[1]).toEqual({ role: 'assistant', content: 'First part. Second part.…' });
  });

  it('does not keep a word the caller heard only part of', async () => {
    server.script(answer('Absolutely wonderful.'), answer('Ok.'));
    await bot.start(callInfo);
    bot.heardOnly(out.activities[0].id, 0.3); // "Absolut" of "Absolutely": not a word heard
    await bot.send(messageActivity('what?'));
    expect((await server.request(1)).body.messages[1]).toEqual({ role: 'assistant', content: '…' });
  });

  it('stops a still-streaming answer on barge-in: no further sentences are emitted or kept', async () => {
    const rest = deferred();
    let clientGone: Promise<void> | undefined;
    server.script(async (reply) => {
      clientGone = reply.clientGone;
      reply.content('Let me tell you about our plans. ');
      await rest.promise;
      reply.content('The basic plan costs ten dollars. ');
      reply.finish();
    }, answer('Sure.'));
    const started = bot.start(callInfo);
    const first = await out.activity(0);

    await bot.send(interrupted(first.id, 0.6));
    await clientGone; // the connector closed the stream
    rest.resolve();
    await started;
    await bot.send(messageActivity('just the price please'));

    expect(out.texts).toEqual(['Let me tell you about our plans.', 'Sure.']);
    expect((await server.request(1)).body.messages.slice(1)).toEqual([
      { role: 'assistant', content: 'Let me tell you…' },
      { role: 'user', content: 'just the price please' },
    ]);
    expect(out.failures).toEqual([]);
  });

  it('cuts the configured greeting too, and ignores an unknown activity id', async () => {
    const greeter = new LlmBotConnector({ name: 'g', baseUrl: server.baseUrl, model: 'm', systemPrompt: 'sys', greeting: 'Welcome to Acme support, how can I help?' });
    const gout = new BotOutputRecorder(greeter);
    server.script(answer('Sure.'));
    await greeter.start(callInfo);
    await greeter.send(interrupted('not-an-activity-of-this-bot', 0.5));
    await greeter.send(interrupted(gout.activities[0].id, 0.4));
    await greeter.send(messageActivity('billing'));
    expect((await server.request(0)).body.messages.slice(1)).toEqual([
      { role: 'assistant', content: 'Welcome to Acme…' },
      { role: 'user', content: 'billing' },
    ]);
  });
});
