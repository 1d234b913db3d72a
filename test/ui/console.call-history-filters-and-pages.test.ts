import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedCall } from '../support/management-api.js';
import { ADMIN_TOKEN, HAS_CHROMIUM, loginWithToken, startConsoleE2e, type ConsoleE2e } from '../support/browser.js';

describe.skipIf(!HAS_CHROMIUM)('the call history in the console', () => {
  let t: ConsoleE2e;
  const base = Date.UTC(2026, 0, 5, 9, 0, 0);
  beforeAll(async () => {
    t = await startConsoleE2e({});
    // 30 calls a minute apart: inbound to sales-bot, every third one outbound from dialer-bot.
    for (let i = 0; i < 30; i++) {
      const outbound = i % 3 === 0;
      await seedCall(t.e2e.gateway.store, { id: `hist-${String(i).padStart(2, '0')}`, startedAt: base + i * 60_000, durationMs: 30_000, direction: outbound ? 'outbound' : 'inbound', bot: outbound ? 'dialer-bot' : 'sales-bot' });
    }
  }, 60_000);
  afterAll(() => t?.close());

  it('pages through the history newest first and filters by direction', async () => {
    const { page, consoleUrl } = t;
    await loginWithToken(page, consoleUrl, ADMIN_TOKEN);
    await page.getByRole('link', { name: 'Call history' }).click();
    const rows = page.locator('tbody tr[data-call-id]');
    await page.getByText('Calls, newest first (page 1)').waitFor();
    expect(await rows.count()).toBe(25);
    expect(await rows.first().getAttribute('data-call-id')).toBe('hist-29');

    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByText('Calls, newest first (page 2)').waitFor();
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-call-id')))).toEqual(['hist-04', 'hist-03', 'hist-02', 'hist-01', 'hist-00']);
    expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByText('Calls, newest first (page 1)').waitFor();
    expect(await rows.first().getAttribute('data-call-id')).toBe('hist-29');

    await page.getByLabel('Direction').selectOption('outbound');
    await page.getByRole('button', { name: 'Search' }).click();
    await rows.first().locator('td', { hasText: 'outbound' }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('tbody tr[data-call-id]').length === 10);
    expect(new Set(await rows.locator('td:nth-child(5)').allTextContents())).toEqual(new Set(['dialer-bot']));
  });
});
