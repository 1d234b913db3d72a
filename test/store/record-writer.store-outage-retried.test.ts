/**
 * The data directory's disk fills up mid-traffic: calls go on, their record writes wait in order,
 * the `store` alarm goes up at the first failed write, /readyz turns 503 naming the failure and the
 * writes waiting. When space returns every call has its row and its end, in publish order, the
 * alarm clears and /readyz is 200 again.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, expect, it, vi } from 'vitest';
import { alarmsConfigSchema, createAlarms, type Alarms } from '../../src/alarms/alarms-config.js';
import type { AlarmChange } from '../../src/alarms/alarm-manager.js';
import { healthRoutes } from '../../src/api/health-routes.js';
import { EventBus } from '../../src/events/bus.js';
import { attachRecordWriter, type RecordWriter } from '../../src/store/record-writer.js';
import { captureLogger, LOG_ERROR } from '../support/captured-logger.js';
import { FakeClock } from '../support/fake-clock.js';
import { failingStore } from '../support/failing-store.js';
import { describeOnEachDialect, uniqueCallId } from '../support/store-fixtures.js';

function started(callId: string, at: number) {
  return { callId, carrier: 'plivo', carrierCallId: `p-${callId}`, direction: 'inbound' as const, from: '+14155550100', to: '+14155550199', bot: 'support-bot', at };
}

function nextHealthChange(writer: RecordWriter): Promise<ReturnType<RecordWriter['health']>> {
  return new Promise((resolve) => {
    const off = writer.onHealthChange((h) => {
      off();
      resolve(h);
    });
  });
}

function alarmChanges(alarms: Alarms, count: number): { changes: AlarmChange[]; done: Promise<AlarmChange[]> } {
  const changes: AlarmChange[] = [];
  const done = new Promise<AlarmChange[]>((resolve) => {
    const off = alarms.manager.onChange((c) => {
      changes.push(c);
      if (changes.length === count) {
        off();
        resolve(changes);
      }
    });
  });
  return { changes, done };
}

describeOnEachDialect('record writes during a store outage', (ctx) => {
  let app: FastifyInstance | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await app?.close();
    await cleanup?.();
    app = cleanup = undefined;
  });

  it('are kept in order and written once the store takes writes again; the store alarm and /readyz follow the outage', async () => {
    const clock = new FakeClock();
    const T0 = clock.now();
    const { logger, lines } = captureLogger();
    const faults = failingStore(ctx.store);
    const bus = new EventBus(logger);
    const writer = attachRecordWriter(bus, faults.store, logger, { clock, retryDelayMs: { first: 1000, max: 4000 } });
    const alarms = createAlarms(alarmsConfigSchema.parse({}), { store: faults.store, bus, records: writer, clock, logger });
    cleanup = async () => {
      await alarms.stop();
      writer.detach();
      writer.stop();
    };
    app = Fastify();
    await app.register(healthRoutes, { db: faults.store.db, recordWrites: writer, clock });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const alarmHistory = alarmChanges(alarms, 2);

    const before = uniqueCallId('before');
    bus.publish('call.started', started(before, T0));
    await writer.flush();
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    // The disk fills: the call already running and two new ones go on publishing.
    faults.failing = true;
    const failing = nextHealthChange(writer);
    const during = [uniqueCallId('during'), uniqueCallId('during')];
    bus.publish('call.answered', { callId: before, at: T0 + 500 });
    for (const [i, id] of during.entries()) {
      bus.publish('call.started', started(id, T0 + 1000 + i));
      bus.publish('call.answered', { callId: id, at: T0 + 1200 });
      for (const text of ['first', 'second', 'third']) bus.publish('transcript', { callId: id, at: T0 + 2000, who: 'caller', text });
    }
    bus.publish('call.ended', { callId: before, at: T0 + 3000, cause: 'Normal Hangup', side: 'caller', reason: 'caller-hangup' });
    for (const id of during) bus.publish('call.ended', { callId: id, at: T0 + 4000, cause: 'Normal Hangup', side: 'caller', reason: 'caller-hangup' });
    expect(await failing).toMatchObject({ failing: true, waiting: 14, lastError: expect.stringMatching(/full|No space/) });

    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect((await notReady.json()).reason).toMatch(/^store: call record writes failing since \S+ \(.*(SQLITE_FULL|53100).*(full|No space).*\); 14 writes waiting$/);

    // Retries while the disk stays full write nothing and lose nothing; the alarm about it cannot be stored yet either.
    const retried = () => lines.filter((l) => l.msg === 'record store still cannot take writes; retrying').length;
    clock.advance(1000);
    await vi.waitUntil(() => retried() === 1);
    clock.advance(2000);
    await vi.waitUntil(() => retried() === 2);
    expect(writer.health()).toMatchObject({ failing: true, waiting: 14, dropped: 0 });
    expect(await ctx.store.calls.get(during[0])).toBeUndefined();
    expect(lines.some((l) => l.msg.startsWith('store alarm not written'))).toBe(true);

    // Space returns: the next retry writes everything, in order.
    faults.failing = false;
    const recovered = nextHealthChange(writer);
    clock.advance(4000);
    expect(await recovered).toMatchObject({ failing: false });
    expect(await writer.flush()).toEqual({ unwritten: 0 });
    clock.advance(5000); // the store alarm's own retry
    const [raised, cleared] = await alarmHistory.done;
    expect(raised).toMatchObject({ type: 'store', entity: 'record-writes', severity: 'critical', message: expect.stringMatching(/^record store cannot take writes since .*; 14 writes waiting/) });
    expect(cleared).toMatchObject({ type: 'store', entity: 'record-writes', severity: 'clear' });
    expect(await alarms.manager.active()).toEqual([]);

    expect(await ctx.store.calls.get(before)).toMatchObject({ answeredAt: T0 + 500, endedAt: T0 + 3000, durationMs: 2500 });
    for (const id of during) {
      expect(await ctx.store.calls.get(id)).toMatchObject({ answeredAt: T0 + 1200, endedAt: T0 + 4000, endReason: 'caller-hangup' });
      expect((await ctx.store.transcripts.listForCall(id)).map((l) => l.text)).toEqual(['first', 'second', 'third']);
    }
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    // Nothing was dropped as a bad write.
    expect(lines.filter((l) => l.level === LOG_ERROR && l.msg === 'call record write failed')).toEqual([]);
  });

  it('refuse new writes past the queue limit, saying which calls lost what, and keep the ones already queued', async () => {
    const clock = new FakeClock();
    const T0 = clock.now();
    const { logger, lines } = captureLogger();
    const faults = failingStore(ctx.store);
    const bus = new EventBus(logger);
    const writer = attachRecordWriter(bus, faults.store, logger, { clock, maxQueuedWrites: 3, retryDelayMs: { first: 1000, max: 1000 } });
    cleanup = async () => {
      writer.detach();
      writer.stop();
    };
    faults.failing = true;
    const kept = uniqueCallId('kept');
    const late = [uniqueCallId('late'), uniqueCallId('late')];
    const failing = nextHealthChange(writer);
    bus.publish('call.started', started(kept, T0));
    bus.publish('call.answered', { callId: kept, at: T0 + 100 });
    bus.publish('call.ended', { callId: kept, at: T0 + 900, cause: 'Normal Hangup', side: 'caller', reason: 'caller-hangup' });
    for (const id of late) bus.publish('call.started', started(id, T0 + 1000));
    await failing;
    expect(writer.health()).toMatchObject({ waiting: 3, dropped: 2 });
    expect(lines.find((l) => l.level === LOG_ERROR && l.msg.startsWith('record write queue full (3 writes waiting)'))).toMatchObject({ callId: late[0] });

    faults.failing = false;
    clock.advance(1000);
    await writer.flush();
    expect(await ctx.store.calls.get(kept)).toMatchObject({ answeredAt: T0 + 100, endedAt: T0 + 900 });
    expect(lines.find((l) => l.msg.startsWith('record write queue full: 2 call record writes dropped'))).toMatchObject({ dropped: 2, callIds: late });
  });
});
