import { performance } from 'node:perf_hooks';
import { afterEach, expect, it } from 'vitest';
import { advanceAndSettle, startNotifierHarness, T0, type NotifierHarness } from '../support/callback-receiver.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

describeOnEachDialect('status callbacks: a hanging receiver never holds up the caller', (ctx) => {
  let h: NotifierHarness;
  afterEach(async () => h?.close());

  it('notify() returns at once while a delivery hangs; the hung attempt times out and is retried', async () => {
    h = await startNotifierHarness(ctx.store, { requestTimeoutMs: 2000 });
    h.receiver.replyNext({ hang: true }, { hang: true });
    h.notifier.notify(h.receiver.url(), { status: 'initiated' }, 'hang-1');
    await h.receiver.waitForRequests(1);

    const before = performance.now();
    const returned = h.notifier.notify(h.receiver.url(), { status: 'initiated' }, 'hang-2');
    expect(returned).toBeUndefined();
    expect(performance.now() - before).toBeLessThan(50);
    // The second callback goes out while the first is still hanging.
    await h.receiver.waitForRequests(2);

    await advanceAndSettle(h, 2000);
    for (const key of ['hang-1', 'hang-2']) {
      expect(await h.outbox.get(key)).toMatchObject({ status: 'pending', attempts: 1, lastError: 'no answer within 2000 ms', nextAttemptAt: T0 + 3000 });
    }
    await advanceAndSettle(h, 1000);
    expect(h.receiver.requests).toHaveLength(4);
    for (const key of ['hang-1', 'hang-2']) expect(await h.outbox.get(key)).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  it('close() waits a bounded time, cuts the hung delivery off and leaves it pending for the next start', async () => {
    h = await startNotifierHarness(ctx.store, { closeTimeoutMs: 1000, requestTimeoutMs: 10_000 });
    h.receiver.replyNext({ hang: true });
    h.notifier.notify(h.receiver.url(), { status: 'answered' }, 'hang-close');
    await h.receiver.waitForRequests(1);

    const closing = h.notifier.close();
    h.clock.advance(1000);
    await closing;
    expect(await h.outbox.get('hang-close')).toMatchObject({ status: 'pending', attempts: 1, lastError: 'interrupted by shutdown', nextAttemptAt: T0 + 1000 });

    const next = h.spawn(await ctx.reopen());
    next.start();
    await next.idle();
    expect(h.receiver.requests).toHaveLength(2);
    expect(await h.outbox.get('hang-close')).toMatchObject({ status: 'delivered', attempts: 2 });
  });
});
