import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, HAS_CHROMIUM, loginWithToken, screenshot, startConsoleE2e, type ConsoleE2e } from '../support/browser.js';

describe.skipIf(!HAS_CHROMIUM)('widget keys in the console', () => {
  let t: ConsoleE2e;
  beforeAll(async () => {
    // The default configuration's bot, "demo", is the one the key calls.
    t = await startConsoleE2e({});
  }, 60_000);
  afterAll(() => t?.close());

  it('creates a key showing its secret and <script> snippet once, edits its origins and limits, and revokes it after confirmation', async () => {
    const { page, consoleUrl } = t;
    await loginWithToken(page, consoleUrl, ADMIN_TOKEN);
    await page.getByRole('link', { name: 'Widget keys' }).click();
    await page.getByText('No widget keys.').waitFor();

    const form = page.getByRole('form', { name: 'New widget key' });
    await form.getByLabel('Name').fill('Shop front page');
    await form.getByLabel('Bot').fill('demo');
    await form.getByLabel(/Allowed origins/).fill('https://shop.example/');
    await form.getByRole('button', { name: 'Create widget key' }).click();
    // The API's refusal names the field and the fix; the form keeps what was typed.
    expect(await page.getByRole('alert').textContent()).toContain('origins.0: "https://shop.example/" is not an exact origin: write it as https://shop.example');
    await form.getByLabel(/Allowed origins/).fill('https://shop.example\nhttp://localhost:8081');
    await form.getByLabel('Calls at once').fill('3');
    await form.getByRole('button', { name: 'Create widget key' }).click();

    const secret = (await page.getByTestId('created-widget-secret').textContent())!;
    expect(secret).toMatch(/^vxw_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(await page.getByTestId('created-widget-snippet').textContent()).toBe(`<script src="${consoleUrl}/widget/voxgate-widget.js" data-voxgate-key="${secret}" data-voxgate-url="${consoleUrl}" async></script>`);
    const keyId = secret.slice('vxw_'.length, secret.indexOf('.'));
    const row = page.locator(`tr[data-widget-key-id="${keyId}"]`);
    await row.waitFor();
    expect(await row.locator('td').allTextContents()).toEqual(expect.arrayContaining(['demo', 'https://shop.example http://localhost:8081', '3 at once, 20/min', 'never']));
    expect(await page.getByRole('table', { name: 'Widget keys' }).textContent()).not.toContain(secret.split('.')[1]);
    await screenshot(page, 'widget-keys-created');

    // Shown once: after leaving the page it is gone for good.
    await page.getByRole('link', { name: 'API clients' }).click();
    await page.getByRole('link', { name: 'Widget keys' }).click();
    await row.waitFor();
    expect(await page.content()).not.toContain(secret.split('.')[1]);

    await row.getByRole('button', { name: 'Edit Shop front page' }).click();
    const edit = page.getByRole('form', { name: 'Edit Shop front page' });
    await edit.getByLabel('Allowed origins').fill('https://shop.example\nhttps://www.shop.example');
    await edit.getByLabel('Calls per minute').fill('100000');
    await edit.getByRole('button', { name: 'Save changes' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('callsPerMinute:');
    await edit.getByLabel('Calls per minute').fill('40');
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await edit.waitFor({ state: 'detached' });
    await row.getByText('3 at once, 40/min').waitFor();
    expect(await row.locator('td').nth(2).textContent()).toBe('https://shop.example https://www.shop.example');

    // Declining the confirmation leaves the key active.
    page.once('dialog', (dialog) => void dialog.dismiss());
    await row.getByRole('button', { name: 'Revoke Shop front page' }).click();
    await row.getByRole('button', { name: 'Revoke Shop front page' }).waitFor();
    let message = '';
    page.once('dialog', (dialog) => {
      message = dialog.message();
      void dialog.accept();
    });
    await row.getByRole('button', { name: 'Revoke Shop front page' }).click();
    await row.getByText(/^revoked /).waitFor();
    expect(message).toBe(`Revoke widget key Shop front page (${keyId})? Calls from its websites are refused from now on.`);
    const stored = await t.e2e.gateway.store.db.selectFrom('widget_keys').select(['revoked_at', 'calls_per_minute']).where('id', '=', keyId).executeTakeFirstOrThrow();
    expect(stored.revoked_at).not.toBeNull();
    expect(Number(stored.calls_per_minute)).toBe(40);
    await screenshot(page, 'widget-keys-revoked');
  });
});
