import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ESCALATION_MENU_TEXT, escalationAnswer, seed002EscalationPlan } from '../../src/bots/dial-plan/escalation-plan.js';
import { dialPlanSchema, type DialPlanInput } from '../../src/bots/dial-plan/dial-plan.js';
import { CollectEventReceiver } from '../support/collect-event-receiver.js';
import { startDialPlanCall } from './dial-plan-call.js';

const TICKET = 'Ticket 4711: the payment service is down.';

describe('seed 002 escalation plan: menu repeated once after 10 s of silence, then no answer', () => {
  let receiver: CollectEventReceiver;
  beforeEach(async () => void (receiver = await new CollectEventReceiver().listen()));
  afterEach(async () => receiver.close());

  const start = () => startDialPlanCall(seed002EscalationPlan(TICKET, { eventUrl: receiver.url('/escalation'), gender: 'female' }));

  it('is a valid dial plan: SAY ticket, SAY menu (bargeIn), PAUSE 10, SAY menu (bargeIn), COLLECT one digit within 10 s', () => {
    const plan = dialPlanSchema.parse(seed002EscalationPlan(TICKET));
    expect(plan.verbs.map((v) => v.type)).toEqual(['SAY', 'SAY', 'PAUSE', 'SAY', 'COLLECT']);
    expect(plan.verbs[2]).toEqual({ type: 'PAUSE', duration: 10 });
    expect(plan.verbs[4]).toMatchObject({ maxDigits: 1, timeout: 10 });
  });

  it('key 1 during the first menu: accepted at once, the repeat is never played', async () => {
    const call = await start();
    await call.hearOne(); // the ticket
    await call.press('1'); // while the first menu plays
    const [event] = await receiver.waitFor(1);
    expect(event.body).toMatchObject({ digits: '1', status: 'collected', verbIndex: 4 });
    expect(call.hangupReason()).toBe('dial-plan-completed');
    expect(call.heard()).toEqual([TICKET]);
    expect(escalationAnswer(await call.bot.finished)).toBe('accepted');
    expect(call.bot.result.completed).toBe(true);
  });

  it('silence through both menus: the COLLECT times out 10 s after the repeat and the answer is no-answer', async () => {
    const call = await start();
    await call.hearAll(); // ticket, menu, 10 s pause, menu
    expect(call.heard()).toEqual([TICKET, ESCALATION_MENU_TEXT, '[pause 10 s]', ESCALATION_MENU_TEXT]);
    await call.wait(9_999);
    expect(receiver.received).toHaveLength(0);
    expect(call.hangupReason()).toBeUndefined();
    await call.wait(1);
    const [event] = await receiver.waitFor(1);
    expect(event.body).toMatchObject({ digits: '', status: 'timeout', verbIndex: 4 });
    expect(call.hangupReason()).toBe('dial-plan-completed');
    expect(escalationAnswer(await call.bot.finished)).toBe('no-answer');
  });

  it('key 2 after the repeated menu: rejected', async () => {
    const call = await start();
    await call.hearAll();
    await call.wait(4_000);
    await call.press('2');
    const [event] = await receiver.waitFor(1);
    expect(event.body).toMatchObject({ digits: '2', status: 'collected' });
    expect(escalationAnswer(await call.bot.finished)).toBe('rejected');
  });

  it('key 2 during the 10 s pause between the menus: rejected at once, the repeat is skipped', async () => {
    const call = await start();
    await call.hearOne(); // ticket
    await call.hearOne(); // first menu
    await call.press('2'); // in the pause
    await receiver.waitFor(1);
    expect(call.heard()).toEqual([TICKET, ESCALATION_MENU_TEXT]);
    expect(escalationAnswer(call.bot.result)).toBe('rejected');
    expect(call.hangupReason()).toBe('dial-plan-completed');
  });

  it('a key while the ticket is read is ignored (no bargeIn on the ticket)', async () => {
    const call = await start();
    await call.press('1');
    expect(call.bot.result.collects).toEqual([]);
    await call.hearAll();
    await call.press('1');
    expect(escalationAnswer(call.bot.result)).toBe('accepted');
    await receiver.waitFor(1);
    expect(receiver.received).toHaveLength(1);
  });

  it('any other key is no answer (the contact is tried again)', async () => {
    const call = await start();
    await call.hearOne();
    await call.press('7');
    expect(escalationAnswer(await call.bot.finished)).toBe('no-answer');
    expect(call.bot.result.collects[0]).toMatchObject({ status: 'collected', digits: '7' });
  });

  it("the seed's own conversation-API JSON runs as written", async () => {
    const seedJson: DialPlanInput = {
      verbs: [
        { type: 'PAUSE', duration: 3 },
        { type: 'SAY', message: { text: 'here you can define your ticket', gender: 'male', language: 'en-US' } },
        { type: 'PAUSE', duration: 4 },
        { type: 'SAY', message: { text: 'PRESS ONE TO BE CONNECTED THERE OR PRESS 2 TO BE CONNECTED THERE', language: 'en-US', gender: 'female' }, bargeIn: true },
        { type: 'PAUSE', duration: 10 },
        { type: 'SAY', message: { text: 'PRESS ONE TO BE CONNECTED THERE OR PRESS 2 TO BE CONNECTED THERE', language: 'en-US', gender: 'female' }, bargeIn: true },
        { type: 'PAUSE', duration: 6 },
        { type: 'COLLECT', eventUrl: receiver.url('/eventUrl') },
      ],
    };
    const call = await startDialPlanCall(seedJson);
    for (let i = 0; i < 5; i++) await call.hearOne(); // up to and including the second menu
    await call.press('1'); // during PAUSE 6, which follows a bargeIn menu
    const [event] = await receiver.waitFor(1);
    expect(event).toMatchObject({ path: '/eventUrl', body: { digits: '1', status: 'collected', verbIndex: 7 } });
    expect(call.audio.spoken.map((r) => r.voice)).toEqual(['male', 'female', 'female']);
    expect(call.hangupReason()).toBe('dial-plan-completed');
  });
});
