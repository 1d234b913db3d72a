import { afterEach, expect, it } from 'vitest';
import { StoreInputError } from '../../src/store/input-checks.js';
import type { CallbackStatus } from '../../src/store/callback-outbox-repository.js';
import { startNotifierHarness, T0, type NotifierHarness } from '../support/callback-receiver.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

describeOnEachDialect('status callbacks: the outbox can be inspected', (ctx) => {
  let h: NotifierHarness;
  afterEach(async () => h?.close());

  it('lists callbacks newest first, by status, with attempts, errors and delivery time', async () => {
    h = await startNotifierHarness(ctx.store);
    h.receiver.replyNext({ status: 200 }, { status: 404, body: 'no such hook' }, { status: 500, body: 'oops' });
    h.notifier.notify(h.receiver.url(), { n: 1 }, 'inspect-1');
    h.notifier.notify(h.receiver.url(), { n: 2 }, 'inspect-2');
    h.notifier.notify(h.receiver.url(), { n: 3 }, 'inspect-3');
    await h.receiver.waitForRequests(3);
    await h.notifier.idle();

    const all = await h.outbox.list();
    expect(all.map((r) => r.idempotencyKey)).toEqual(['inspect-3', 'inspect-2', 'inspect-1']);
    const byKey = Object.fromEntries(all.map((r) => [r.idempotencyKey, r]));
    // Replies go to requests in arrival order, which concurrent sends do not fix: check the set of outcomes.
    const outcomes = all.map((r) => `${r.status}|${r.attempts}|${r.lastError}|${r.deliveredAt}`).sort();
    expect(outcomes).toEqual([`delivered|1|null|${T0}`, 'failed|1|HTTP 404: no such hook|null', `pending|1|HTTP 500: oops|null`]);
    expect(byKey['inspect-1'].body).toBe('{"n":1}');
    expect(byKey['inspect-1'].createdAt).toBe(T0);

    expect((await h.outbox.list({ status: 'failed' })).map((r) => r.lastError)).toEqual(['HTTP 404: no such hook']);
    expect(await h.outbox.list({ status: 'pending' })).toMatchObject([{ nextAttemptAt: T0 + 1000 }]);
    expect(await h.outbox.list({ limit: 1 })).toHaveLength(1);
  });

  it('a bad query names what was wrong', async () => {
    h = await startNotifierHarness(ctx.store);
    await expect(h.outbox.list({ status: 'lost' as CallbackStatus })).rejects.toThrow(
      new StoreInputError('callback list: status must be one of pending, delivered, failed, got "lost"'),
    );
    await expect(h.outbox.list({ limit: 0 })).rejects.toThrow('callback list: limit must be an integer from 1 to 1000, got 0');
    await expect(h.outbox.enqueue({ idempotencyKey: '', url: 'http://x', body: '{}', createdAt: T0 })).rejects.toThrow(
      'callback: idempotencyKey must be a non-empty string, got ""',
    );
  });
});
