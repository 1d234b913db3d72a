import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREETING, SUPPORT, promptPlayed } from '../support/e2e-fixtures.js';
import { startWebRtcE2e, type WebRtcE2e } from './webrtc-e2e.js';

describe('a browser call over WebRTC with Opus', () => {
  let e2e: WebRtcE2e;
  beforeAll(async () => {
    e2e = await startWebRtcE2e();
  });
  afterAll(() => e2e?.close());

  it('hears the greeting, and a key sent by RFC 4733 takes the menu to support; the page follows on its data channel', async () => {
    const ended = e2e.nextCallEnded();
    const greeted = promptPlayed(e2e.gateway, GREETING);
    const caller = await e2e.call();
    expect(caller.codec).toBe('opus');
    await caller.connected();
    await greeted;
    // The greeting reached the page as audio it could decode.
    expect(caller.audibleMs()).toBeGreaterThan(1000);
    caller.pressRfc4733('2');
    const end = await ended;
    expect(end).toMatchObject({ reason: 'bot-hangup', side: 'gateway' });
    const last = await caller.nextEvent('ended');
    expect(last.type).toBe('ended');
    await caller.closed();

    const types = caller.events.map((e) => e.type);
    expect(types[0]).toBe('answered');
    expect(types[types.length - 1]).toBe('ended');
    const transcript = caller.events.flatMap((e) => (e.type === 'transcript' ? [`${e.who}: ${e.text}`] : []));
    expect(transcript).toEqual([`bot: ${GREETING}`, `bot: ${SUPPORT}`]);
    expect(caller.events.filter((e) => e.type === 'dtmf')).toMatchObject([{ digit: '2' }]);
  });
});
