import { afterEach, expect, it } from 'vitest';
import { advanceAndSettle, startNotifierHarness, T0, type NotifierHarness } from '../support/callback-receiver.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

const S0 = T0 / 1000;

describeOnEachDialect('status callbacks: one call at a time per order key', (ctx) => {
  let h: NotifierHarness;
  afterEach(async () => h?.close());

  it('the next status of a call waits for the one in flight; other calls are not held up', async () => {
    h = await startNotifierHarness(ctx.store, { requestTimeoutMs: 2000 });
    h.receiver.replyNext({ hang: true });
    h.notifier.notify(h.receiver.url(), { call: 'A', status: 'ringing' }, 'A:ringing', { orderKey: 'A' });
    h.notifier.notify(h.receiver.url(), { call: 'A', status: 'answered' }, 'A:answered', { orderKey: 'A' });
    h.notifier.notify(h.receiver.url(), { call: 'B', status: 'ringing' }, 'B:ringing', { orderKey: 'B' });
    await h.eventWhere((e) => e.type === 'delivered' && e.idempotencyKey === 'B:ringing');
    // A:ringing hangs until its timeout; only then does A:answered leave (B went at once).
    await advanceAndSettle(h, 2000);
    await advanceAndSettle(h, 1000);

    const sent = h.receiver.requests.map((r) => `${r.headers['idempotency-key']}@${Number(r.headers['x-voxgate-timestamp']) - S0}`);
    expect(sent).toEqual(['A:ringing@0', 'B:ringing@0', 'A:answered@2', 'A:ringing@3']);
  });

  it('without an order key, callbacks go out concurrently in queue order', async () => {
    h = await startNotifierHarness(ctx.store);
    for (const status of ['initiated', 'ringing', 'answered', 'completed']) h.notifier.notify(h.receiver.url(), { status }, `C:${status}`);
    await h.receiver.waitForRequests(4);
    await h.notifier.idle();
    expect(h.receiver.timestamps()).toEqual([S0, S0, S0, S0]);
    expect((await h.outbox.list()).map((r) => r.status)).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
  });
});
