import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DialPlanInput } from '../../src/bots/dial-plan/dial-plan.js';
import { CollectEventReceiver, deadUrl } from '../support/collect-event-receiver.js';
import { startDialPlanCall } from './dial-plan-call.js';
import { captureLogger as capturingLogger } from '../support/captured-logger.js';

function twoCollects(firstUrl: string, secondUrl?: string): DialPlanInput {
  return {
    verbs: [
      { type: 'SAY', message: { text: 'Rate us from 1 to 5.' }, bargeIn: true },
      { type: 'COLLECT', eventUrl: firstUrl, maxDigits: 1, timeout: 5 },
      { type: 'SAY', message: { text: 'Enter your postcode.' } },
      { type: 'COLLECT', ...(secondUrl ? { eventUrl: secondUrl } : {}), maxDigits: 5, timeout: 5 },
      { type: 'SAY', message: { text: 'Thanks, goodbye.' } },
    ],
  };
}

describe('DialPlanBot: COLLECT eventUrl', () => {
  let receiver: CollectEventReceiver;
  beforeEach(async () => void (receiver = await new CollectEventReceiver().listen()));
  afterEach(async () => receiver.close());

  it('POSTs one JSON event per COLLECT with the call, the verb, the status and the digits', async () => {
    const call = await startDialPlanCall(twoCollects(receiver.url('/rating?campaign=7'), receiver.url('/postcode')));
    await call.press('4');
    await call.hearAll();
    await call.wait(5_000);
    const [rating, postcode] = await receiver.waitFor(2);
    expect(rating.method).toBe('POST');
    expect(rating.path).toBe('/rating?campaign=7');
    expect(rating.headers['content-type']).toBe('application/json');
    expect(rating.body).toEqual({
      type: 'dial-plan.collect',
      callId: 'call-1',
      conversationId: 'call-1',
      to: '+15559870002',
      from: '+15551230001',
      collectIndex: 0,
      verbIndex: 1,
      status: 'collected',
      digits: '4',
      at: new Date(1_700_000_000_000).toISOString(),
    });
    expect(postcode.path).toBe('/postcode');
    expect(postcode.body).toMatchObject({ collectIndex: 1, verbIndex: 3, status: 'timeout', digits: '', at: new Date(1_700_000_005_000).toISOString() });
  });

  it('an eventUrl that is down is logged and the call goes on; the digits stay on the result', async () => {
    const { logger, lines } = capturingLogger();
    const down = await deadUrl();
    const call = await startDialPlanCall(twoCollects(down), { bot: { logger } });
    await call.press('5');
    await call.bot.whenEventsDelivered();
    await call.hearAll();
    await call.press('1', '0', '1', '1', '5');
    await call.hearAll();
    expect(call.hangupReason()).toBe('dial-plan-completed');
    expect(call.bot.result.collects.map((c) => c.digits)).toEqual(['5', '10115']);
    const failure = lines.find((l) => l.msg === 'dial plan collect event could not be delivered; the call goes on');
    expect(failure).toMatchObject({ url: down, digits: '5' });
    expect(String(failure?.reason)).toContain('ECONNREFUSED');
  });

  it('an eventUrl answering 500 is logged with the status and the call goes on', async () => {
    const { logger, lines } = capturingLogger();
    receiver.status = 500;
    const call = await startDialPlanCall(twoCollects(receiver.url()), { bot: { logger } });
    await call.press('2');
    await call.bot.whenEventsDelivered();
    expect(lines.find((l) => l.url === receiver.url())?.reason).toBe(`dial plan eventUrl ${receiver.url()} answered HTTP 500`);
    expect(call.queued()).toContain('Enter your postcode.');
  });

  it('an eventUrl that never answers is given up after eventTimeoutMs', async () => {
    const { logger, lines } = capturingLogger();
    receiver.stall = true;
    const call = await startDialPlanCall(twoCollects(receiver.url()), { bot: { logger, eventTimeoutMs: 100 } });
    await call.press('2');
    expect(call.queued()).toContain('Enter your postcode.'); // the call does not wait for the POST
    await call.bot.whenEventsDelivered();
    expect(lines.find((l) => l.url === receiver.url())?.reason).toBe('no answer within 100 ms');
  });

  it('the caller hanging up while a COLLECT waits reports status hangup', async () => {
    const call = await startDialPlanCall(twoCollects(receiver.url('/first'), receiver.url('/second')));
    await call.press('3');
    await call.hearAll();
    call.leg.emit('hangup', { side: 'caller', cause: 'Normal Hangup' });
    const events = await receiver.waitFor(2);
    expect(events[1]).toMatchObject({ path: '/second', body: { status: 'hangup', digits: '', verbIndex: 3 } });
    const result = await call.bot.finished;
    expect(result.completed).toBe(false);
    expect(result.collects.map((c) => c.status)).toEqual(['collected', 'hangup']);
  });

  it('a COLLECT without eventUrl is only recorded on the result', async () => {
    const call = await startDialPlanCall(twoCollects(receiver.url()));
    await call.press('1');
    await call.hearAll();
    await call.press('9', '9', '9', '9', '9');
    await call.bot.whenEventsDelivered();
    expect(receiver.received).toHaveLength(1);
    expect(call.bot.result.collects.map((c) => c.digits)).toEqual(['1', '99999']);
  });

  it('outcome events: one per COLLECT, the result once at the end; a throwing listener does not break the call', async () => {
    const call = await startDialPlanCall(twoCollects(receiver.url()));
    const seen: string[] = [];
    call.bot.outcome.on('collect', (c) => {
      seen.push(`collect:${c.digits}`);
      throw new Error('listener bug');
    });
    call.bot.outcome.on('result', (r) => seen.push(`result:${r.completed}`));
    await call.press('1');
    await call.hearAll();
    await call.press('1', '2', '3', '4', '5');
    await call.hearAll();
    await call.bot.finished;
    expect(seen).toEqual(['collect:1', 'collect:12345', 'result:true']);
    expect(call.hangupReason()).toBe('dial-plan-completed');
  });
});
