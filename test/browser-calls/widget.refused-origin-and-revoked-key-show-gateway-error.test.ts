import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { menuFlow } from '../support/e2e-fixtures.js';
import { HAS_CHROMIUM, HAS_SPEECH, screenshot, startBrowserCallE2e, type BrowserCallE2e } from '../support/browser.js';
import { createWidgetKey, revokeWidgetKey } from './browser-call-steps.js';
import { startWidgetHostPage, type WidgetHostPage } from './widget-host-page.js';

const BOT = 'menu-bot';

describe.skipIf(!HAS_CHROMIUM || !HAS_SPEECH)('the widget shows why the gateway refused its call', () => {
  let t: BrowserCallE2e;
  let site: WidgetHostPage;
  beforeAll(async () => {
    t = await startBrowserCallE2e({ bots: [{ name: BOT, type: 'flow', flow: menuFlow }], routes: [{ number: '*', bot: BOT }] });
    site = await startWidgetHostPage(t.consoleUrl);
  }, 60_000);
  afterAll(async () => {
    await site?.close();
    await t?.close();
  });

  /** Opens the site's page for `secret` at `origin`, presses the call button, and returns the widget's alert text. */
  async function refusedCall(origin: string, secret: string, shot: string): Promise<string> {
    const { page } = t;
    await page.goto(`${origin}/?key=${encodeURIComponent(secret)}`);
    const widget = page.getByRole('region', { name: 'Voice call' });
    await widget.getByRole('button', { name: 'Talk to our assistant' }).click();
    await widget.getByRole('status').filter({ hasText: 'Call failed' }).waitFor();
    await screenshot(page, shot);
    // The call button is back for another try; no call reached the gateway.
    expect(await widget.getByRole('button', { name: 'Talk to our assistant' }).isVisible()).toBe(true);
    expect(t.e2e.gateway.calls.size).toBe(0);
    return (await widget.getByRole('alert').textContent()) ?? '';
  }

  it('refuses a page on an origin the key does not allow, naming the origin', async () => {
    const created = await createWidgetKey(t, { name: 'Shop on 127.0.0.1 only', bot: BOT, origins: [site.url] });
    // The same site reached as localhost is another origin.
    const elsewhere = `http://localhost:${site.port}`;
    expect(await refusedCall(elsewhere, created.secret, 'widget-refused-origin')).toBe(`origin ${elsewhere} is not allowed for widget key ${created.key.id}; add it to the key's origins`);
  });

  it('refuses a revoked key, saying so, on a site no other key allows', async () => {
    // The site's only key: its origin is allowed by no active key once it is revoked.
    const onlyHere = `http://localhost:${site.port}`;
    const created = await createWidgetKey(t, { name: 'Revoked shop', bot: BOT, origins: [onlyHere] });
    await revokeWidgetKey(t, created.key.id);
    expect(await refusedCall(onlyHere, created.secret, 'widget-refused-revoked')).toBe(`widget key ${created.key.id} was revoked`);
  });
});
