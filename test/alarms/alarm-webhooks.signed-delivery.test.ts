import { afterEach, beforeEach, expect, it } from 'vitest';
import { AlarmConditions } from '../../src/alarms/alarm-conditions.js';
import { AlarmManager } from '../../src/alarms/alarm-manager.js';
import { EventBus } from '../../src/events/bus.js';
import { AlarmRepository } from '../../src/store/alarm-repository.js';
import { advanceAndSettle, startNotifierHarness, type NotifierHarness } from '../support/callback-receiver.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

describeOnEachDialect('alarm webhooks through the callback outbox', (ctx) => {
  let h: NotifierHarness;
  beforeEach(async () => {
    await ctx.store.db.deleteFrom('alarms').execute();
    await ctx.store.db.deleteFrom('alarm_history').execute();
    h = await startNotifierHarness(ctx.store);
  });
  afterEach(async () => h.close());

  it('delivers a signed webhook when bot errors raise an alarm and one when it clears, each with its own idempotency key', async () => {
    const bus = new EventBus();
    const alarms = new AlarmManager({ repository: new AlarmRepository(ctx.store.db), notifier: h.notifier, webhookUrls: [h.receiver.url('/ops/alarms')], clock: h.clock });
    const conditions = new AlarmConditions({ alarms, clock: h.clock }).attach(bus);
    for (let i = 0; i < 3; i++) {
      bus.publish('call.started', { callId: `c${i}`, carrier: 'plivo', carrierCallId: `c${i}`, direction: 'inbound', from: '+1', to: '+2', bot: 'support', at: h.clock.now() });
      bus.publish('call.ended', { callId: `c${i}`, at: h.clock.now(), cause: 'x', side: 'gateway', reason: 'bot-error' });
    }
    await alarms.idle();
    await h.notifier.idle();
    const [raised] = await h.receiver.waitForRequests(1);
    expect(raised.path).toBe('/ops/alarms');
    expect(raised.reply).toMatchObject({ status: 200 }); // the receiver verified X-Voxgate-Signature
    expect(JSON.parse(raised.body)).toMatchObject({ event: 'alarm', type: 'bot-failure', entity: 'support', severity: 'major', previousSeverity: 'clear' });

    await advanceAndSettle(h, 10 * 60_000);
    await alarms.idle();
    await h.notifier.idle();
    const [, cleared] = await h.receiver.waitForRequests(2);
    expect(JSON.parse(cleared.body)).toMatchObject({ type: 'bot-failure', severity: 'clear', previousSeverity: 'major' });
    expect(cleared.headers['idempotency-key']).not.toBe(raised.headers['idempotency-key']);
    expect(String(cleared.headers['idempotency-key'])).toMatch(/^alarm:bot-failure%3Asupport:\d+$/);
    conditions.stop();
  });
});
