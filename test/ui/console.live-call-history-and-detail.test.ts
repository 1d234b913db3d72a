import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VOXGATE_NUMBER } from '../support/e2e-gateway.js';
import { ADMIN_TOKEN, HAS_CHROMIUM, CHROMIUM_PATH, screenshot, startConsoleE2e, type ConsoleE2e } from '../support/browser.js';

const GREETING = 'Welcome to the console test line. Press 2 for support.';
const SUPPORT = 'Support will call you back within the hour.';
const MORE = 'Anything else? Press 9 to finish.';

const flow = {
  name: 'console-live',
  language: 'en-US',
  start: 'menu',
  steps: {
    menu: { collect: { prompt: GREETING, maxDigits: 1, timeoutMs: 30000, branches: { '2': 'support' }, noMatch: 'bye', timeout: 'bye' } },
    support: { say: SUPPORT, next: 'more' },
    more: { collect: { prompt: MORE, maxDigits: 1, timeoutMs: 30000, branches: { '9': 'bye' }, noMatch: 'bye', timeout: 'bye' } },
    bye: { say: 'Goodbye.', hangup: 'completed' },
  },
};

if (!HAS_CHROMIUM) console.warn(`skipping console browser tests: no Chromium at ${CHROMIUM_PATH} (set VOXGATE_CHROMIUM)`);

describe.skipIf(!HAS_CHROMIUM)('the console follows a call live, then finds it in the history with its detail', () => {
  let t: ConsoleE2e;
  beforeAll(async () => {
    t = await startConsoleE2e({ bots: [{ name: 'console-bot', type: 'flow', flow, settings: { recordCall: true } }], routes: [{ number: VOXGATE_NUMBER, bot: 'console-bot' }] });
  }, 60_000);
  afterAll(() => t?.close());

  it('refuses a wrong token and logs in with the admin token', async () => {
    const { page, consoleUrl } = t;
    await page.goto(`${consoleUrl}/`);
    expect(page.url()).toBe(`${consoleUrl}/console/`);
    await page.getByLabel('Token (api.token)').fill('not-the-token');
    await page.getByRole('button', { name: 'Log in with token' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/^Login failed: /);
    await screenshot(page, 'login');

    await page.getByLabel('Token (api.token)').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Log in with token' }).click();
    await page.getByRole('heading', { name: 'Live calls' }).waitFor();
    await page.getByText('No calls in progress.').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('voxgate.console.token'))).toBe(ADMIN_TOKEN);
  });

  it('shows the call live with its transcript growing, then in the history, then its detail', async () => {
    const { page, e2e } = t;
    // The page follows the calls over the pushed WebSocket stream, not by polling.
    await page.getByText('Live: updates are pushed as they happen.').waitFor();
    const ended = e2e.nextCallEnded();
    const call = e2e.sim.dialInbound({ from: '+14155550123', to: VOXGATE_NUMBER, script: { hangupAfterSec: 60 } });
    // The caller presses 2 once the greeting has played in their ear.
    call.once('heard-audio-stop', () => call.party.press('2'));

    const live = page.locator('article.live-call');
    await live.waitFor();
    const transcript = live.getByRole('list', { name: /^Live transcript of call / });
    await transcript.getByText(GREETING).waitFor();
    // The greeting is still playing: nothing else has been said or pressed yet.
    expect(await transcript.locator('li').count()).toBe(1);
    expect(await live.getByRole('heading').textContent()).toContain('14155550123');
    const callId = await live.getAttribute('data-call-id');
    expect(callId).toBeTruthy();

    // The key and the bot's answer are added to the same transcript while the call goes on.
    await transcript.getByText(SUPPORT).waitFor();
    await transcript.getByText('pressed 2').waitFor();
    expect(await transcript.locator('li').count()).toBeGreaterThanOrEqual(3);
    await screenshot(page, 'live-calls');

    // The detail of a call in progress follows it until it ends.
    await live.getByRole('link', { name: callId! }).click();
    const following = page.getByText('In progress: refreshed every second.');
    await following.waitFor();
    call.party.hangUp();
    await call.ended;
    await ended;
    await following.waitFor({ state: 'detached' });
    await page.getByText(/^caller-hangup by caller/).waitFor();
    await page.getByRole('link', { name: 'Live calls' }).click();
    await page.getByText('No calls in progress.').waitFor();

    await page.getByRole('link', { name: 'Call history' }).click();
    const row = page.locator(`tr[data-call-id="${callId}"]`);
    await row.waitFor();
    expect(await row.locator('td').allTextContents()).toEqual(expect.arrayContaining(['inbound', 'console-bot', 'caller-hangup']));
    // The filters reach the API: a bot no call used finds nothing.
    await page.getByLabel('Bot').fill('no-such-bot');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No calls match.').waitFor();
    await page.getByRole('button', { name: 'Reset' }).click();
    await row.waitFor();
    await screenshot(page, 'call-history');

    await row.getByRole('link', { name: `Open call ${callId}` }).click();
    await page.getByRole('heading', { name: `Call ${callId}` }).waitFor();
    const full = page.getByRole('list', { name: 'Transcript' });
    await full.getByText(GREETING).waitFor();
    await full.getByText(SUPPORT).waitFor();
    await full.getByText(MORE).waitFor();
    expect(await page.getByLabel('Digits pressed').textContent()).toBe('2');
    await page.getByRole('table', { name: 'What the bot said' }).waitFor();
    const turns = page.getByRole('table', { name: 'Turns and latencies (ms)' });
    await turns.waitFor();
    expect(await turns.locator('tbody tr').count()).toBeGreaterThan(0);
    // The recording plays from a blob URL: the download needed the token.
    const audio = page.getByLabel('Recording 1', { exact: true });
    await audio.waitFor();
    expect(await audio.getAttribute('src')).toMatch(/^blob:/);
    await screenshot(page, 'call-detail');
  });
});
