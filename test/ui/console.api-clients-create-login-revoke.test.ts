import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, HAS_CHROMIUM, loginWithToken, screenshot, startConsoleE2e, type ConsoleE2e } from '../support/browser.js';

describe.skipIf(!HAS_CHROMIUM)('API clients in the console', () => {
  let t: ConsoleE2e;
  beforeAll(async () => {
    t = await startConsoleE2e({});
  }, 60_000);
  afterAll(() => t?.close());

  it('creates a client showing its secret once, logs in with it within its scopes, and revokes it', async () => {
    const { page, consoleUrl } = t;
    await loginWithToken(page, consoleUrl, ADMIN_TOKEN);
    await page.getByRole('link', { name: 'API clients' }).click();
    await page.getByText('No API clients.').waitFor();

    await page.getByLabel('Name').fill('wallboard');
    await page.getByLabel('calls:read').check();
    await page.getByRole('button', { name: 'Create client' }).click();
    const clientId = (await page.getByTestId('created-client-id').textContent())!;
    const secret = (await page.getByTestId('created-client-secret').textContent())!;
    expect(secret.length).toBeGreaterThan(16);
    const row = page.locator(`tr[data-client-id="${clientId}"]`);
    await row.waitFor();
    expect(await row.locator('td').allTextContents()).toEqual(expect.arrayContaining(['wallboard', 'calls:read', 'never']));
    await screenshot(page, 'api-clients');
    // The list never carries the secret: once this message is gone, so is the secret.
    expect(await page.getByRole('table', { name: 'API clients' }).textContent()).not.toContain(secret);

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Client id').fill(clientId);
    await page.getByLabel('Client secret').fill(secret);
    await page.getByRole('button', { name: 'Log in with client' }).click();
    // Logging in again returns to the page the operator was on; outside its scopes it shows the API's refusal.
    await page.getByRole('heading', { name: 'API clients' }).waitFor();
    expect(await page.getByRole('alert').textContent()).toBe('missing scope clients:read');
    await page.getByRole('link', { name: 'Live calls' }).click();
    await page.getByText('No calls in progress.').waitFor();

    await page.getByRole('button', { name: 'Log out' }).click();
    await loginWithToken(page, consoleUrl, ADMIN_TOKEN);
    await page.getByRole('link', { name: 'API clients' }).click();
    page.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: 'Revoke wallboard' }).click();
    await row.getByText(/^revoked /).waitFor();

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Client id').fill(clientId);
    await page.getByLabel('Client secret').fill(secret);
    await page.getByRole('button', { name: 'Log in with client' }).click();
    // No browser password dialog on the endpoint's Basic challenge: the console shows the refusal itself.
    expect(await page.getByRole('alert').textContent()).toMatch(/^Login failed: invalid_client/);
  });
});
