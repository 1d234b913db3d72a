import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BotApiServer } from '../support/bot-api-server.js';
import { DeepgramServer } from '../support/deepgram-server.js';
import { startE2e, VOXGATE_NUMBER, type E2eSetup } from '../support/e2e-gateway.js';
import { synthesizeSpeech } from '../support/media-signals.js';

describe('a Bot API bot on a Plivo call, with caller speech through Deepgram, end to end', () => {
  let bot: BotApiServer;
  let deepgram: DeepgramServer;
  let e2e: E2eSetup;
  beforeAll(async () => {
    bot = await BotApiServer.start({ token: 'bot-token', greeting: 'Hello, I am the echo bot.', hangupKeyword: 'goodbye' });
    deepgram = await DeepgramServer.start('dg-key');
    e2e = await startE2e({
      bots: [{ name: 'echo', type: 'bot-api', botApi: { url: bot.botUrl, token: 'bot-token' } }],
      routes: [{ number: VOXGATE_NUMBER, bot: 'echo' }],
      stt: { provider: 'deepgram', deepgram: { apiKey: 'dg-key', baseUrl: deepgram.url } },
    });
  });
  afterAll(async () => {
    await e2e?.close();
    await bot?.close();
    await deepgram?.close();
  });

  it('greets, echoes what the caller said, and hangs up when the caller says goodbye', async () => {
    const [hello, goodbye] = await Promise.all([synthesizeSpeech('Hello there, how are you?', 8000), synthesizeSpeech('Goodbye now.', 8000)]);
    // Deepgram cannot be reached here: its double answers each finalized utterance with what the caller said.
    deepgram.nextUtterance('Hello there, how are you?', { interim: ['Hello there'] });
    deepgram.nextUtterance('Goodbye now.');
    const ended = e2e.nextCallEnded();
    const call = e2e.sim.dialInbound({ from: '+14155550123', to: VOXGATE_NUMBER, script: { hangupAfterSec: 60 } });
    // The caller answers each time the bot has finished speaking.
    let turns = 0;
    call.on('heard-audio-stop', () => {
      turns++;
      if (turns === 1) call.party.sayNow(hello);
      if (turns === 2) call.party.sayNow(goodbye);
    });
    const result = await call.ended;
    const end = await ended;
    await e2e.gateway.records.flush();

    expect(end).toMatchObject({ reason: 'bot-hangup', side: 'gateway' });
    expect(result.cause).toBe('Normal Hangup');
    const record = await e2e.gateway.store.calls.getByCarrierCallId(call.callUuid, 'plivo');
    const lines = await e2e.gateway.store.transcripts.listForCall(record!.id);
    expect(lines.map((l) => `${l.speaker}: ${l.text}`)).toEqual([
      'bot: Hello, I am the echo bot.',
      'caller: Hello there, how are you?',
      'bot: You said: Hello there, how are you?',
      'caller: Goodbye now.',
      'bot: Goodbye!',
    ]);
    // The bot conversation was closed with the Bot API reason code, once.
    const disconnects = bot.requests.filter((r) => r.kind === 'disconnect');
    expect(disconnects.map((r) => (r.body as { reasonCode?: string }).reasonCode)).toEqual(['bot-disconnected']);
    // Deepgram got the caller's real audio, in the call's format.
    const stream = await deepgram.connection(0);
    expect(stream.audio().length).toBeGreaterThan(8000 * 2); // more than a second of PCM16 at 8 kHz
  });
});
