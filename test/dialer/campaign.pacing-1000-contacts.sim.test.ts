import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2e, VOXGATE_NUMBER, type E2eSetup } from '../support/e2e-gateway.js';

const CONTACTS = 1000;
const RATE = 100; // calls per second: the campaign takes about ten seconds

describe('campaign pacing in the Plivo simulator', () => {
  let e2e: E2eSetup;
  beforeAll(async () => {
    // Voxgate's own dialer and the simulated account both allow more: the campaign's pacing is what is measured.
    e2e = await startE2e({ dialer: { callsPerSecond: RATE * 2 } }, { outboundCallsPerSecond: RATE * 4 });
  });
  afterAll(() => e2e?.close());

  it(`a ${CONTACTS}-contact campaign at ${RATE} calls/s starts calls at that rate, measured at the carrier (within 5%)`, async () => {
    const contacts = Array.from({ length: CONTACTS }, (_, i) => ({ phone: `+1415557${String(i).padStart(4, '0')}` }));
    for (const c of contacts) e2e.sim.addCallee(c.phone, { busy: true });
    const done = new Promise<void>((resolve) => e2e.gateway.campaigns.onEvent((e) => e.type === 'campaign.status' && e.status === 'completed' && resolve()));
    const { id } = await e2e.gateway.campaigns.create({
      name: 'pacing',
      caller: VOXGATE_NUMBER,
      bot: 'demo',
      attemptsPerContact: 1,
      pacing: { callsPerSecond: RATE, maxConcurrent: 50 },
      contacts,
    });
    await done;
    const requested = e2e.sim
      .outboundFirings()
      .map((f) => f.requestedAt)
      .sort((a, b) => a - b);
    expect(requested).toHaveLength(CONTACTS);
    const rate = ((CONTACTS - 1) * 1000) / (requested[CONTACTS - 1] - requested[0]);
    expect(rate).toBeGreaterThan(RATE * 0.95);
    expect(rate).toBeLessThan(RATE * 1.05);
    const progress = await e2e.gateway.campaigns.progress(id);
    expect(progress).toMatchObject({ status: 'completed', attempts: { total: CONTACTS, byOutcome: { busy: CONTACTS } } });
  }, 90_000);
});
