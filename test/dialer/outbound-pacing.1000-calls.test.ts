import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2e, VOXGATE_NUMBER, type E2eSetup } from '../support/e2e-gateway.js';

const CALLS = 1000;
const RATE = 100; // calls per second: 1,000 calls take ten seconds of real time

describe('outbound pacing against the Plivo simulator', () => {
  let e2e: E2eSetup;
  beforeAll(async () => {
    // The simulated account allows more than Voxgate's pace, so what is measured is Voxgate's own pacing.
    e2e = await startE2e({ dialer: { callsPerSecond: RATE } }, { outboundCallsPerSecond: RATE * 2 });
  });
  afterAll(() => e2e?.close());

  it(`holds ${RATE} calls/s over ${CALLS} calls (measured at the carrier, within 5%)`, async () => {
    let failed = 0;
    const allDone = new Promise<void>((resolve) => {
      e2e.gateway.bus.subscribe('outbound.status', (e) => {
        if (e.status === 'failed' && ++failed === CALLS) resolve();
      });
    });
    // Numbers nobody answers at: each call fails at once (invalid destination), so only pacing is measured.
    for (let i = 0; i < CALLS; i++) await e2e.gateway.dialer.place({ bot: 'demo', target: `+1415556${String(i).padStart(4, '0')}`, caller: VOXGATE_NUMBER, source: 'campaign' });
    await allDone;
    const requested = e2e.sim.outboundFirings().map((f) => f.requestedAt).sort((a, b) => a - b);
    expect(requested).toHaveLength(CALLS);
    const rate = ((CALLS - 1) * 1000) / (requested[CALLS - 1] - requested[0]);
    expect(rate).toBeGreaterThan(RATE * 0.95);
    expect(rate).toBeLessThan(RATE * 1.05);
    // No catch-up bursts: no one-second window holds more than 10% over the rate (timer and HTTP jitter
    // at the carrier account for the rest; a limiter that makes up missed slots shows 50% here).
    let maxInWindow = 0;
    for (let i = 0, j = 0; i < requested.length; i++) {
      while (requested[i] - requested[j] >= 1000) j++;
      maxInWindow = Math.max(maxInWindow, i - j + 1);
    }
    expect(maxInWindow).toBeLessThanOrEqual(RATE * 1.1);
  }, 60_000);
});
