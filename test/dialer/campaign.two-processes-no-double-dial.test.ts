import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCampaignDefinition } from '../../src/dialer/campaign-definition.js';
import { CampaignRepository } from '../../src/store/campaign-repository.js';
import { openDatabase } from '../../src/store/database.js';
import { expectNoLossNoDuplicate, readPlacementLog, startWorker, type WorkerProcess } from '../support/campaign-processes.js';
import { makeTempDir, type TempDir } from '../support/store-fixtures.js';

const CONTACTS = 30;
const ATTEMPTS = 3;

describe('two processes sharing one campaign', () => {
  let dir: TempDir | undefined;
  const workers: WorkerProcess[] = [];
  afterEach(async () => {
    for (const w of workers.splice(0)) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await dir?.remove();
  });

  it('split the calls between them and never claim the same attempt twice', async () => {
    dir = await makeTempDir('voxgate-campaign-shared-');
    const store = await openDatabase({ dataDir: dir.path });
    const repo = new CampaignRepository(store.db);
    const definition = parseCampaignDefinition({
      name: 'shared campaign',
      caller: '+15550001000',
      bot: 'ticket-bot',
      escalation: 'all',
      attemptsPerContact: ATTEMPTS,
      retrySpacingSec: 0.05,
      pacing: { callsPerSecond: 30, maxConcurrent: 6 },
      contacts: Array.from({ length: CONTACTS }, (_, i) => ({ phone: `+1555200${String(i).padStart(4, '0')}` })),
    });
    // Paused while both processes come up, so neither gets a head start.
    const campaign = await repo.create({ definition, now: Date.now() });
    await repo.transition(campaign.id, ['running'], 'paused', Date.now());

    const logA = join(dir.path, 'a.log');
    const logB = join(dir.path, 'b.log');
    const a = startWorker(dir.path, logA);
    const b = startWorker(dir.path, logB);
    workers.push(a, b);
    await Promise.all([a.started, b.started]);
    await repo.transition(campaign.id, ['paused'], 'running', Date.now());

    const [exitA, exitB] = await Promise.all([a.exited, b.exited]);
    expect(exitA.code, exitA.stderr).toBe(0);
    expect(exitB.code, exitB.stderr).toBe(0);

    const contacts = await repo.contacts(campaign.id);
    const attempts = await repo.history(campaign.id);
    await store.close();
    const placements = readPlacementLog(logA, logB);
    expectNoLossNoDuplicate(contacts, attempts, placements, ATTEMPTS);
    // Both took part, and neither mistook the other's live calls for a dead process's.
    expect(readPlacementLog(logA).length).toBeGreaterThan(0);
    expect(readPlacementLog(logB).length).toBeGreaterThan(0);
    expect(attempts.filter((x) => x.status === 'interrupted')).toEqual([]);
    expect(new Set(attempts.map((x) => x.owner?.split('#')[1]))).toEqual(new Set([String(a.child.pid), String(b.child.pid)]));
  }, 60_000);
});
