import { afterEach, expect, it } from 'vitest';
import { advanceAndSettle, startNotifierHarness, type NotifierHarness } from '../support/callback-receiver.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

describeOnEachDialect('status callbacks: one idempotency key, one callback', (ctx) => {
  let h: NotifierHarness;
  afterEach(async () => h?.close());

  it('notifying the same key again (before or after delivery) queues and sends it once, with the first payload', async () => {
    h = await startNotifierHarness(ctx.store);
    h.notifier.notify(h.receiver.url(), { status: 'answered', n: 1 }, 'conv-dup:answered');
    h.notifier.notify(h.receiver.url(), { status: 'answered', n: 2 }, 'conv-dup:answered');
    await h.notifier.idle();
    h.notifier.notify(h.receiver.url(), { status: 'answered', n: 3 }, 'conv-dup:answered');
    await h.notifier.idle();
    await advanceAndSettle(h, 60_000);

    expect(h.receiver.requests).toHaveLength(1);
    expect(JSON.parse(h.receiver.requests[0].body)).toEqual({ status: 'answered', n: 1 });
    expect(await h.outbox.list()).toHaveLength(1);
    // The second write and the first delivery race; only the counts are fixed.
    expect(h.events.map((e) => e.type).sort()).toEqual(['delivered', 'duplicate', 'duplicate', 'queued']);
  });

  it('two notifiers on one database (two processes) send a shared batch once each', async () => {
    h = await startNotifierHarness(ctx.store, { claimBatchSize: 2, maxConcurrent: 2 });
    const other = h.spawn(await ctx.reopen(), { claimBatchSize: 2, maxConcurrent: 2 });
    for (let i = 0; i < 12; i++) h.notifier.notify(h.receiver.url(), { seq: i }, `batch-${i}`);
    other.start();
    await Promise.all([h.notifier.idle(), other.idle()]);
    await Promise.all([h.notifier.idle(), other.idle()]);

    const keys = h.receiver.requests.map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(12);
    expect(new Set(keys).size).toBe(12);
    const rows = await h.outbox.list();
    expect(rows.every((r) => r.status === 'delivered' && r.attempts === 1)).toBe(true);
  });
});
