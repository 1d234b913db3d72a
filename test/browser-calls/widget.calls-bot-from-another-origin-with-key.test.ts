import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREETING, menuFlow, SALES, SUPPORT } from '../support/e2e-fixtures.js';
import { HAS_CHROMIUM, HAS_SPEECH, screenshot, startBrowserCallE2e, type BrowserCallE2e } from '../support/browser.js';
import { AUDIBLE_RMS, receivedAudible, watchReceivedLevel } from './page-audio.js';
import { callRecord, createWidgetKey, lineBy } from './browser-call-steps.js';
import { startWidgetHostPage, type WidgetHostPage } from './widget-host-page.js';

const BOT = 'menu-bot';

describe.skipIf(!HAS_CHROMIUM || !HAS_SPEECH)('the embeddable widget on another website', () => {
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

  it("calls the key's bot, shows the live transcript, and its keypad (data channel) takes the menu path", async () => {
    const { page } = t;
    const created = await createWidgetKey(t, { name: 'Example shop', bot: BOT, origins: [site.url] });
    await page.goto(`${site.url}/?key=${encodeURIComponent(created.secret)}`);
    const widget = page.getByRole('region', { name: 'Voice call' });
    const call = widget.getByRole('button', { name: 'Talk to our assistant' });
    // The host page hides every button and shrinks all text: none of it reaches into the widget.
    expect(await call.isVisible()).toBe(true);
    expect(await call.evaluate((button) => getComputedStyle(button).fontSize)).toBe('15px');
    // Nor does its 4px root font size shrink the widget (sizes in em of the widget's own font).
    expect((await widget.boundingBox())?.width).toBeGreaterThan(200);
    await screenshot(page, 'widget-on-host-page');

    const ended = t.e2e.nextCallEnded();
    await call.click();
    await widget.getByRole('status').filter({ hasText: 'In call' }).waitFor();
    const audio = widget.locator('audio');
    await watchReceivedLevel(audio);
    const transcript = widget.getByRole('list', { name: 'Transcript' });
    await lineBy(transcript, 'bot', GREETING).waitFor();
    expect(await receivedAudible(audio)).toBeGreaterThan(AUDIBLE_RMS);
    await screenshot(page, 'widget-in-call');

    await widget.getByRole('group', { name: 'Keypad' }).getByRole('button', { name: '1', exact: true }).click();
    await lineBy(transcript, 'keypad', 'pressed 1').waitFor();
    await lineBy(transcript, 'bot', SALES).waitFor();
    const end = await ended;
    await widget.getByRole('status').filter({ hasText: 'Call ended' }).waitFor();
    expect(await transcript.textContent()).not.toContain(SUPPORT);
    expect(await widget.getByRole('alert').count()).toBe(0);
    await screenshot(page, 'widget-call-ended');

    const record = await callRecord(t, end.callId);
    expect(record.call).toMatchObject({ carrier: 'webrtc', from: `widget:${created.key.id}`, to: BOT, bot: BOT });
    expect(record.dtmf.map((d) => d.digit)).toEqual(['1']);
  });
});
