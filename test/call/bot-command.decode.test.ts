import { describe, expect, it } from 'vitest';
import { eventActivity, messageActivity } from '../../src/bots/activity.js';
import { decodeBotActivity } from '../../src/call/bot-command.js';

describe('decoding bot activities into call commands', () => {
  it('turns messages into speech, recognizing SSML', () => {
    const plain = messageActivity('Hello.');
    expect(decodeBotActivity(plain)).toEqual({ kind: 'speak', activityId: plain.id, text: 'Hello.', ssml: false, language: undefined });
    expect(decodeBotActivity(messageActivity('<speak>Hi <break time="1s"/></speak>', { language: 'de-DE' }))).toMatchObject({ ssml: true, language: 'de-DE' });
    expect(decodeBotActivity(messageActivity('   '))).toEqual({ kind: 'none' });
  });

  it('decodes playUrl, transfer with SIP headers, hangup and sendDtmf', () => {
    expect(decodeBotActivity(eventActivity('playUrl', { activityParams: { playUrlUrl: 'https://x/a.wav', playUrlMediaFormat: 'wav/lpcm16' } }))).toMatchObject({
      kind: 'play',
      url: 'https://x/a.wav',
      mediaFormat: 'wav/lpcm16',
      label: '[audio https://x/a.wav]',
    });
    expect(decodeBotActivity(eventActivity('handover', { activityParams: { transferTarget: 'sip:agent@pbx', transferSipHeaders: [{ name: 'X-Reason', value: 'sales' }] } }))).toEqual({
      kind: 'transfer',
      target: 'sip:agent@pbx',
      headers: { 'X-Reason': 'sales' },
    });
    expect(decodeBotActivity(eventActivity('hangup'))).toEqual({ kind: 'hangup', reason: 'bot-hangup' });
    expect(decodeBotActivity(eventActivity('sendDtmf', { activityParams: { dtmfDigits: '12x#' } }))).toEqual({ kind: 'sendDtmf', digits: '12#' });
    expect(decodeBotActivity(eventActivity('sendDtmf', { activityParams: { dtmfDigits: 'abc' } }))).toEqual({ kind: 'none' });
  });

  it('names the missing field of a malformed activity, and reports unknown events', () => {
    expect(() => decodeBotActivity(eventActivity('playUrl'))).toThrow('playUrl activity without activityParams.playUrlUrl');
    expect(() => decodeBotActivity(eventActivity('transfer', { activityParams: { transferTarget: '' } }))).toThrow('transfer activity with an empty or non-string activityParams.transferTarget');
    // No target at all is the bot leaving the choice to the call's defaultTransferTarget.
    expect(decodeBotActivity(eventActivity('transfer', { activityParams: { handoverReason: 'wants a person' } }))).toEqual({ kind: 'transfer', headers: {}, reason: 'wants a person' });
    expect(decodeBotActivity(eventActivity('somethingNew'))).toEqual({ kind: 'none', unknownEvent: 'somethingNew' });
  });
});
