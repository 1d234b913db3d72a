import { afterEach, describe, expect, it } from 'vitest';
import { eventActivity, messageActivity } from '../../src/bots/activity.js';
import { decodeBotActivity } from '../../src/call/bot-command.js';
import { callInfo, DirectLineFixture } from './direct-line-fixture.js';

const fx = new DirectLineFixture();
afterEach(() => fx.cleanup());

async function startedCall(extra = {}) {
  const server = await fx.startServer();
  const { bot, emitted } = fx.connector(extra);
  await bot.start(callInfo);
  await emitted.activity((a) => a.type === 'message');
  return { server, bot, emitted, conversationId: server.onlyConversation() };
}

describe('Direct Line conversation', () => {
  it('sends what the caller said as a message from the caller and speaks the bot reply', async () => {
    const { server, bot, emitted, conversationId } = await startedCall({ locale: 'en-US' });
    await bot.send(messageActivity('what are your opening hours', { parameters: { confidence: 0.91 } }));
    const reply = await emitted.activity((a) => a.text === 'You said: what are your opening hours');
    expect(decodeBotActivity(reply)).toMatchObject({ kind: 'speak', ssml: false });

    const sent = server.transcript(conversationId).find((a) => a.type === 'message' && a.from?.id === 'voxgate-call-dl-1');
    expect(sent).toMatchObject({ text: 'what are your opening hours', locale: 'en-US', from: { name: 'Ada' }, channelData: { confidence: 0.91 } });
    // Direct Line echoes our own message on the stream; the caller must not hear it.
    expect(emitted.activities.some((a) => a.text === 'what are your opening hours')).toBe(false);
  });

  it('sends DTMF as event DTMF with the digits as value', async () => {
    const { server, bot, emitted, conversationId } = await startedCall();
    await bot.send(eventActivity('DTMF', { value: '42#' }));
    await emitted.activity((a) => a.text === 'You pressed 42#.');
    expect(server.transcript(conversationId).find((a) => a.name === 'DTMF')).toMatchObject({ type: 'event', value: '42#' });
  });

  it('maps a hangup event with channelData.activityParams to a hangup with its reason', async () => {
    const { bot, emitted } = await startedCall();
    await bot.send(messageActivity('ok goodbye'));
    const hangup = await emitted.activity((a) => a.name === 'hangup');
    expect(decodeBotActivity(hangup)).toEqual({ kind: 'hangup', reason: 'caller said goodbye' });
    expect(emitted.activities.map((a) => a.text ?? a.name).slice(-2)).toEqual(['Goodbye!', 'hangup']);
  });

  it('maps a transfer event to a transfer to activityParams.transferTarget, and prefers speak over text', async () => {
    const { bot, emitted } = await startedCall();
    await bot.send(messageActivity('an agent please'));
    const transfer = await emitted.activity((a) => a.name === 'transfer');
    expect(decodeBotActivity(transfer)).toEqual({ kind: 'transfer', target: 'tel:+15550100', headers: {}, reason: 'caller asked' });
    const said = emitted.activities.find((a) => a.type === 'message' && a.text?.includes('agent'));
    expect(decodeBotActivity(said!)).toMatchObject({ kind: 'speak', ssml: true, text: '<speak>Transferring you to an <emphasis>agent</emphasis>.</speak>' });
  });

  it("ends the call when the bot sends endOfConversation, and passes other events' settings through", async () => {
    const { server, bot, emitted, conversationId } = await startedCall();
    server.push(conversationId, { type: 'event', name: 'playUrl', activityParams: { playUrlUrl: 'https://media.example/hold.wav' }, channelData: { activityParams: { playUrlMediaFormat: 'wav/lpcm16' } } });
    const play = await emitted.activity((a) => a.name === 'playUrl');
    expect(decodeBotActivity(play)).toMatchObject({ kind: 'play', url: 'https://media.example/hold.wav', mediaFormat: 'wav/lpcm16' });
    server.push(conversationId, { type: 'message', text: 'Speaking slower now.', locale: 'en-GB', channelData: { sessionParams: { bargeIn: false } } });
    const config = await emitted.activity((a) => a.text === 'Speaking slower now.');
    expect(config).toMatchObject({ language: 'en-GB', sessionParams: { bargeIn: false } });

    await bot.send(messageActivity('finish'));
    const end = await emitted.activity((a) => a.name === 'hangup');
    expect(decodeBotActivity(end)).toEqual({ kind: 'hangup', reason: 'completedSuccessfully' });
  });
});
