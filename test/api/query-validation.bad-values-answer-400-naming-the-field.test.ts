import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2e, type E2eSetup } from '../support/e2e-gateway.js';
import { seedCall } from '../support/management-api.js';

const TOKEN = 'query-validation-admin-token';

/** [request, the field the 400 must name] over every management route that reads a query or a numeric path value. */
const BAD: [string, string][] = [
  ['GET /api/v1/calls?limit=abc', 'limit'],
  ['GET /api/v1/calls?limit=0', 'limit'],
  ['GET /api/v1/calls?limit=1001', 'limit'],
  ['GET /api/v1/calls?limit=-1', 'limit'],
  ['GET /api/v1/calls?limit=2.5', 'limit'],
  ['GET /api/v1/calls?limit=1e3', 'limit'],
  ['GET /api/v1/calls?limit=', 'limit'],
  ['GET /api/v1/calls?limit=1&limit=2', 'limit'],
  ['GET /api/v1/calls?from=notadate', 'from'],
  ['GET /api/v1/calls?from=-5', 'from'],
  ['GET /api/v1/calls?from=1e20', 'from'],
  ['GET /api/v1/calls?from=', 'from'],
  ['GET /api/v1/calls?to=100000000000000000000', 'to'],
  ['GET /api/v1/calls?direction=sideways', 'direction'],
  ['GET /api/v1/calls?minDurationMs=Infinity', 'minDurationMs'],
  ['GET /api/v1/calls?maxDurationMs=1e400', 'maxDurationMs'],
  ['GET /api/v1/calls?minDurationMs=-1', 'minDurationMs'],
  ['GET /api/v1/calls?cursor=bm90LWEtY3Vyc29y', 'cursor'],
  ['GET /api/v1/calls?sort=asc', 'sort'],
  ['GET /api/v1/calls/some-call/recordings/0', 'n'],
  ['GET /api/v1/calls/some-call/recordings/first', 'n'],
  ['GET /api/v1/campaigns?status=sleeping', 'status'],
  ['GET /api/v1/campaigns?limit=201', 'limit'],
  ['GET /api/v1/campaigns?limit=0', 'limit'],
  ['GET /api/v1/campaigns?cursor=garbage', 'cursor'],
  ['GET /api/v1/campaigns/not-a-uuid', 'id'],
  ['GET /api/v1/campaigns/not-a-uuid/results.csv', 'id'],
  ['GET /api/v1/alarms/history?limit=501', 'limit'],
  ['GET /api/v1/alarms/history?limit=abc', 'limit'],
  ['GET /api/v1/alarms/history?before=0', 'before'],
  ['GET /api/v1/alarms/history?before=1e300', 'before'],
  ['GET /api/v1/alarms/history?before=-3', 'before'],
  ['GET /api/v1/alarms/history?page=2', 'page'],
  ['POST /api/v1/alarms/1e300/clear', 'id'],
  ['POST /api/v1/alarms/-1/clear', 'id'],
  ['GET /api/v1/alarm-rules/no%20spaces', 'type'],
  ['GET /api/v1/bots/demo?raw=yes', 'raw'],
  ['GET /api/v1/bots/demo?expand=1', 'expand'],
  ['GET /api/v1/bots/', 'name'],
  ['DELETE /api/v1/bots/', 'name'],
  ['GET /api/v1/routes/', 'number'],
  ['DELETE /api/v1/routes/', 'number'],
  ['GET /api/v1/calls/', 'id'],
];

describe('management API: bad query and path values answer 400 naming the field, never 500', () => {
  let e2e: E2eSetup;
  const call = async (request: string) => {
    const [method, path] = request.split(' ');
    const res = await fetch(`${e2e.gateway.url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });
    return { status: res.status, body: (await res.json()) as { error?: string; calls?: { id: string }[]; nextCursor?: string | null; entries?: unknown[]; campaigns?: unknown[] } };
  };

  beforeAll(async () => {
    e2e = await startE2e({ api: { token: TOKEN }, bots: [{ name: 'demo', type: 'flow' }] });
  }, 30_000);
  afterAll(() => e2e?.close());

  it.each(BAD)('%s -> 400 naming %s', async (request, field) => {
    const { status, body } = await call(request);
    expect(status, JSON.stringify(body)).toBe(400);
    expect(body.error).toMatch(new RegExp(`(^|; )${field}: `));
  });

  it('answers the documented maximum page sizes: calls 1000, campaigns 200, alarm history 500', async () => {
    for (const request of ['GET /api/v1/calls?limit=1000', 'GET /api/v1/campaigns?limit=200', 'GET /api/v1/alarms/history?limit=500', 'GET /api/v1/calls?limit=1&from=0&to=9007199254740991']) {
      const { status, body } = await call(request);
      expect(status, `${request}: ${JSON.stringify(body)}`).toBe(200);
    }
  });

  it('pages 1001 calls as a full page of 1000 with a cursor, then the last one', async () => {
    const startedAt = 4_300_000_000_000;
    for (let i = 0; i < 1001; i++) await seedCall(e2e.gateway.store, { bot: 'paged', startedAt: startedAt + i, durationMs: 1000 });
    const first = await call('GET /api/v1/calls?bot=paged&limit=1000');
    expect(first.status, JSON.stringify(first.body).slice(0, 200)).toBe(200);
    expect(first.body.calls).toHaveLength(1000);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await call(`GET /api/v1/calls?bot=paged&limit=1000&cursor=${first.body.nextCursor}`);
    expect(second.body.calls).toHaveLength(1);
    expect(second.body.nextCursor).toBeNull();
    // A page that ends exactly at the last call says there is no next one.
    const exact = await call(`GET /api/v1/calls?bot=paged&limit=1&cursor=${first.body.nextCursor}`);
    expect(exact.body).toMatchObject({ nextCursor: null });
  }, 30_000);
});
