import { afterEach, expect, it } from 'vitest';
import { advanceAndSettle, startNotifierHarness, type NotifierHarness } from '../support/callback-receiver.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';
import { LOG_ERROR } from '../support/captured-logger.js';

describeOnEachDialect('status callbacks: a 4xx answer is final', (ctx) => {
  let h: NotifierHarness;
  afterEach(async () => h?.close());

  it.each([400, 404, 410, 422])('HTTP %i: marked failed with the answer, logged, never retried', async (status) => {
    h = await startNotifierHarness(ctx.store);
    const key = `conv-4xx-${status}:failed`;
    h.receiver.replyNext({ status, body: '{"error":"unknown conversation"}' });
    h.notifier.notify(h.receiver.url(), { status: 'failed' }, key);
    await h.notifier.idle();
    await advanceAndSettle(h, 24 * 3600_000);

    expect(h.receiver.requests).toHaveLength(1);
    expect(await h.outbox.get(key)).toMatchObject({ status: 'failed', attempts: 1, lastError: `HTTP ${status}: {"error":"unknown conversation"}` });
    const logged = h.logs.find((l) => l.level === LOG_ERROR && l.idempotencyKey === key);
    expect(logged?.msg).toBe(`status callback failed permanently, not retried: HTTP ${status}: {"error":"unknown conversation"}`);
    expect(h.events.map((e) => e.type)).toEqual(['queued', 'failed']);
  });

  it('a redirect is not followed (the POST would turn into a GET): failed, naming the Location', async () => {
    h = await startNotifierHarness(ctx.store);
    h.receiver.replyNext({ status: 301, headers: { Location: 'https://example.invalid/new' } });
    h.notifier.notify(h.receiver.url(), { status: 'failed' }, 'conv-301');
    await h.notifier.idle();
    expect(await h.outbox.get('conv-301')).toMatchObject({
      status: 'failed',
      lastError: 'HTTP 301: redirects are not followed (Location: https://example.invalid/new); configure the final URL',
    });
    expect(h.receiver.requests).toHaveLength(1);
  });
});
