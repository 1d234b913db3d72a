import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { startNotifierHarness, type NotifierHarness } from '../support/callback-receiver.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';
import { LOG_ERROR } from '../support/captured-logger.js';

async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/status`;
}

describeOnEachDialect('status callbacks: bad input is a clear, logged error, never a crash', (ctx) => {
  let h: NotifierHarness;
  afterEach(async () => h?.close());

  it.each([
    ['not a url', 'callback URL "not a url" is not a valid absolute URL'],
    ['ftp://files.example.com/status', 'callback URL "ftp://files.example.com/status" must use http or https, not ftp'],
    ['', 'callback URL must be a non-empty string, got ""'],
  ])('URL %j: notify() returns, the error is logged and the callback recorded as failed', async (url, error) => {
    h = await startNotifierHarness(ctx.store);
    const key = `bad-url-${url.length}`;
    expect(() => h.notifier.notify(url, { status: 'ringing' }, key)).not.toThrow();
    await h.notifier.idle();

    expect(h.events).toEqual([{ type: 'rejected', idempotencyKey: key, url, error }]);
    expect(h.logs.some((l) => l.level === LOG_ERROR && l.msg === `status callback not sent: ${error}`)).toBe(true);
    expect(await h.outbox.get(key)).toMatchObject({ status: 'failed', attempts: 0, lastError: error });

    // The notifier keeps working.
    h.notifier.notify(h.receiver.url(), { status: 'ringing' }, `${key}-good`);
    await h.receiver.waitForRequests(1);
    await h.notifier.idle();
    expect(await h.outbox.get(`${key}-good`)).toMatchObject({ status: 'delivered' });
  });

  it('a payload that is not JSON, or a bad idempotency key, is rejected without a row', async () => {
    h = await startNotifierHarness(ctx.store);
    const circular: Record<string, unknown> = { status: 'answered' };
    circular.self = circular;
    h.notifier.notify(h.receiver.url(), circular, 'circular');
    h.notifier.notify(h.receiver.url(), { n: 1n } as object, 'bigint');
    h.notifier.notify(h.receiver.url(), 'answered' as unknown as object, 'string-payload');
    h.notifier.notify(h.receiver.url(), { status: 'answered' }, '');
    h.notifier.notify(h.receiver.url(), { blob: 'x'.repeat(300_000) }, 'too-big');
    h.notifier.notify(h.receiver.url(), { status: 'answered' }, 'line\r\nX-Injected: 1');
    await h.notifier.idle();

    const errors = h.events.map((e) => (e.type === 'rejected' ? e.error : e.type));
    expect(errors[0]).toMatch(/^payload cannot be sent as JSON: .*circular/i);
    expect(errors[1]).toMatch(/^payload cannot be sent as JSON: .*BigInt/);
    expect(errors[2]).toBe('payload must be a JSON object or array, got string');
    expect(errors[3]).toBe('idempotency key must be 1 to 255 printable ASCII characters, got ""');
    expect(errors[4]).toBe('payload is 300011 bytes as JSON; the limit is 262144');
    expect(errors[5]).toMatch(/^idempotency key must be 1 to 255 printable ASCII characters/);
    expect(await h.outbox.list()).toEqual([]);
    expect(h.receiver.requests).toHaveLength(0);
  });

  it('nobody listening on the URL: the connection error is recorded and retried', async () => {
    h = await startNotifierHarness(ctx.store);
    h.notifier.notify(await closedPortUrl(), { status: 'failed' }, 'refused');
    await h.notifier.idle();
    const row = await h.outbox.get('refused');
    expect(row).toMatchObject({ status: 'pending', attempts: 1 });
    expect(row?.lastError).toMatch(/^request failed: .*ECONNREFUSED/);
  });

  it('a store that fails the write loses only that callback, logged, and notify() still does not throw', async () => {
    h = await startNotifierHarness(ctx.store);
    const broken = h.spawn(await ctx.reopen());
    const store = await ctx.reopen();
    const closedNotifier = h.spawn(store);
    await store.close();
    expect(() => closedNotifier.notify(h.receiver.url(), { status: 'ringing' }, 'store-closed')).not.toThrow();
    await closedNotifier.idle();
    expect(h.logs.some((l) => l.level === LOG_ERROR && l.msg === 'status callback lost: the outbox write failed' && l.idempotencyKey === 'store-closed')).toBe(true);
    broken.notify(h.receiver.url(), { status: 'ringing' }, 'store-open');
    await h.receiver.waitForRequests(1);
  });
});
