import { describe, expect, it } from 'vitest';
import { settle, testCallInfo } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';

const info = { ...testCallInfo, extra: { 'X-PH-AccountId': 'A-77', 'X-PH-Queue': 'gold', Diversion: 'sip:+15550001111@carrier' } };

describe('how the conversation opens', () => {
  it('by default the bot gets its usual start activity with every carrier extra header', async () => {
    const { bot } = await startSession({ info });
    expect(bot.startInfo?.initialActivity).toBeUndefined();
    expect(bot.startInfo?.parameters).toEqual(info.extra);
    expect(bot.startInfo).toMatchObject({ caller: info.from, callee: info.to, conversationId: info.callId });
  });

  it('sipHeadersToBot passes only the listed headers, matched regardless of case', async () => {
    const { bot } = await startSession({ info, settings: { sipHeadersToBot: ['x-ph-accountid', 'X-Missing'] } });
    expect(bot.startInfo?.parameters).toEqual({ 'x-ph-accountid': 'A-77' });
  });

  it('initialActivity "none" opens the conversation without a start activity', async () => {
    const { bot } = await startSession({ settings: { initialActivity: 'none' } });
    expect(bot.startInfo?.initialActivity).toBeNull();
  });

  it('a configured initial activity replaces start, with its placeholders filled from the call', async () => {
    const { bot } = await startSession({ info, settings: { initialActivity: { type: 'event', name: 'welcome', value: { from: '${caller}', account: '${X-PH-AccountId}' } } } });
    expect(bot.startInfo?.initialActivity).toMatchObject({ type: 'event', name: 'welcome', value: { from: info.from, account: 'A-77' } });
    expect(bot.startInfo?.initialActivity?.id).toEqual(expect.any(String));
  });

  it('an initial activity naming an unknown placeholder ends the call as a configuration error', async () => {
    const { session, leg } = await startSession({ settings: { initialActivity: { name: 'start', value: '${nope}' } } });
    expect(session.endedWith?.reason).toBe('config-error');
    expect(leg.count('hangup')).toBe(1);
  });

  it('a dialed-out call gives the bot outboundTarget and dialoutMetadata, and dialoutInitiated before start when asked for', async () => {
    const outboundInfo = { ...testCallInfo, direction: 'outbound' as const, outbound: { target: '+14155550201', metadata: { ticket: 'T-1' } } };
    const { bot } = await startSession({ info: outboundInfo, settings: { sendEventsToBot: ['dialoutInitiated'] } });
    expect(bot.startInfo?.parameters).toMatchObject({ outboundTarget: '+14155550201', dialoutMetadata: { ticket: 'T-1' } });
    expect(bot.startInfo?.prelude?.map((a) => [a.type, a.name, a.value])).toEqual([['event', 'dialoutInitiated', { target: '+14155550201' }]]);
    const plain = await startSession({ info: outboundInfo });
    expect(plain.bot.startInfo?.prelude).toBeUndefined();
  });

  it('initialMessageToBot is sent as a text message right after the start', async () => {
    const { bot } = await startSession({ settings: { initialMessageToBot: 'hello' } });
    expect(bot.received.map((a) => [a.type, a.text])).toEqual([['message', 'hello']]);
  });

  it('welcomeMessage is spoken by the gateway before the bot’s own greeting', async () => {
    const { audio, transcript } = await startSession({ settings: { welcomeMessage: 'Welcome to Acme.' }, greeting: [{ text: 'How can I help?' }] });
    await settle();
    expect(audio.spoken.map((r) => r.text)).toEqual(['Welcome to Acme.', 'How can I help?']);
    expect(transcript().map((t) => [t.who, t.text])).toEqual([
      ['bot', 'Welcome to Acme.'],
      ['bot', 'How can I help?'],
    ]);
  });
});
