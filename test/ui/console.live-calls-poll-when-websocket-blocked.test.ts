import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VOXGATE_NUMBER } from '../support/e2e-gateway.js';
import { ADMIN_TOKEN, HAS_CHROMIUM, loginWithToken, screenshot, startConsoleE2e, type ConsoleE2e } from '../support/browser.js';

const GREETING = 'Welcome to the polling test line.';

const flow = {
  name: 'console-poll',
  language: 'en-US',
  start: 'menu',
  steps: {
    menu: { collect: { prompt: GREETING, maxDigits: 1, timeoutMs: 30000, branches: {}, noMatch: 'bye', timeout: 'bye' } },
    bye: { say: 'Goodbye.', hangup: 'completed' },
  },
};

describe.skipIf(!HAS_CHROMIUM)('the live calls page when a proxy does not pass WebSockets', () => {
  let t: ConsoleE2e;
  beforeAll(async () => {
    t = await startConsoleE2e({ bots: [{ name: 'poll-bot', type: 'flow', flow }], routes: [{ number: VOXGATE_NUMBER, bot: 'poll-bot' }] }, { forwardWebSockets: false });
  }, 60_000);
  afterAll(() => t?.close());

  it('says it is reconnecting and still follows the call and its transcript by polling', async () => {
    const { page, e2e, consoleUrl } = t;
    await loginWithToken(page, consoleUrl, ADMIN_TOKEN);
    await page.getByText('Reconnecting… refreshed every second meanwhile.').waitFor();
    await page.getByText('No calls in progress.').waitFor();

    const ended = e2e.nextCallEnded();
    const call = e2e.sim.dialInbound({ from: '+14155550199', to: VOXGATE_NUMBER, script: { hangupAfterSec: 60 } });
    const live = page.locator('article.live-call');
    await live.getByRole('list', { name: /^Live transcript of call / }).getByText(GREETING).waitFor();
    expect(await live.getByRole('heading').textContent()).toContain('14155550199');
    expect(await page.locator('.stream-state').getAttribute('data-state')).toBe('reconnecting');
    await screenshot(page, 'live-calls-polling');

    call.party.hangUp();
    await call.ended;
    await ended;
    await page.getByText('No calls in progress.').waitFor();
  });
});
