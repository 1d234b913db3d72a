import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, HAS_CHROMIUM, CHROMIUM_PATH, loginWithToken, screenshot, startConsoleE2e, type ConsoleE2e } from '../support/browser.js';
import { seedCall } from '../support/management-api.js';

const IMG = '<img src=x onerror="window.__xss=1">';
const SCRIPT = '<script>window.__xss=2</script>';
const CALLER = `+1555${IMG}`;
const BOT = `bot${SCRIPT}`;
const SAID = `Hello ${IMG} and ${SCRIPT}`;

declare global {
  interface Window {
    __xss?: number;
    __violations?: string[];
  }
}

if (!HAS_CHROMIUM) console.warn(`skipping console browser tests: no Chromium at ${CHROMIUM_PATH} (set VOXGATE_CHROMIUM)`);

describe.skipIf(!HAS_CHROMIUM)('the console shows markup in call data as text and runs nothing, under a strict CSP', () => {
  let t: ConsoleE2e;
  let callId: string;

  beforeAll(async () => {
    t = await startConsoleE2e({});
    const { store } = t.e2e.gateway;
    const call = await seedCall(store, { from: CALLER, bot: BOT, startedAt: Date.now() - 60_000, durationMs: 20_000 });
    callId = call.id;
    await store.transcripts.add({ callId, at: call.startedAt + 1000, speaker: 'caller', text: SAID });
    // Every CSP violation the pages report, from the first script on.
    await t.page.addInitScript(() => {
      window.__violations = [];
      document.addEventListener('securitypolicyviolation', (e) => window.__violations!.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
  }, 60_000);
  afterAll(() => t?.close());

  it('serves the console with a strict policy: scripts from its own origin only, no framing, no Referer', async () => {
    const res = await fetch(`${t.consoleUrl}/console/`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    // The build itself has no inline script the policy would have to allow.
    expect(await res.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it('shows the caller id and bot name in the history literally', async () => {
    const { page, consoleUrl } = t;
    await loginWithToken(page, consoleUrl, ADMIN_TOKEN);
    await page.goto(`${consoleUrl}/console/#/calls`);
    const row = page.locator(`tr[data-call-id="${callId}"]`);
    await row.waitFor();
    expect(await row.locator('td').nth(2).textContent()).toBe(CALLER);
    expect(await row.locator('td').nth(4).textContent()).toBe(BOT);
    expect(await page.locator('img[src="x"], tbody script').count()).toBe(0);
    expect(await page.evaluate(() => window.__xss)).toBeUndefined();
    await screenshot(page, 'markup-history');
  });

  it('shows the transcript line, caller id and bot name on the call detail literally', async () => {
    const { page } = t;
    await page.locator(`a[aria-label="Open call ${callId}"]`).click();
    await page.getByText(SAID, { exact: true }).waitFor();
    await page.getByText(CALLER, { exact: true }).waitFor();
    await page.getByText(BOT, { exact: true }).waitFor();
    expect(await page.locator('img[src="x"], main script').count()).toBe(0);
    expect(await page.evaluate(() => window.__xss)).toBeUndefined();
    // Normal use of the console trips nothing in its policy.
    expect(await page.evaluate(() => window.__violations)).toEqual([]);
    await screenshot(page, 'markup-call-detail');
  });

  it('blocks an inline script that gets into the page anyway, and reports the violation', async () => {
    const { page } = t;
    const violation = await page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          document.addEventListener('securitypolicyviolation', (e) => resolve(e.violatedDirective), { once: true });
          const script = document.createElement('script');
          script.textContent = 'window.__xss = 3';
          document.body.append(script);
        }),
    );
    expect(violation).toMatch(/^script-src/);
    expect(await page.evaluate(() => window.__xss)).toBeUndefined();
  });

  it('serves Swagger UI (/docs) under its own policy, which still allows no inline script', async () => {
    const { page, e2e } = t;
    const res = await page.goto(`${e2e.gateway.url}/docs/`);
    const csp = res!.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    await page.getByText('Voxgate management API').first().waitFor();
    expect(await page.evaluate(() => window.__violations)).toEqual([]);
  });
});
