import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed002EscalationPlan } from '../../src/bots/dial-plan/index.js';
import { startE2e, VOXGATE_NUMBER, type E2eSetup } from '../support/e2e-gateway.js';

const TOKEN = 'campaign-api-token';

describe('the seed 002 escalation as a campaign, through the API and the Plivo simulator', () => {
  let e2e: E2eSetup;
  const api = (path: string, init: RequestInit = {}) => fetch(`${e2e.gateway.url}/api/v1/campaigns${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers } });

  beforeAll(async () => {
    e2e = await startE2e({ api: { token: TOKEN }, dialer: { callsPerSecond: 5, ringTimeoutSec: 2 } });
  });
  afterAll(() => e2e?.close());

  it('calls Alice three times (never answers), then Bob (rejects), then Carol (accepts) and stops there', async () => {
    e2e.sim.addCallee('+14155550401', { neverAnswer: true });
    e2e.sim.addCallee('+14155550402', { answerAfterSec: 0.2, keys: [{ afterHeardSec: 2, digits: '2' }] });
    e2e.sim.addCallee('+14155550403', { answerAfterSec: 0.2, keys: [{ afterHeardSec: 2, digits: '1' }] });
    e2e.sim.addCallee('+14155550404', { answerAfterSec: 0.2, keys: [{ afterHeardSec: 2, digits: '1' }] });
    const done = new Promise<string>((resolve) => e2e.gateway.campaigns.onEvent((e) => e.type === 'campaign.status' && e.status === 'completed' && resolve(e.campaignId)));
    const res = await api('/', {
      method: 'POST',
      body: JSON.stringify({
        campaign: {
          name: 'Ticket 7 escalation',
          caller: VOXGATE_NUMBER,
          escalation: 'sequential',
          attemptsPerContact: 3,
          retrySpacingSec: 0.5,
          dialPlan: seed002EscalationPlan('Ticket ${ticket}.', { waitSeconds: 2 }),
          variables: { ticket: '7' },
        },
        contactsCsv: 'phone,name\n+14155550401,Alice\n+14155550402,Bob\n+14155550403,Carol\n+14155550404,Dave\n',
      }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    expect(await done).toBe(id);

    const progress = (await (await api(`/${id}`)).json()) as Record<string, unknown>;
    expect(progress).toMatchObject({ status: 'completed', result: 'accepted', acceptedBy: { position: 2, name: 'Carol' }, contactOutcomes: { exhausted: 1, rejected: 1, accepted: 1 } });
    const { attempts } = (await (await api(`/${id}/attempts`)).json()) as { attempts: { name: string; attemptNo: number; outcome: string }[] };
    expect(attempts.map((a) => [a.name, a.attemptNo, a.outcome])).toEqual([
      ['Alice', 1, 'no-answer'],
      ['Alice', 2, 'no-answer'],
      ['Alice', 3, 'no-answer'],
      ['Bob', 1, 'rejected'],
      ['Carol', 1, 'accepted'],
    ]);
    const csv = await (await api(`/${id}/results.csv`)).text();
    expect(csv.split('\n')[0]).toMatch(/position/);
    expect(csv).toContain('Carol');
    expect(csv).toContain('Dave'); // never called, still listed
  }, 60_000);

  it('answers 400 naming the field for a bad campaign, 404 for an unknown one, 401 without the token', async () => {
    const bad = await api('/', { method: 'POST', body: JSON.stringify({ campaign: { name: 'x', caller: 'nope', bot: 'demo' } }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/caller: not an E.164 phone number/);
    expect((await api('/6f1c0c9e-1c1a-4f6e-9a8e-0c2d4e6f8a10')).status).toBe(404);
    expect((await fetch(`${e2e.gateway.url}/api/v1/campaigns/6f1c0c9e-1c1a-4f6e-9a8e-0c2d4e6f8a10`)).status).toBe(401);
  });
});
