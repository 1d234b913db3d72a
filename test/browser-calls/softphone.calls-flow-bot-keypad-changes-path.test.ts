import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREETING, menuFlow, SALES, SUPPORT } from '../support/e2e-fixtures.js';
import { ADMIN_TOKEN, HAS_CHROMIUM, HAS_SPEECH, loginWithToken, screenshot, startBrowserCallE2e, type BrowserCallE2e } from '../support/browser.js';
import { AUDIBLE_RMS, receivedAudible, watchReceivedLevel } from './page-audio.js';
import { callFromSoftphone, callRecord, historyLinkCallId, lineBy } from './browser-call-steps.js';

const BOT = 'menu-bot';

describe.skipIf(!HAS_CHROMIUM || !HAS_SPEECH)('the console softphone calls the flow bot over WebRTC', () => {
  let t: BrowserCallE2e;
  beforeAll(async () => {
    t = await startBrowserCallE2e({ bots: [{ name: BOT, type: 'flow', flow: menuFlow }], routes: [{ number: '*', bot: BOT }] });
  }, 60_000);
  afterAll(() => t?.close());

  it('opens from the bot ("Talk to this bot"), plays the greeting, and RFC 4733 keys take the menu path of the key', async () => {
    const { page, consoleUrl } = t;
    await loginWithToken(page, consoleUrl, ADMIN_TOKEN);
    await page.getByRole('link', { name: 'Bots, routes, providers' }).click();
    await page.getByLabel('Bot to edit').selectOption(BOT);
    await page.getByRole('link', { name: 'Talk to this bot' }).click();
    await page.getByRole('heading', { name: 'Softphone' }).waitFor();
    expect(await page.getByRole('combobox', { name: /^Bot/ }).inputValue()).toBe(BOT);

    for (const [key, reply, other] of [
      ['1', SALES, SUPPORT],
      ['2', SUPPORT, SALES],
    ] as const) {
      const ended = t.e2e.nextCallEnded();
      await callFromSoftphone(page, BOT);
      const audio = page.locator('audio');
      await watchReceivedLevel(audio);
      const transcript = page.getByRole('list', { name: 'Live transcript' });
      await lineBy(transcript, 'bot', GREETING).waitFor();
      // The greeting is audible in the page: the remote track carries the bot's voice, not silence.
      expect(await receivedAudible(audio)).toBeGreaterThan(AUDIBLE_RMS);
      if (key === '1') await screenshot(page, 'softphone-in-call');

      await page.getByRole('group', { name: 'Keypad' }).getByRole('button', { name: key, exact: true }).click();
      await lineBy(transcript, 'keypad', `pressed ${key}`).waitFor();
      await lineBy(transcript, 'bot', reply).waitFor();
      // The bot hangs up after its answer; the page shows the gateway's cause.
      const end = await ended;
      await page.getByRole('status').filter({ hasText: /^Call ended: / }).waitFor();
      expect(await transcript.textContent()).not.toContain(other);

      const callId = await historyLinkCallId(page);
      expect(callId).toBe(end.callId);
      const record = await callRecord(t, callId);
      expect(record.call).toMatchObject({ carrier: 'webrtc', to: BOT, bot: BOT, direction: 'inbound' });
      expect(record.call.from).toMatch(/^console:/);
      expect(record.dtmf.map((d) => d.digit)).toEqual([key]);
      expect(record.transcript.map((l) => l.text)).toEqual(expect.arrayContaining([GREETING, reply]));
    }
    await screenshot(page, 'softphone-ended-by-bot');
  });

  it('hangs up from the page: the call ends as a caller hang-up and opens in the call history', async () => {
    const { page, consoleUrl } = t;
    await loginWithToken(page, consoleUrl, ADMIN_TOKEN);
    await page.goto(`${consoleUrl}/console/#/phone/${BOT}`);
    const ended = t.e2e.nextCallEnded();
    await callFromSoftphone(page, BOT);
    await lineBy(page.getByRole('list', { name: 'Live transcript' }), 'bot', GREETING).waitFor();
    await page.getByRole('button', { name: 'Hang up' }).click();
    const end = await ended;
    expect(end.side).toBe('caller');
    await page.getByRole('status').filter({ hasText: /^Call ended: / }).waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
    await screenshot(page, 'softphone-hung-up');

    expect(await historyLinkCallId(page)).toBe(end.callId);
    const record = await callRecord(t, end.callId);
    expect(record.call).toMatchObject({ carrier: 'webrtc', hangupSide: 'caller' });
    expect(record.call.endedAt).not.toBeNull();

    await page.getByRole('link', { name: 'Open in call history' }).click();
    await page.getByRole('heading', { name: `Call ${end.callId}` }).waitFor();
    expect(await page.getByRole('list', { name: 'Transcript' }).textContent()).toContain(GREETING);
    await screenshot(page, 'softphone-call-in-history');
  });
});
