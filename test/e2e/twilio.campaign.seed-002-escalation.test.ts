import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed002EscalationPlan } from '../../src/bots/dial-plan/index.js';
import { TWILIO_NUMBER, startTwilioE2e, type TwilioE2eSetup } from '../support/e2e-twilio.js';

const TOKEN = 'twilio-campaign-token';

describe('the seed 002 escalation as a campaign over Twilio (simulator)', () => {
  let e2e: TwilioE2eSetup;
  const api = (path: string, init: RequestInit = {}) => fetch(`${e2e.gateway.url}/api/v1/campaigns${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers } });

  beforeAll(async () => {
    e2e = await startTwilioE2e({ api: { token: TOKEN }, dialer: { callsPerSecond: 5, ringTimeoutSec: 2 } });
  });
  afterAll(() => e2e?.close());

  it('calls Alice three times (never answers), then Bob (rejects by key), then Carol (accepts) and stops there', async () => {
    e2e.twilio.addCallee('+14155550401', { neverAnswer: true });
    e2e.twilio.addCallee('+14155550402', { answerAfterSec: 0.2, keys: [{ afterHeardSec: 2, digits: '2' }] });
    e2e.twilio.addCallee('+14155550403', { answerAfterSec: 0.2, keys: [{ afterHeardSec: 2, digits: '1' }] });
    e2e.twilio.addCallee('+14155550404', { answerAfterSec: 0.2, keys: [{ afterHeardSec: 2, digits: '1' }] });
    const done = new Promise<string>((resolve) => e2e.gateway.campaigns.onEvent((e) => e.type === 'campaign.status' && e.status === 'completed' && resolve(e.campaignId)));
    const res = await api('/', {
      method: 'POST',
      body: JSON.stringify({
        campaign: {
          name: 'Ticket 7 escalation',
          caller: TWILIO_NUMBER,
          carrier: 'twilio',
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
    const { attempts } = (await (await api(`/${id}/attempts`)).json()) as { attempts: { name: string; attemptNo: number; outcome: string; conversationId: string }[] };
    expect(attempts.map((a) => [a.name, a.attemptNo, a.outcome])).toEqual([
      ['Alice', 1, 'no-answer'],
      ['Alice', 2, 'no-answer'],
      ['Alice', 3, 'no-answer'],
      ['Bob', 1, 'rejected'],
      ['Carol', 1, 'accepted'],
    ]);
    await e2e.gateway.records.flush();
    for (const a of attempts) expect((await e2e.gateway.store.calls.get(a.conversationId))?.carrier).toBe('twilio');
  }, 60_000);

  it('refuses a campaign naming a carrier that is not configured, naming the field', async () => {
    const res = await api('/', { method: 'POST', body: JSON.stringify({ campaign: { name: 'x', caller: TWILIO_NUMBER, carrier: 'plivo', bot: 'demo' } }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid campaign: carrier: "plivo" is not configured (configured: twilio)');
  });
});
