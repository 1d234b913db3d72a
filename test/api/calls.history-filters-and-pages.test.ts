import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { callsRoutes } from '../../src/api/calls-routes.js';
import { silentLogger } from '../../src/logger.js';
import { ConfigRepository } from '../../src/store/config-repository.js';
import { CallRetention } from '../../src/store/retention.js';
import type { CallRecord } from '../../src/store/schema.js';
import { bareApp, seedCall } from '../support/management-api.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

describeOnEachDialect('call history: filters and keyset pages', (ctx) => {
  let app: FastifyInstance;
  const base = 4_200_000_000_000;
  const bot = `hist-${process.pid}`;
  let seeded: CallRecord[] = [];

  beforeAll(async () => {
    const { store } = ctx;
    const retention = new CallRetention({ store, settings: new ConfigRepository(store.db), recordingsDir: '/nonexistent' });
    app = await bareApp(callsRoutes, { store, live: { list: () => [] }, retention, recordingsDir: '/nonexistent', logger: silentLogger() });
    seeded = [
      await seedCall(store, { bot, startedAt: base + 1000, from: '+15551111', to: '+15552222', durationMs: 5_000, endReason: 'bot-hangup' }),
      await seedCall(store, { bot, startedAt: base + 2000, from: '15553333', to: '+15551111', direction: 'outbound', durationMs: 60_000, endReason: 'no-input' }),
      await seedCall(store, { bot, startedAt: base + 3000, durationMs: 30_000, hangupCause: 'USER_BUSY', endReason: 'carrier-hangup' }),
      await seedCall(store, { bot: `${bot}-other`, startedAt: base + 4000, durationMs: 1_000 }),
      await seedCall(store, { bot, startedAt: base + 5000 }),
    ];
  });
  afterAll(() => app?.close());

  const ids = async (query: string): Promise<string[]> => {
    const res = await app.inject({ url: `/api/v1/calls?${query}` });
    expect(res.statusCode, res.body).toBe(200);
    return (res.json() as { calls: CallRecord[] }).calls.map((c) => c.id);
  };
  const [a, b, c, other, live] = [0, 1, 2, 3, 4].map((i) => () => seeded[i].id);

  it('filters by time window, number (either side, "+" optional), bot, direction, reason or cause, and duration', async () => {
    expect(await ids(`from=${base + 2000}&to=${base + 4000}`)).toEqual([c(), b()]);
    expect(await ids(`bot=${bot}&number=15551111`)).toEqual([b(), a()]);
    expect(await ids(`bot=${bot}&number=%2B15553333`)).toEqual([b()]);
    expect(await ids(`bot=${bot}-other`)).toEqual([other()]);
    expect(await ids(`bot=${bot}&direction=outbound`)).toEqual([b()]);
    expect(await ids(`bot=${bot}&reason=no-input`)).toEqual([b()]);
    expect(await ids(`bot=${bot}&reason=USER_BUSY`)).toEqual([c()]);
    expect(await ids(`bot=${bot}&minDurationMs=10000`)).toEqual([c(), b()]);
    expect(await ids(`bot=${bot}&minDurationMs=10000&maxDurationMs=40000`)).toEqual([c()]);
    expect(await ids(`bot=${bot}`)).toEqual([live(), c(), b(), a()]);
  });

  it('pages newest first without repeating or skipping calls, also within one millisecond', async () => {
    const sameMs = base + 10_000;
    const tied = `${bot}-tied`;
    const expected: string[] = [];
    for (let i = 0; i < 7; i++) expected.push((await seedCall(ctx.store, { bot: tied, startedAt: sameMs, id: `tied-${process.pid}-${i}` })).id);
    expected.push((await seedCall(ctx.store, { bot: tied, startedAt: sameMs - 1 })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await app.inject({ url: `/api/v1/calls?bot=${tied}&limit=3${cursor ? `&cursor=${cursor}` : ''}` });
      const page = res.json() as { calls: CallRecord[]; nextCursor: string | null };
      seen.push(...page.calls.map((call) => call.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...expected.slice(0, 7).sort().reverse(), expected[7]]);
  });

  it('the last page says there is no next one', async () => {
    const res = await app.inject({ url: `/api/v1/calls?bot=${bot}-other&limit=1` });
    expect(res.json()).toMatchObject({ nextCursor: null });
  });

  it('rejects bad filters with the field named', async () => {
    const bad = async (query: string) => {
      const res = await app.inject({ url: `/api/v1/calls?${query}` });
      expect(res.statusCode).toBe(400);
      return (res.json() as { error: string }).error;
    };
    expect(await bad('limit=0')).toMatch(/^limit: /);
    expect(await bad('limit=5000')).toMatch(/^limit: /);
    expect(await bad('direction=sideways')).toMatch(/^direction: /);
    expect(await bad('from=yesterday')).toMatch(/^from: /);
    expect(await bad('minDurationMs=-1')).toMatch(/^minDurationMs: /);
    expect(await bad('cursor=not-a-cursor')).toMatch(/^cursor: /);
    expect(await bad('colour=red')).toBe('colour: not a known field');
  });
});
