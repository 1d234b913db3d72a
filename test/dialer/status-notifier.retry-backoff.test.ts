import { afterEach, describe, expect, it } from 'vitest';
import { CallbackRetryPolicy, parseRetryAfter } from '../../src/dialer/callback-retry-policy.js';
import { advanceAndSettle, startNotifierHarness, T0, type NotifierHarness } from '../support/callback-receiver.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

const S0 = T0 / 1000;

describeOnEachDialect('status callbacks: retries with backoff until delivered', (ctx) => {
  let h: NotifierHarness;
  afterEach(async () => h?.close());

  it('503 three times: retried after 1 s, 2 s and 4 s, then delivered once with the same key and body', async () => {
    h = await startNotifierHarness(ctx.store);
    h.receiver.failNext(3, 503);
    h.notifier.notify(h.receiver.url(), { conversationId: 'c-1', status: 'ringing' }, 'c-1:ringing');
    await h.notifier.idle();
    expect(h.receiver.requests).toHaveLength(1);

    await advanceAndSettle(h, 999);
    expect(h.receiver.requests).toHaveLength(1);
    await advanceAndSettle(h, 1);
    expect(h.receiver.requests).toHaveLength(2);
    await advanceAndSettle(h, 2000);
    await advanceAndSettle(h, 4000);

    expect(h.receiver.timestamps()).toEqual([S0, S0 + 1, S0 + 3, S0 + 7]);
    expect(h.receiver.requests.map((r) => r.reply)).toMatchObject([{ status: 503 }, { status: 503 }, { status: 503 }, { status: 200 }]);
    expect(new Set(h.receiver.requests.map((r) => r.headers['idempotency-key']))).toEqual(new Set(['c-1:ringing']));
    expect(new Set(h.receiver.requests.map((r) => r.body))).toEqual(new Set(['{"conversationId":"c-1","status":"ringing"}']));
    const row = await h.outbox.get('c-1:ringing');
    expect(row).toMatchObject({ status: 'delivered', attempts: 4, deliveredAt: T0 + 7000, lastError: null });
    expect(h.events.filter((e) => e.type === 'retry-scheduled').map((e) => e.type === 'retry-scheduled' && e.nextAttemptAt)).toEqual([T0 + 1000, T0 + 3000, T0 + 7000]);

    await advanceAndSettle(h, 600_000);
    expect(h.receiver.requests).toHaveLength(4);
  });

  it('429 with Retry-After: 7 waits exactly 7 s instead of the 1 s backoff', async () => {
    h = await startNotifierHarness(ctx.store);
    h.receiver.replyNext({ status: 429, headers: { 'Retry-After': '7' }, body: 'slow down' });
    h.notifier.notify(h.receiver.url(), { status: 'answered' }, 'c-2:answered');
    await h.notifier.idle();
    expect((await h.outbox.get('c-2:answered'))?.lastError).toBe('HTTP 429: slow down');
    await advanceAndSettle(h, 6999);
    expect(h.receiver.requests).toHaveLength(1);
    await advanceAndSettle(h, 1);
    expect(h.receiver.timestamps()).toEqual([S0, S0 + 7]);
    expect(await h.outbox.get('c-2:answered')).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  it('Retry-After as an HTTP date is honoured too', async () => {
    h = await startNotifierHarness(ctx.store);
    h.receiver.replyNext({ status: 503, headers: { 'Retry-After': new Date(T0 + 12_000).toUTCString() } });
    h.notifier.notify(h.receiver.url(), { status: 'answered' }, 'c-3:answered');
    await h.notifier.idle();
    await advanceAndSettle(h, 11_999);
    expect(h.receiver.requests).toHaveLength(1);
    await advanceAndSettle(h, 1);
    expect(h.receiver.timestamps()).toEqual([S0, S0 + 12]);
  });

  it('a dropped connection and a 408 are retried like a 5xx', async () => {
    h = await startNotifierHarness(ctx.store);
    h.receiver.replyNext({ drop: true }, { status: 408 });
    h.notifier.notify(h.receiver.url(), { status: 'completed' }, 'c-4:completed');
    await h.notifier.idle();
    const afterDrop = await h.outbox.get('c-4:completed');
    expect(afterDrop).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: T0 + 1000 });
    expect(afterDrop?.lastError).toMatch(/^request failed: /);
    await advanceAndSettle(h, 1000);
    expect((await h.outbox.get('c-4:completed'))?.lastError).toBe('HTTP 408');
    await advanceAndSettle(h, 2000);
    expect(await h.outbox.get('c-4:completed')).toMatchObject({ status: 'delivered', attempts: 3 });
  });
});

describe('status callback retry policy', () => {
  it('doubles from 1 s and is capped at 5 minutes', () => {
    const policy = new CallbackRetryPolicy({ random: () => 0 });
    expect([1, 2, 3, 4, 5, 9, 10, 30].map((n) => policy.backoffMs(n))).toEqual([1000, 2000, 4000, 8000, 16000, 256_000, 300_000, 300_000]);
  });

  it('jitter only shortens a delay, by at most 20%', () => {
    const policy = new CallbackRetryPolicy({ random: () => 0.999999 });
    expect(policy.backoffMs(3)).toBe(3200);
    expect(policy.backoffMs(50)).toBe(240_000);
  });

  it('reads Retry-After seconds and dates, ignores garbage', () => {
    expect(parseRetryAfter('120', T0)).toBe(120_000);
    expect(parseRetryAfter(new Date(T0 + 30_000).toUTCString(), T0)).toBe(30_000);
    expect(parseRetryAfter('soon', T0)).toBeUndefined();
    expect(parseRetryAfter(null, T0)).toBeUndefined();
  });
});
