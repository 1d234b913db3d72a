import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ADMIN_TOKEN, HAS_CHROMIUM, HAS_SPEECH, loginWithToken, screenshot, startBrowserCallE2e, type BrowserCallE2e } from '../support/browser.js';
import { callFromSoftphone } from './browser-call-steps.js';

const BOT = 'listening-bot';
/** A bot that listens for long enough: the fake microphone loops speech and silence meanwhile. */
const listeningFlow = {
  name: 'listening',
  language: 'en-US',
  start: 'listen',
  steps: {
    listen: { collect: { prompt: 'Say something.', maxDigits: 1, timeoutMs: 60_000, branches: { '1': 'bye' }, timeout: 'bye' } },
    bye: { say: 'Goodbye.', hangup: 'completed' },
  },
};

/** Meter positions (0..1, -60 dBFS to full scale): speech from the WAV is well above SPEECH, its gaps below QUIET. */
const SPEECH = 0.4;
const QUIET = 0.15;

/** The fake microphone's WAV loops every 5.5 s (two prompts, each after 1.5 s of silence). */
const WAV_LOOP_MS = 5500;

/** The meter's highest value over one loop of the WAV (sampled every 100 ms), so its speech played meanwhile. */
async function peakOverOneLoop(page: Page): Promise<number> {
  const samples = Math.ceil(WAV_LOOP_MS / 100) + 5;
  const peak = await page.waitForFunction(
    (samples) => {
      const meter = document.querySelector<HTMLMeterElement>('meter[aria-label="Microphone level"]');
      const state = ((window as { meterWatch?: { n: number; peak: number } }).meterWatch ??= { n: 0, peak: 0 });
      state.peak = Math.max(state.peak, meter?.value ?? 1);
      // An object, not the number: a peak of 0 would read as "not yet".
      return ++state.n >= samples ? { peak: state.peak } : false;
    },
    samples,
    { polling: 100, timeout: WAV_LOOP_MS * 3 },
  );
  return ((await peak.jsonValue()) as { peak: number }).peak;
}

function waitForMeter(page: Page, test: 'above' | 'below', value: number): Promise<unknown> {
  return page.waitForFunction(
    ({ test, value }) => {
      const meter = document.querySelector<HTMLMeterElement>('meter[aria-label="Microphone level"]');
      return meter !== null && (test === 'above' ? meter.value > value : meter.value < value);
    },
    { test, value },
  );
}

describe.skipIf(!HAS_CHROMIUM || !HAS_SPEECH)('the softphone microphone level', () => {
  let t: BrowserCallE2e;
  beforeAll(async () => {
    t = await startBrowserCallE2e({ bots: [{ name: BOT, type: 'flow', flow: listeningFlow }], routes: [{ number: '*', bot: BOT }] });
  }, 60_000);
  afterAll(() => t?.close());

  it('rises with the microphone speech, falls in its pauses, and stays at zero while muted', async () => {
    const { page, consoleUrl } = t;
    await loginWithToken(page, consoleUrl, ADMIN_TOKEN);
    await page.goto(`${consoleUrl}/console/#/phone/${BOT}`);
    const ended = t.e2e.nextCallEnded();
    await callFromSoftphone(page, BOT);

    // Speech, a pause, speech again: the meter follows the fake microphone's WAV.
    await waitForMeter(page, 'above', SPEECH);
    await screenshot(page, 'softphone-microphone-level');
    await waitForMeter(page, 'below', QUIET);
    await waitForMeter(page, 'above', SPEECH);

    const mute = page.getByRole('button', { name: 'Mute' });
    await mute.click();
    expect(await mute.getAttribute('aria-pressed')).toBe('true');
    // A muted track renders silence: the meter drops to nothing and stays there over the next speech.
    await waitForMeter(page, 'below', 0.01);
    expect(await peakOverOneLoop(page)).toBeLessThan(0.01);

    await mute.click();
    expect(await mute.getAttribute('aria-pressed')).toBe('false');
    await waitForMeter(page, 'above', SPEECH);

    await page.getByRole('button', { name: 'Hang up' }).click();
    expect((await ended).side).toBe('caller');
  });
});
