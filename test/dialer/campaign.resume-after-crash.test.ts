import { join } from 'node:path';
import { afterEach, expect, it, describe } from 'vitest';
import { parseCampaignDefinition } from '../../src/dialer/campaign-definition.js';
import { CampaignRepository } from '../../src/store/campaign-repository.js';
import { openDatabase } from '../../src/store/database.js';
import { expectNoLossNoDuplicate, readPlacementLog, startWorker, type WorkerProcess } from '../support/campaign-processes.js';
import { makeTempDir, type TempDir } from '../support/store-fixtures.js';

const CONTACTS = 40;
const ATTEMPTS = 3;

function workerCampaign() {
  return parseCampaignDefinition({
    name: 'crash drill',
    caller: '+15550001000',
    bot: 'ticket-bot',
    escalation: 'all',
    attemptsPerContact: ATTEMPTS,
    retrySpacingSec: 0.05,
    pacing: { callsPerSecond: 40, maxConcurrent: 8 },
    contacts: Array.from({ length: CONTACTS }, (_, i) => ({ phone: `+1555100${String(i).padStart(4, '0')}`, name: `Employee ${i}` })),
  });
}

async function createCampaign(dataDir: string): Promise<string> {
  const store = await openDatabase({ dataDir });
  try {
    return (await new CampaignRepository(store.db).create({ definition: workerCampaign(), now: Date.now() })).id;
  } finally {
    await store.close();
  }
}

async function readResults(dataDir: string, campaignId: string) {
  const store = await openDatabase({ dataDir });
  try {
    const repo = new CampaignRepository(store.db);
    return { contacts: await repo.contacts(campaignId), attempts: await repo.history(campaignId), campaign: await repo.get(campaignId) };
  } finally {
    await store.close();
  }
}

describe('campaign survives a killed process', () => {
  let dir: TempDir | undefined;
  const workers: WorkerProcess[] = [];
  afterEach(async () => {
    for (const w of workers.splice(0)) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await dir?.remove();
  });

  it('SIGKILL mid-campaign, restart: every contact gets its attempts, no (contact, attempt) is dialed twice', async () => {
    dir = await makeTempDir('voxgate-campaign-crash-');
    const campaignId = await createCampaign(dir.path);
    const log = join(dir.path, 'placed.log');

    const first = startWorker(dir.path, log);
    workers.push(first);
    await first.placed(25);
    first.child.kill('SIGKILL');
    const killed = await first.exited;
    expect(killed.signal).toBe('SIGKILL');

    const midway = await readResults(dir.path, campaignId);
    expect(midway.campaign?.status).toBe('running');
    // Calls were in flight when the process died.
    expect(midway.attempts.filter((a) => a.status === 'dialing' || a.status === 'ringing' || a.status === 'answered').length).toBeGreaterThan(0);

    const second = startWorker(dir.path, log);
    workers.push(second);
    const done = await second.exited;
    expect(done.code, done.stderr).toBe(0);

    const { contacts, attempts, campaign } = await readResults(dir.path, campaignId);
    expect(campaign?.status).toBe('completed');
    expect(contacts).toHaveLength(CONTACTS);
    const placements = readPlacementLog(log);
    expectNoLossNoDuplicate(contacts, attempts, placements, ATTEMPTS);

    const interrupted = attempts.filter((a) => a.status === 'interrupted');
    expect(interrupted.length).toBeGreaterThan(0);
    // The first process placed them; the restarted one never placed them again.
    const firstPid = first.child.pid;
    for (const a of interrupted) {
      const position = contacts.find((c) => c.id === a.contactId)!.position;
      expect(placements.filter((p) => p.position === position && p.attemptNo === a.attemptNo).every((p) => p.pid === firstPid)).toBe(true);
    }
    expect(new Set(placements.map((p) => p.pid))).toEqual(new Set([firstPid, second.child.pid]));
  }, 60_000);
});
