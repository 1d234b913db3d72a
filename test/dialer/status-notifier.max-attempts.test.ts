import { afterEach, expect, it } from 'vitest';
import { advanceAndSettle, startNotifierHarness, type NotifierHarness } from '../support/callback-receiver.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';
import { LOG_ERROR } from '../support/captured-logger.js';

describeOnEachDialect('status callbacks: giving up', (ctx) => {
  let h: NotifierHarness;
  afterEach(async () => h?.close());

  it('after maxAttempts failures the callback is failed with the last error, logged, and left alone', async () => {
    h = await startNotifierHarness(ctx.store, { retry: { maxAttempts: 3 } });
    h.receiver.failNext(10, 500);
    h.notifier.notify(h.receiver.url(), { status: 'completed' }, 'give-up:completed');
    await h.notifier.idle();
    await advanceAndSettle(h, 1000);
    await advanceAndSettle(h, 2000);
    await advanceAndSettle(h, 3600_000);

    expect(h.receiver.requests).toHaveLength(3);
    const row = await h.outbox.get('give-up:completed');
    expect(row).toMatchObject({ status: 'failed', attempts: 3 });
    expect(row?.lastError).toBe('HTTP 500: {"error":"try later (500)"} (gave up after 3 attempts over 3 s)');
    expect(h.logs.some((l) => l.level === LOG_ERROR && l.msg === `status callback failed: ${row?.lastError}`)).toBe(true);
    expect(h.events.at(-1)).toMatchObject({ type: 'failed', idempotencyKey: 'give-up:completed', attempts: 3 });
  });

  it('no attempt starts after maxAgeMs from queuing', async () => {
    h = await startNotifierHarness(ctx.store, { retry: { maxAgeMs: 2500 } });
    h.receiver.failNext(10, 503);
    h.notifier.notify(h.receiver.url(), { status: 'ringing' }, 'too-old:ringing');
    await h.notifier.idle();
    await advanceAndSettle(h, 1000);
    await advanceAndSettle(h, 600_000);

    expect(h.receiver.requests).toHaveLength(2);
    expect((await h.outbox.get('too-old:ringing'))?.lastError).toBe(
      'HTTP 503: {"error":"try later (503)"} (gave up after 2 attempts over 1 s: the next one would pass the 2.5 s age limit)',
    );
  });
});
