import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREETING, SUPPORT, promptPlayed } from '../support/e2e-fixtures.js';
import { startWebRtcE2e, type WebRtcE2e } from './webrtc-e2e.js';

describe('the page data channel', () => {
  let e2e: WebRtcE2e;
  beforeAll(async () => {
    e2e = await startWebRtcE2e();
  });
  afterAll(() => e2e?.close());

  it('takes keypad digits as keys, answers bad messages with an error while the call goes on, and delivers the call events in order', async () => {
    const ended = e2e.nextCallEnded();
    const greeted = promptPlayed(e2e.gateway, GREETING);
    const caller = await e2e.call();
    await caller.connected();
    await greeted;

    caller.sendPage('{not json');
    expect((await caller.nextEvent('error')).error).toMatch(/^page message is not JSON/);
    caller.sendPage({ type: 'dtmf', digits: 'x1' });
    expect((await caller.nextEvent('error', (e) => e.error.startsWith('dtmf'))).error).toBe('dtmf needs "digits": 1 to 32 of 0-9 * # A-D');
    caller.sendPage({ type: 'transfer', target: '+15550100' });
    expect((await caller.nextEvent('error', (e) => e.error.startsWith('unknown'))).error).toBe('unknown page message type "transfer" (expected "dtmf" or "hangup")');

    // The call is still up and listening: the keypad's 2 takes it to support.
    caller.pressKeypad('2');
    const end = await ended;
    expect(end).toMatchObject({ reason: 'bot-hangup', side: 'gateway' });
    await caller.closed();

    const callEvents = caller.events.filter((e) => e.type !== 'error');
    expect(callEvents.map((e) => (e.type === 'transcript' ? `${e.type}:${e.who}` : e.type))).toEqual(['answered', 'transcript:bot', 'dtmf', 'transcript:bot', 'ended']);
    expect(callEvents[0]).toMatchObject({ type: 'answered', callId: caller.callId });
    expect(callEvents[2]).toMatchObject({ type: 'dtmf', digit: '2' });
    expect(callEvents[3]).toMatchObject({ type: 'transcript', text: SUPPORT });
    expect(callEvents[4]).toMatchObject({ type: 'ended', reason: 'bot-hangup' });
    const times = callEvents.map((e) => e.at);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });
});
