import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VOXGATE_NUMBER } from '../support/e2e-gateway.js';
import { ADMIN_TOKEN, HAS_CHROMIUM, loginWithToken, screenshot, startConsoleE2e, type ConsoleE2e } from '../support/browser.js';

const OLD_GREETING = 'Hello from the first version of this bot.';
const NEW_GREETING = 'Hello from the version edited in the console.';

const flow = {
  name: 'editable',
  language: 'en-US',
  start: 'hello',
  steps: { hello: { say: OLD_GREETING, next: 'wait' }, wait: { collect: { maxDigits: 1, timeoutMs: 30000, branches: { '1': 'bye' }, timeout: 'bye' } }, bye: { say: 'Goodbye.', hangup: 'completed' } },
};

describe.skipIf(!HAS_CHROMIUM)('editing a bot in the console', () => {
  let t: ConsoleE2e;
  beforeAll(async () => {
    t = await startConsoleE2e({ bots: [{ name: 'editable-bot', type: 'flow', flow }], routes: [{ number: VOXGATE_NUMBER, bot: 'editable-bot' }] });
  }, 60_000);
  afterAll(() => t?.close());

  /** Places a call, hangs up once the greeting has played, and returns the transcript the console shows. */
  async function callAndReadTranscript(): Promise<string> {
    const { page, e2e } = t;
    const ended = e2e.nextCallEnded();
    const call = e2e.sim.dialInbound({ from: '+14155550777', to: VOXGATE_NUMBER, script: { hangupAfterSec: 30 } });
    call.once('heard-audio-stop', () => call.party.hangUp());
    await call.ended;
    const end = await ended;
    await e2e.gateway.records.flush();
    await page.goto(`${t.consoleUrl}/console/#/calls/${encodeURIComponent(end.callId)}`);
    const transcript = page.getByRole('list', { name: 'Transcript' });
    await transcript.waitFor();
    return (await transcript.textContent()) ?? '';
  }

  it('shows the API validation message, saves a valid change, and the next call uses it', async () => {
    const { page, consoleUrl } = t;
    await loginWithToken(page, consoleUrl, ADMIN_TOKEN);
    expect(await callAndReadTranscript()).toContain(OLD_GREETING);

    await page.getByRole('link', { name: 'Bots, routes, providers' }).click();
    await page.getByLabel('Bot to edit').selectOption('editable-bot');
    const editor = page.getByLabel(/^Bot "editable-bot"/);
    const stored = JSON.parse(await editor.inputValue()) as { flow: { steps: { hello: { say: string } } } };
    expect(stored.flow.steps.hello.say).toBe(OLD_GREETING);

    // A flow step pointing nowhere: the API refuses it and the console shows its message.
    const broken = structuredClone(stored) as typeof stored & { flow: { steps: { hello: { next: string } } } };
    broken.flow.steps.hello.next = 'nowhere';
    await editor.fill(JSON.stringify(broken, null, 2));
    await page.getByRole('button', { name: 'Save bot' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('nowhere');
    await screenshot(page, 'bot-editor-validation');

    stored.flow.steps.hello.say = NEW_GREETING;
    await editor.fill(JSON.stringify(stored, null, 2));
    await page.getByRole('button', { name: 'Save bot' }).click();
    await page.getByText('Saved bot "editable-bot": it applies to the next calls.').waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
    await screenshot(page, 'bots-routes-providers');

    const next = await callAndReadTranscript();
    expect(next).toContain(NEW_GREETING);
    expect(next).not.toContain(OLD_GREETING);
  });

  it('saves and deletes a route, and shows why a provider section was refused', async () => {
    const { page, consoleUrl, e2e } = t;
    await loginWithToken(page, consoleUrl, ADMIN_TOKEN);
    await page.goto(`${consoleUrl}/console/#/config`);
    const routes = page.getByRole('table', { name: 'Routes' });
    await routes.getByText(VOXGATE_NUMBER).waitFor();

    await page.getByLabel('Called number (* for any)').fill('*');
    await page.getByLabel('Bot', { exact: true }).fill('editable-bot');
    await page.getByRole('button', { name: 'Save route' }).click();
    await page.getByText('Route * -> editable-bot saved.').waitFor();
    await routes.getByRole('cell', { name: '*', exact: true }).waitFor();
    expect(e2e.gateway.runtimeConfig.getRoute('*')).toMatchObject({ number: '*', bot: 'editable-bot' });
    await routes.getByRole('button', { name: 'Delete route *' }).click();
    await routes.getByRole('cell', { name: '*', exact: true }).waitFor({ state: 'detached' });

    // A route to a bot that does not exist: the API names it.
    await page.getByLabel('Called number (* for any)').fill('+14155550999');
    await page.getByLabel('Bot', { exact: true }).fill('ghost-bot');
    await page.getByRole('button', { name: 'Save route' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('ghost-bot');

    const provider = page.getByLabel('Provider section "stt"', { exact: false });
    await provider.waitFor();
    await provider.fill('{ "provider": "no-such-engine" }');
    await page.getByRole('button', { name: 'Save stt' }).click();
    expect(await page.locator('#provider-json-message').getByRole('alert').textContent()).toMatch(/provider/);
  });
});
