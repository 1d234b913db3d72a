import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, HAS_CHROMIUM, loginWithToken, screenshot, startConsoleE2e, type ConsoleE2e } from '../support/browser.js';

describe.skipIf(!HAS_CHROMIUM)('alarms in the console', () => {
  let t: ConsoleE2e;
  beforeAll(async () => {
    t = await startConsoleE2e({});
  }, 60_000);
  afterAll(() => t?.close());

  it('shows a raised alarm as it happens (event stream), clears it with the button, and lists both changes in the history', async () => {
    const { page, consoleUrl, e2e } = t;
    await loginWithToken(page, consoleUrl, ADMIN_TOKEN);
    await page.getByRole('link', { name: 'Alarms' }).click();
    await page.getByTestId('alarm-stream-state').getByText('live', { exact: true }).waitFor();
    await page.getByText('No active alarms.').waitFor();

    // Raised after the page loaded: only the event stream can bring it in.
    await e2e.gateway.alarms.raise('console.test', 'stt-provider', 'major', 'STT provider unreachable');
    const row = page.getByRole('table', { name: 'Active alarms' }).locator('tr[data-alarm-type="console.test"]');
    await row.waitFor();
    expect(await row.locator('td').allTextContents()).toEqual(expect.arrayContaining(['major', 'console.test', 'stt-provider', 'STT provider unreachable']));
    const history = page.getByRole('table', { name: 'Alarm history' });
    await history.getByText('STT provider unreachable').waitFor();
    await screenshot(page, 'alarms');

    await row.getByRole('button', { name: 'Clear console.test on stt-provider' }).click();
    await page.getByText('No active alarms.').waitFor();
    await history.getByText('cleared from the console').waitFor();
    expect(await e2e.gateway.alarms.active()).toEqual([]);
    await screenshot(page, 'alarms-cleared');
  });
});
