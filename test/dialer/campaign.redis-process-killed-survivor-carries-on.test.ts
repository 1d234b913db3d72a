import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCampaignDefinition } from '../../src/dialer/campaign-definition.js';
import { CampaignRepository } from '../../src/store/campaign-repository.js';
import { openDatabase } from '../../src/store/database.js';
import { expectNoLossNoDuplicate, readPlacementLog, startWorker, type WorkerProcess } from '../support/campaign-processes.js';
import { deleteRedisKeys, REDIS_TEST_URL, redisProbe, uniqueRedisPrefix } from '../support/campaign-redis.js';
import { makeTempDir, type TempDir } from '../support/store-fixtures.js';

const CONTACTS = 40;
const ATTEMPTS = 3;

describe.skipIf(!redisProbe.reachable)('one of two processes sharing a campaign through Redis is killed', () => {
  let dir: TempDir | undefined;
  let prefix: string | undefined;
  const workers: WorkerProcess[] = [];
  afterEach(async () => {
    for (const w of workers.splice(0)) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await dir?.remove();
    if (prefix) await deleteRedisKeys(prefix);
  });

  it('SIGKILL mid-campaign: the survivor takes over its queued jobs and finishes; nothing is dialed twice', async () => {
    dir = await makeTempDir('voxgate-campaign-redis-kill-');
    prefix = uniqueRedisPrefix();
    const store = await openDatabase({ dataDir: dir.path });
    const repo = new CampaignRepository(store.db);
    const definition = parseCampaignDefinition({
      name: 'redis crash drill',
      caller: '+15550001000',
      bot: 'ticket-bot',
      escalation: 'all',
      attemptsPerContact: ATTEMPTS,
      retrySpacingSec: 0.05,
      pacing: { callsPerSecond: 40, maxConcurrent: 12 },
      contacts: Array.from({ length: CONTACTS }, (_, i) => ({ phone: `+1555500${String(i).padStart(4, '0')}` })),
    });
    const campaign = await repo.create({ definition, now: Date.now() });
    await repo.transition(campaign.id, ['running'], 'paused', Date.now());

    const env = {
      VOXGATE_WORKER_REDIS_URL: REDIS_TEST_URL,
      VOXGATE_WORKER_REDIS_PREFIX: prefix,
      VOXGATE_WORKER_LOCK_MS: '1000',
      VOXGATE_WORKER_RECOVERY_MS: '500',
    };
    const logA = join(dir.path, 'a.log');
    const logB = join(dir.path, 'b.log');
    const a = startWorker(dir.path, logA, env);
    const b = startWorker(dir.path, logB, env);
    workers.push(a, b);
    await Promise.all([a.started, b.started]);
    await repo.transition(campaign.id, ['paused'], 'running', Date.now());

    await a.placed(15);
    a.child.kill('SIGKILL');
    expect((await a.exited).signal).toBe('SIGKILL');
    const done = await b.exited;
    expect(done.code, done.stderr).toBe(0);

    const contacts = await repo.contacts(campaign.id);
    const attempts = await repo.history(campaign.id);
    expect((await repo.get(campaign.id))?.status).toBe('completed');
    await store.close();
    const placements = readPlacementLog(logA, logB);
    expectNoLossNoDuplicate(contacts, attempts, placements, ATTEMPTS);
    // Calls the killed process had in flight are used up as interrupted, and only it ever placed them.
    const interrupted = attempts.filter((x) => x.status === 'interrupted');
    expect(interrupted.length).toBeGreaterThan(0);
    for (const x of interrupted) {
      const position = contacts.find((c) => c.id === x.contactId)!.position;
      expect(placements.filter((p) => p.position === position && p.attemptNo === x.attemptNo).every((p) => p.pid === a.child.pid)).toBe(true);
    }
    expect(attempts.filter((x) => x.status === 'queued')).toEqual([]);
    expect(readPlacementLog(logB).length).toBeGreaterThan(0);
  }, 90_000);
});
