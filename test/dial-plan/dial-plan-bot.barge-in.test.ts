import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DialPlanInput } from '../../src/bots/dial-plan/dial-plan.js';
import { CollectEventReceiver } from '../support/collect-event-receiver.js';
import { startDialPlanCall } from './dial-plan-call.js';

const CLIP = 'https://media.example.com/menu.wav';

describe('DialPlanBot: bargeIn', () => {
  let receiver: CollectEventReceiver;
  beforeEach(async () => void (receiver = await new CollectEventReceiver().listen()));
  afterEach(async () => receiver.close());

  const menuPlan = (): DialPlanInput => ({
    verbs: [
      { type: 'SAY', message: { text: 'Menu.' }, bargeIn: true },
      { type: 'SAY', message: { text: 'More options.' } },
      { type: 'PAUSE', duration: 5 },
      { type: 'PLAY', url: CLIP },
      { type: 'COLLECT', eventUrl: receiver.url(), maxDigits: 1, timeout: 10 },
      { type: 'SAY', message: { text: 'Got it.' } },
    ],
  });

  it('a key during a bargeIn SAY is reported at once and skips the verbs before the COLLECT', async () => {
    const call = await startDialPlanCall(menuPlan());
    await call.press('3');
    const [event] = await receiver.waitFor(1); // no clock advance: reported on the key itself
    expect(event.body).toMatchObject({ digits: '3', status: 'collected', verbIndex: 4 });
    expect(call.leg.count('clear')).toBe(1); // the menu was cut
    await call.hearAll();
    expect(call.heard()).toEqual(['Got it.']);
    expect(call.hangupReason()).toBe('dial-plan-completed');
  });

  it('a key during a non-bargeIn SAY is ignored, even when the call is configured for DTMF barge-in', async () => {
    const call = await startDialPlanCall(
      { verbs: [{ type: 'SAY', message: { text: 'Listen.' } }, { type: 'COLLECT', eventUrl: receiver.url(), timeout: 10 }] },
      { settings: { bargeInOnDTMF: true, bargeIn: true } },
    );
    await call.press('1');
    expect(call.leg.count('clear')).toBe(0);
    expect(call.bot.result.collects).toEqual([]);
    await call.hearAll();
    expect(call.heard()).toEqual(['Listen.']);
    await call.press('2');
    expect(call.bot.result.collects.map((c) => c.digits)).toEqual(['2']);
  });

  it('a PAUSE after a bargeIn prompt is interruptible too; one after a plain prompt is not', async () => {
    const call = await startDialPlanCall({
      verbs: [
        { type: 'SAY', message: { text: 'Plain.' } },
        { type: 'PAUSE', duration: 3 },
        { type: 'SAY', message: { text: 'Menu.' }, bargeIn: true },
        { type: 'PAUSE', duration: 10 },
        { type: 'COLLECT', maxDigits: 1, timeout: 10 },
      ],
    });
    await call.hearOne(); // Plain.
    await call.press('1'); // in the first pause: ignored
    expect(call.bot.result.collects).toEqual([]);
    await call.hearOne(); // pause
    await call.hearOne(); // Menu.
    await call.press('2'); // in the pause after the menu
    expect(call.bot.result.collects.map((c) => c.digits)).toEqual(['2']);
    expect(call.heard()).toEqual(['Plain.', '[pause 3 s]', 'Menu.']);
  });

  it('a bargeIn PLAY is cut by a key', async () => {
    const call = await startDialPlanCall({ verbs: [{ type: 'PLAY', url: CLIP, bargeIn: true }, { type: 'COLLECT', maxDigits: 1 }] });
    await call.press('9');
    expect(call.leg.count('clear')).toBe(1);
    expect(call.bot.result.collects.map((c) => c.digits)).toEqual(['9']);
  });

  it('with maxDigits > 1 the first key cuts the prompt and the rest complete the input', async () => {
    const call = await startDialPlanCall({
      verbs: [
        { type: 'SAY', message: { text: 'Your account number, then hash.' }, bargeIn: true },
        { type: 'COLLECT', maxDigits: 8, submitOnHash: true, timeout: 5 },
      ],
    });
    await call.press('1');
    expect(call.leg.count('clear')).toBe(1);
    expect(call.bot.result.collects).toEqual([]);
    await call.press('2', '3', '#');
    expect(call.bot.result.collects.map((c) => c.digits)).toEqual(['123']);
  });

  it('bargeIn with no COLLECT after it has nothing to report to: the prompt plays on', async () => {
    const call = await startDialPlanCall({
      verbs: [
        { type: 'COLLECT', maxDigits: 1, timeout: 2 },
        { type: 'SAY', message: { text: 'Goodbye.' }, bargeIn: true },
        { type: 'SAY', message: { text: 'See you.' } },
      ],
    });
    await call.hearAll();
    await call.wait(2_000);
    await call.press('1');
    expect(call.leg.count('clear')).toBe(0);
    await call.hearAll();
    expect(call.heard()).toContain('Goodbye.');
    expect(call.heard()).toContain('See you.');
    expect(call.hangupReason()).toBe('dial-plan-completed');
  });
});
