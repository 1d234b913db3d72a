import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignRoutes } from '../../src/api/campaign-routes.js';
import { parseCampaignDefinition } from '../../src/dialer/campaign-definition.js';
import { silentLogger } from '../../src/logger.js';
import type { CampaignProgress } from '../../src/store/campaign-repository.js';
import { openDatabase, type Store } from '../../src/store/database.js';
import { runnerRig, seed002Campaign, type RunnerRig } from '../support/campaign-fixtures.js';
import { makeTempDir, type TempDir } from '../support/store-fixtures.js';

interface ListPage {
  campaigns: CampaignProgress[];
  nextCursor: string | null;
}

const T0 = 1_700_000_000_000;

describe('GET /api/v1/campaigns: every campaign with its progress, newest first, paged', () => {
  let dir: TempDir;
  let store: Store;
  let rig: RunnerRig;
  let app: FastifyInstance;
  /** Ids in the order the list must show them: newest first, ties by id descending. */
  let expectedOrder: string[];
  let paused: string;
  let cancelled: string;

  beforeAll(async () => {
    dir = await makeTempDir();
    store = await openDatabase({ dataDir: dir.path });
    // Not started: nothing dials, the campaigns keep the status the test gives them.
    rig = await runnerRig(store, () => ({ lost: true }), { start: T0, autoStart: false });
    const created: { id: string; createdAt: number }[] = [];
    // Three campaigns share one creation time: paging must still neither repeat nor skip one of them.
    for (const [i, at] of [T0, T0 + 1000, T0 + 1000, T0 + 1000, T0 + 2000, T0 + 3000, T0 + 4000].entries()) {
      const record = await rig.repository.create({ definition: parseCampaignDefinition(seed002Campaign({ name: `Escalation ${i}` })), now: at });
      created.push({ id: record.id, createdAt: at });
    }
    expectedOrder = [...created].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1)).map((c) => c.id);
    paused = created[1].id;
    cancelled = created[2].id;
    expect(await rig.runner.pause(paused)).toBe(true);
    expect(await rig.runner.cancel(cancelled)).toBe(true);

    app = Fastify({ logger: false });
    await app.register(campaignRoutes, { prefix: '/api/v1/campaigns', campaigns: rig.runner, logger: silentLogger() });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await rig?.dispose();
    await store?.close();
    await dir?.remove();
  });

  const list = async (query: string) => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/campaigns${query}` });
    return { status: res.statusCode, body: res.json() as ListPage & { error?: string } };
  };

  it('lists every campaign newest first, each exactly as GET /:id shows it', async () => {
    const { status, body } = await list('');
    expect(status).toBe(200);
    expect(body.nextCursor).toBeNull();
    expect(body.campaigns.map((c) => c.campaignId)).toEqual(expectedOrder);
    for (const item of body.campaigns) {
      const one = await app.inject({ method: 'GET', url: `/api/v1/campaigns/${item.campaignId}` });
      expect(item).toEqual(one.json());
    }
    const pausedItem = body.campaigns.find((c) => c.campaignId === paused)!;
    expect(pausedItem.status).toBe('paused');
    expect(pausedItem.contacts).toMatchObject({ total: 4, pending: 4 });
    expect(body.campaigns.find((c) => c.campaignId === cancelled)!.contactOutcomes).toEqual({ cancelled: 4 });
  });

  it('pages with limit and cursor: stable order, no duplicates, nothing skipped', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const { status, body }: { status: number; body: ListPage } = await list(`?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(status).toBe(200);
      expect(body.campaigns.length).toBeLessThanOrEqual(2);
      seen.push(...body.campaigns.map((c) => c.campaignId));
      cursor = body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(4);
    expect(seen).toEqual(expectedOrder);
  });

  it('filters by status, and pages within the filter', async () => {
    const { body: pausedOnly } = await list('?status=paused');
    expect(pausedOnly.campaigns.map((c) => c.campaignId)).toEqual([paused]);
    const first = await list('?status=running&limit=3');
    expect(first.body.campaigns.every((c) => c.status === 'running')).toBe(true);
    const second = await list(`?status=running&limit=3&cursor=${encodeURIComponent(first.body.nextCursor!)}`);
    expect(second.body.nextCursor).toBeNull();
    expect([...first.body.campaigns, ...second.body.campaigns].map((c) => c.campaignId)).toEqual(expectedOrder.filter((id) => id !== paused && id !== cancelled));
    expect((await list('?status=completed')).body.campaigns).toEqual([]);
  });

  it('answers 400 naming the field for a bad status, limit, cursor or an unknown parameter', async () => {
    expect(await list('?status=done')).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^status: /) } });
    expect(await list('?limit=201')).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^limit: /) } });
    expect(await list('?limit=0')).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^limit: /) } });
    expect(await list('?cursor=not-a-cursor')).toMatchObject({ status: 400, body: { error: 'cursor: expected the nextCursor of a previous page' } });
    expect(await list('?page=2')).toMatchObject({ status: 400, body: { error: 'page: not a known field' } });
    // The default page is 50 and the maximum 200: both are accepted.
    expect((await list('?limit=200')).status).toBe(200);
  });
});
