import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREETING, SALES, promptPlayed } from '../support/e2e-fixtures.js';
import { startWebRtcE2e, type WebRtcE2e } from './webrtc-e2e.js';

describe('a browser that offers PCMU only', () => {
  let e2e: WebRtcE2e;
  beforeAll(async () => {
    e2e = await startWebRtcE2e();
  });
  afterAll(() => e2e?.close());

  it('is answered with PCMU and an 8 kHz leg, hears the greeting, and its RFC 4733 key (8000 Hz clock) is taken', async () => {
    const ended = e2e.nextCallEnded();
    const greeted = promptPlayed(e2e.gateway, GREETING);
    const caller = await e2e.call({ codec: 'PCMU' });
    expect(caller.codec).toBe('PCMU');
    expect(caller.answerSdp).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 0 101\r?$/m);
    expect(caller.answerSdp).not.toMatch(/opus/i);
    await caller.connected();
    const leg = e2e.gateway.calls.findCall('webrtc', caller.location.split('/').pop()!)?.leg;
    expect(leg?.sampleRate).toBe(8000);
    await greeted;
    expect(caller.audibleMs()).toBeGreaterThan(1000);
    caller.pressRfc4733('1');
    expect(await ended).toMatchObject({ reason: 'bot-hangup' });
    const lines = caller.events.flatMap((e) => (e.type === 'transcript' ? [e.text] : []));
    expect(lines).toEqual([GREETING, SALES]);
  });
});
