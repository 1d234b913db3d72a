import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebRtcE2e, type WebRtcE2e } from './webrtc-e2e.js';

describe('the ICE settings of the webrtc carrier', () => {
  let e2e: WebRtcE2e;
  beforeAll(async () => {
    e2e = await startWebRtcE2e({}, { publicAddress: '203.0.113.10', portRange: [41000, 41100] });
  });
  afterAll(() => e2e?.close());

  it('announce the public address beside the bound one, bind ICE inside the port range, and the call still connects', async () => {
    const caller = await e2e.call();
    const candidates = [...caller.answerSdp.matchAll(/^a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ host/gm)].map((m) => ({ address: m[1], port: Number(m[2]) }));
    expect(new Set(candidates.map((c) => c.address))).toEqual(new Set(['127.0.0.1', '203.0.113.10']));
    for (const c of candidates) {
      expect(c.port).toBeGreaterThanOrEqual(41000);
      expect(c.port).toBeLessThanOrEqual(41100);
    }
    await caller.connected();
    const ended = e2e.nextCallEnded();
    expect((await caller.hangup()).status).toBe(200);
    await ended;
  });
});
