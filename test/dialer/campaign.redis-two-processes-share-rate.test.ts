import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCampaignDefinition } from '../../src/dialer/campaign-definition.js';
import { rateLimiter } from '../../src/dialer/campaign-queue.js';
import { CampaignRepository } from '../../src/store/campaign-repository.js';
import { openDatabase } from '../../src/store/database.js';
import { expectNoLossNoDuplicate, placementRate, readPlacementLog, startWorker, type PlacementLogLine, type WorkerProcess } from '../support/campaign-processes.js';
import { deleteRedisKeys, REDIS_TEST_URL, redisKeys, redisProbe, uniqueRedisPrefix } from '../support/campaign-redis.js';
import { createScratchPgDatabase, makeTempDir, pgProbe, type ScratchPgDatabase, type TempDir } from '../support/store-fixtures.js';

const CONTACTS = 80;
const ATTEMPTS = 2;
const CALLS_PER_SECOND = 20;
/** The rate is measured while the campaign has a backlog: the tail (last retries) trickles. */
const MEASURED = 100;

interface SharedRun {
  placements: PlacementLogLine[];
  perProcess: number[];
  rate: ReturnType<typeof placementRate>;
}

/** Two worker processes on one SQLite file (or one PostgreSQL database: `databaseUrl`) run one campaign to its end. */
async function runSharedCampaign(dir: TempDir, workers: WorkerProcess[], env: Record<string, string>, databaseUrl?: string): Promise<SharedRun> {
  const store = await openDatabase({ dataDir: dir.path, databaseUrl });
  if (databaseUrl) env = { ...env, VOXGATE_WORKER_DATABASE_URL: databaseUrl };
  const repo = new CampaignRepository(store.db);
  const definition = parseCampaignDefinition({
    name: 'shared paced campaign',
    caller: '+15550001000',
    bot: 'ticket-bot',
    escalation: 'all',
    attemptsPerContact: ATTEMPTS,
    retrySpacingSec: 0.05,
    // maxConcurrent well above rate x call length: the rate, not the concurrency, is what binds.
    pacing: { callsPerSecond: CALLS_PER_SECOND, maxConcurrent: 24 },
    contacts: Array.from({ length: CONTACTS }, (_, i) => ({ phone: `+1555300${String(i).padStart(4, '0')}` })),
  });
  // Paused while both processes come up, so neither gets a head start.
  const campaign = await repo.create({ definition, now: Date.now() });
  await repo.transition(campaign.id, ['running'], 'paused', Date.now());

  const logA = join(dir.path, 'a.log');
  const logB = join(dir.path, 'b.log');
  const a = startWorker(dir.path, logA, env);
  const b = startWorker(dir.path, logB, env);
  workers.push(a, b);
  await Promise.all([a.started, b.started]);
  await repo.transition(campaign.id, ['paused'], 'running', Date.now());

  const [exitA, exitB] = await Promise.all([a.exited, b.exited]);
  expect(exitA.code, exitA.stderr).toBe(0);
  expect(exitB.code, exitB.stderr).toBe(0);

  const contacts = await repo.contacts(campaign.id);
  const attempts = await repo.history(campaign.id);
  expect((await repo.get(campaign.id))?.status).toBe('completed');
  await store.close();
  const placements = readPlacementLog(logA, logB);
  expectNoLossNoDuplicate(contacts, attempts, placements, ATTEMPTS);
  expect(attempts.filter((x) => x.status === 'interrupted')).toEqual([]);
  const firstPlacements = [...placements].sort((x, y) => x.at - y.at).slice(0, MEASURED);
  return { placements, perProcess: [readPlacementLog(logA).length, readPlacementLog(logB).length], rate: placementRate(firstPlacements) };
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(!redisProbe.reachable || (dialect === 'postgres' && !pgProbe.reachable))(`two processes sharing one campaign through the Redis queue [${dialect}]`, () => {
    let dir: TempDir | undefined;
    let prefix: string | undefined;
    let scratch: ScratchPgDatabase | undefined;
    const workers: WorkerProcess[] = [];
    afterEach(async () => {
      for (const w of workers.splice(0)) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await dir?.remove();
      await scratch?.drop();
      scratch = undefined;
      if (prefix) await deleteRedisKeys(prefix);
    });

    it('together hold the campaign callsPerSecond (within 10%), split the calls and never dial an attempt twice', async () => {
      dir = await makeTempDir('voxgate-campaign-redis-');
      prefix = uniqueRedisPrefix();
      if (dialect === 'postgres') scratch = await createScratchPgDatabase();
      const run = await runSharedCampaign(dir, workers, { VOXGATE_WORKER_REDIS_URL: REDIS_TEST_URL, VOXGATE_WORKER_REDIS_PREFIX: prefix }, scratch?.url);
      console.info(`Redis mode [${dialect}], 2 processes: ${run.rate.perSecond.toFixed(1)} calls/s over the first ${run.rate.count} placements (target ${CALLS_PER_SECOND}), peak ${run.rate.peakPerSecond} in 1 s; split ${run.perProcess.join('/')}`);
      expect(run.rate.perSecond).toBeGreaterThan(CALLS_PER_SECOND * 0.9);
      expect(run.rate.perSecond).toBeLessThan(CALLS_PER_SECOND * 1.1);
      // Fixed limiter windows: any one second holds at most the rate plus one window's starts.
      expect(run.rate.peakPerSecond).toBeLessThanOrEqual(CALLS_PER_SECOND + rateLimiter(CALLS_PER_SECOND).max);
      // Both processes dialed: the queue hands jobs to whichever worker is free.
      expect(run.perProcess[0]).toBeGreaterThan(0);
      expect(run.perProcess[1]).toBeGreaterThan(0);
      // The completed campaign's queue was removed from Redis: no job, list or job data left behind. (A worker of the
      // other process closing just after the last removal may leave its small bookkeeping keys: meta, events, id, stalled-check.)
      const left = (await redisKeys(prefix)).filter((k) => !/:(meta|events|id|stalled-check)$/.test(k));
      expect(left, left.join(' ')).toEqual([]);
    }, 90_000);
  });
}

describe('two processes sharing one campaign in-process (no REDIS_URL)', () => {
  let dir: TempDir | undefined;
  const workers: WorkerProcess[] = [];
  afterEach(async () => {
    for (const w of workers.splice(0)) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await dir?.remove();
  });

  it('each pace on their own, so together they call at about twice the campaign rate (why Redis mode exists)', async () => {
    dir = await makeTempDir('voxgate-campaign-inproc-rate-');
    const run = await runSharedCampaign(dir, workers, {});
    console.info(`in-process mode, 2 processes: ${run.rate.perSecond.toFixed(1)} calls/s over the first ${run.rate.count} placements (target ${CALLS_PER_SECOND})`);
    expect(run.rate.perSecond).toBeGreaterThan(CALLS_PER_SECOND * 1.5);
  }, 90_000);
});
