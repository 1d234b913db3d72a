import { afterEach, expect, it } from 'vitest';
import { advanceAndSettle, startNotifierHarness, T0, type NotifierHarness } from '../support/callback-receiver.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

describeOnEachDialect('status callbacks survive a restart', (ctx) => {
  let h: NotifierHarness;
  afterEach(async () => h?.close());

  it('a callback waiting for its retry when the process stopped is sent by the next process when due', async () => {
    h = await startNotifierHarness(ctx.store);
    h.receiver.failNext(1, 502);
    h.notifier.notify(h.receiver.url(), { status: 'completed', conversationId: 'r-1' }, 'r-1:completed');
    await h.notifier.idle();
    await h.notifier.close();

    const restarted = h.spawn(await ctx.reopen());
    restarted.start();
    await restarted.idle();
    expect(h.receiver.requests).toHaveLength(1);
    await advanceAndSettle(h, 1000, restarted);

    expect(h.receiver.requests).toHaveLength(2);
    expect(h.receiver.requests[1].body).toBe(h.receiver.requests[0].body);
    expect(h.receiver.requests[1].headers['idempotency-key']).toBe('r-1:completed');
    expect(await h.outbox.get('r-1:completed')).toMatchObject({ status: 'delivered', attempts: 2, deliveredAt: T0 + 1000 });
  });

  it('callbacks queued but never sent (process died right after notify) go out on start()', async () => {
    h = await startNotifierHarness(ctx.store);
    await h.notifier.close();
    for (const status of ['initiated', 'ringing']) {
      await h.outbox.enqueue({ idempotencyKey: `r-2:${status}`, url: h.receiver.url(), body: JSON.stringify({ status }), createdAt: T0 - 5000 });
    }
    const restarted = h.spawn(await ctx.reopen());
    restarted.start();
    await restarted.idle();
    expect(h.receiver.requests.map((r) => JSON.parse(r.body).status)).toEqual(['initiated', 'ringing']);
  });

  it('a callback claimed by a process that died mid-send is sent again once its lease lapses', async () => {
    h = await startNotifierHarness(ctx.store, { requestTimeoutMs: 2000, leaseMs: 30_000 });
    await h.notifier.close();
    await h.outbox.enqueue({ idempotencyKey: 'r-3:answered', url: h.receiver.url(), body: '{"status":"answered"}', createdAt: T0 });
    const [due] = await h.outbox.listDue(T0, 10);
    expect(await h.outbox.claim(due, T0 + 30_000)).toMatchObject({ attempts: 1 });

    const restarted = h.spawn(await ctx.reopen());
    restarted.start();
    await restarted.idle();
    await advanceAndSettle(h, 29_999, restarted);
    expect(h.receiver.requests).toHaveLength(0);
    await advanceAndSettle(h, 1, restarted);
    expect(h.receiver.requests).toHaveLength(1);
    expect(await h.outbox.get('r-3:answered')).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  it('a callback queued longer ago than the age limit is failed on start, not sent', async () => {
    h = await startNotifierHarness(ctx.store);
    await h.notifier.close();
    await h.outbox.enqueue({ idempotencyKey: 'r-4:ringing', url: h.receiver.url(), body: '{"status":"ringing"}', createdAt: T0 - 25 * 3600_000 });
    const restarted = h.spawn(await ctx.reopen());
    restarted.start();
    await restarted.idle();
    expect(h.receiver.requests).toHaveLength(0);
    expect(await h.outbox.get('r-4:ringing')).toMatchObject({ status: 'failed', lastError: 'not sent: queued 90000 s ago, past the 86400 s age limit' });
  });
});
