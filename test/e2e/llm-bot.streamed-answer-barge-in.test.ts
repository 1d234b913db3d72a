import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeepgramServer } from '../support/deepgram-server.js';
import { startE2e, VOXGATE_NUMBER, type E2eSetup } from '../support/e2e-gateway.js';
import { synthesizeSpeech } from '../support/media-signals.js';
import { deferred, OpenAiChatServer } from '../support/openai-chat-server.js';

const FIRST = 'Welcome to Example Corp.';
const SECOND = 'Our offices are open from nine in the morning to five in the evening, every weekday, and we are closed on public holidays.';

describe('an LLM bot on a Plivo call, end to end', () => {
  let llm: OpenAiChatServer;
  let deepgram: DeepgramServer;
  let e2e: E2eSetup;
  beforeAll(async () => {
    llm = await OpenAiChatServer.start();
    deepgram = await DeepgramServer.start('dg-key');
    e2e = await startE2e({
      bots: [{ name: 'assistant', type: 'llm', llm: { baseUrl: llm.baseUrl, apiKey: 'sk-test', model: 'test-model', systemPrompt: 'You answer calls for Example Corp.' }, settings: { bargeIn: true } }],
      routes: [{ number: VOXGATE_NUMBER, bot: 'assistant' }],
      stt: { provider: 'deepgram', deepgram: { apiKey: 'dg-key', baseUrl: deepgram.url } },
    });
  });
  afterAll(async () => {
    await e2e?.close();
    await llm?.close();
    await deepgram?.close();
  });

  it('speaks the first sentence before the second is generated, is barged in, and the model then sees only what was heard', async () => {
    const question = await synthesizeSpeech('What about Saturday?', 8000);
    deepgram.nextUtterance('What about Saturday?');
    const callerHearsFirst = deferred();
    let secondGeneratedBeforeAudio = false;
    let callerHeardAudio = false;
    llm.script(
      async (reply) => {
        reply.contentPieces('Welcome', ' to Example', ' Corp. ');
        await callerHearsFirst.promise; // the caller is already hearing sentence one
        secondGeneratedBeforeAudio = !callerHeardAudio;
        reply.contentPieces(...SECOND.split(/(?<= )/));
        reply.finish();
      },
      (reply) => {
        reply.content('We are closed on Saturdays. Goodbye! ');
        reply.toolCall(0, 'call_1', 'hang_up', { reason: 'answered' });
        reply.finish('tool_calls');
      },
    );
    const ended = e2e.nextCallEnded();
    const call = e2e.sim.dialInbound({ from: '+14155550123', to: VOXGATE_NUMBER, script: { hangupAfterSec: 60 } });
    call.once('heard-audio-start', () => {
      callerHeardAudio = true;
      callerHearsFirst.resolve();
    });
    // When sentence one has been heard in full, sentence two is playing: the caller talks over it.
    const off = e2e.gateway.bus.subscribe('prompt.played', (p) => {
      if (p.text === FIRST && p.heardInFull) {
        off();
        call.party.sayNow(question);
      }
    });
    await call.ended;
    const end = await ended;
    await e2e.gateway.records.flush();

    expect(secondGeneratedBeforeAudio).toBe(false);
    expect(end.reason).toBe('bot-hangup');
    const record = await e2e.gateway.store.calls.getByCarrierCallId(call.callUuid, 'plivo');
    const prompts = await e2e.gateway.store.prompts.listForCall(record!.id);
    expect(prompts.map((p) => [p.text, p.heardInFull])).toEqual([
      [FIRST, true],
      [SECOND, false],
      ['We are closed on Saturdays.', true],
      ['Goodbye!', true],
    ]);
    // The second request carries the assistant's turn cut to what the caller heard, then the question.
    const second = await llm.request(1);
    const assistant = second.body.messages.find((m) => m.role === 'assistant');
    expect(assistant?.content).toMatch(/^Welcome to Example Corp\. Our\b.*…$/); // heard: sentence one and the start of sentence two
    expect(assistant!.content!.length).toBeLessThan(FIRST.length + 1 + SECOND.length);
    expect(second.body.messages.at(-1)).toMatchObject({ role: 'user', content: 'What about Saturday?' });
  });
});
