import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed002EscalationPlan } from '../../src/bots/dial-plan/index.js';
import { VOXGATE_NUMBER } from '../support/e2e-gateway.js';
import { ADMIN_TOKEN, HAS_CHROMIUM, loginWithToken, screenshot, startConsoleE2e, type ConsoleE2e } from '../support/browser.js';

describe.skipIf(!HAS_CHROMIUM)('a campaign in the console', () => {
  let t: ConsoleE2e;
  beforeAll(async () => {
    t = await startConsoleE2e({ dialer: { callsPerSecond: 5, ringTimeoutSec: 2 } });
  }, 60_000);
  afterAll(() => t?.close());

  it('names an unknown id, and follows a campaign by its id until it completes', async () => {
    const { page, consoleUrl, e2e } = t;
    await loginWithToken(page, consoleUrl, ADMIN_TOKEN);
    await page.getByRole('link', { name: 'Campaign' }).click();
    await page.getByLabel('Campaign id').fill('6f1c0c9e-1c1a-4f6e-9a8e-0c2d4e6f8a10');
    await page.getByRole('button', { name: 'Show' }).click();
    expect(await page.getByRole('alert').textContent()).toMatch(/6f1c0c9e-1c1a-4f6e-9a8e-0c2d4e6f8a10/);

    e2e.sim.addCallee('+14155550403', { answerAfterSec: 0.2, keys: [{ afterHeardSec: 2, digits: '1' }] });
    const res = await fetch(`${e2e.gateway.url}/api/v1/campaigns`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        campaign: { name: 'Console escalation', caller: VOXGATE_NUMBER, escalation: 'sequential', attemptsPerContact: 1, dialPlan: seed002EscalationPlan('Ticket ${ticket}.', { waitSeconds: 2 }), variables: { ticket: '9' } },
        contactsCsv: 'phone,name\n+14155550403,Carol\n',
      }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };

    await page.getByLabel('Campaign id').fill(id);
    await page.getByRole('button', { name: 'Show' }).click();
    const progress = page.getByLabel('Campaign progress');
    await progress.getByText('"name": "Console escalation"', { exact: false }).waitFor();
    // Refreshed every 2 s: the page follows the campaign to its end without a reload.
    await progress.getByText('"status": "completed"', { exact: false }).waitFor({ timeout: 25_000 });
    await screenshot(page, 'campaign');
  }, 45_000);
});
