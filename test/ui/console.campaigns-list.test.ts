import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed002EscalationPlan } from '../../src/bots/dial-plan/index.js';
import { VOXGATE_NUMBER } from '../support/e2e-gateway.js';
import { ADMIN_TOKEN, HAS_CHROMIUM, loginWithToken, screenshot, startConsoleE2e, type ConsoleE2e } from '../support/browser.js';

describe.skipIf(!HAS_CHROMIUM)('the campaign list in the console', () => {
  let t: ConsoleE2e;
  beforeAll(async () => {
    t = await startConsoleE2e({ dialer: { callsPerSecond: 5, ringTimeoutSec: 2 } });
  }, 60_000);
  afterAll(() => t?.close());

  async function createCampaign(campaign: Record<string, unknown>, contactsCsv: string): Promise<string> {
    const res = await fetch(`${t.e2e.gateway.url}/api/v1/campaigns`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ campaign: { caller: VOXGATE_NUMBER, escalation: 'sequential', dialPlan: seed002EscalationPlan('Ticket ${ticket}.', { waitSeconds: 2 }), variables: { ticket: '9' }, ...campaign }, contactsCsv }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }

  it('lists campaigns newest first with progress and outcomes, pauses, resumes, cancels, shows the 409, and opens one by its link', async () => {
    const { page, consoleUrl, e2e } = t;
    await loginWithToken(page, consoleUrl, ADMIN_TOKEN);
    await page.getByRole('link', { name: 'Campaigns', exact: true }).click();
    await page.getByRole('status').getByText('No campaigns match.').waitFor();

    e2e.sim.addCallee('+14155550411', { answerAfterSec: 0.2, keys: [{ afterHeardSec: 2, digits: '1' }] });
    const acceptedId = await createCampaign({ name: 'Accepted escalation', attemptsPerContact: 1 }, 'phone,name\n+14155550411,Carol\n');
    // A busy line, retried only after 10 minutes: this campaign stays running while the test controls it.
    e2e.sim.addCallee('+14155550412', { busy: true });
    const waitingId = await createCampaign({ name: 'Waiting escalation', attemptsPerContact: 3, retrySpacingSec: 600 }, 'phone,name\n+14155550412,Dave\n');

    const rows = page.locator('tbody tr');
    const accepted = page.locator(`tr[data-campaign-id="${acceptedId}"]`);
    const waiting = page.locator(`tr[data-campaign-id="${waitingId}"]`);
    // Refreshed every 2 s: the accept shows up without a reload, as a full bar and an outcome count.
    await accepted.getByRole('cell', { name: 'completed', exact: true }).waitFor({ timeout: 25_000 });
    await accepted.getByText('1 of 1 contacts settled').waitFor();
    expect(await accepted.getByRole('progressbar', { name: 'Progress of Accepted escalation' }).getAttribute('value')).toBe('1');
    await accepted.getByText('accepted 1', { exact: false }).first().waitFor();
    expect(await accepted.getByRole('button').count()).toBe(0);
    // Newest first.
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-campaign-id')))).toEqual([waitingId, acceptedId]);

    await waiting.getByText('busy 1', { exact: false }).waitFor({ timeout: 15_000 });
    expect(await waiting.getByRole('progressbar').getAttribute('value')).toBe('0');
    // Resuming a running campaign is refused: the API's 409 message is shown as it came.
    await waiting.getByRole('button', { name: 'Resume Waiting escalation' }).click();
    expect(await page.getByRole('alert').textContent()).toBe('Waiting escalation: campaign is running: cannot resume it');
    await waiting.getByRole('button', { name: 'Pause Waiting escalation' }).click();
    await waiting.getByRole('cell', { name: 'paused', exact: true }).waitFor();
    await page.getByRole('status').getByText('Waiting escalation: paused.').waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
    await waiting.getByRole('button', { name: 'Resume Waiting escalation' }).click();
    await waiting.getByRole('cell', { name: 'running', exact: true }).waitFor();
    await waiting.getByRole('button', { name: 'Cancel Waiting escalation' }).click();
    await waiting.getByRole('cell', { name: 'cancelled', exact: true }).waitFor();
    await waiting.getByText('cancelled 1', { exact: false }).waitFor();
    expect(await waiting.getByRole('button').count()).toBe(0);
    await screenshot(page, 'campaigns-list');

    await page.getByLabel('Status').selectOption('completed');
    await rows.first().getByRole('link', { name: 'Accepted escalation' }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 1);
    await page.getByLabel('Status').selectOption('paused');
    await page.getByRole('status').getByText('No campaigns match.').waitFor();
    await page.getByLabel('Status').selectOption('');

    // The name links to the campaign-by-id view.
    await accepted.getByRole('link', { name: 'Accepted escalation' }).click();
    expect(new URL(page.url()).hash).toBe(`#/campaign/${acceptedId}`);
    const progress = page.getByLabel('Campaign progress');
    await progress.getByText('"status": "completed"', { exact: false }).waitFor();
    expect(await page.getByLabel('Campaign id').inputValue()).toBe(acceptedId);
  }, 60_000);
});
