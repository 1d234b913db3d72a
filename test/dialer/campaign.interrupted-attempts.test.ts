import { hostname } from 'node:os';
import { afterEach, expect, it } from 'vitest';
import { parseCampaignDefinition } from '../../src/dialer/campaign-definition.js';
import { advanceUntil, campaignEnded } from '../support/campaign-doubles.js';
import { ALICE, BOB, runnerRig, seed002Campaign, type RunnerRig } from '../support/campaign-fixtures.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

/** A pid no process has: owners with it are dead. */
function deadPid(): number {
  for (let pid = 4_000_000; ; pid--) {
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return pid;
    }
  }
}

describeOnEachDialect('campaign attempts left behind by a stopped process', (ctx) => {
  const rigs: RunnerRig[] = [];
  afterEach(async () => {
    for (const rig of rigs.splice(0)) await rig.dispose();
  });

  it('on start, an attempt a dead process left in flight is marked interrupted, used up, and never dialed again', async () => {
    const rig = await runnerRig(ctx.store, () => ({ answer: true, dtmf: '2' }), { autoStart: false });
    rigs.push(rig);
    const campaign = await rig.repository.create({ definition: parseCampaignDefinition(seed002Campaign()), now: rig.clock.now() });
    const [alice] = await rig.repository.contacts(campaign.id);
    // What a process killed after claiming (and maybe dialing) Alice's first attempt leaves in the store.
    const orphan = await rig.repository.claimAttempt({
      campaignId: campaign.id,
      contactId: alice!.id,
      attemptNo: 1,
      attemptsPerContact: 3,
      owner: `${hostname()}#${deadPid()}#gone`,
      now: rig.clock.now(),
      onlyIfFirstOpen: true,
    });
    await rig.repository.markProgress(orphan!.id, 'ringing');

    await rig.runner.start();
    await advanceUntil(rig.clock, rig.runner, campaignEnded(rig.runner, campaign.id), { stepMs: 1000 });
    const history = await rig.runner.history(campaign.id);
    expect(history.slice(0, 3).map((h) => [h.phone, h.attemptNo, h.status, h.outcome])).toEqual([
      [ALICE, 1, 'interrupted', 'interrupted'],
      [ALICE, 2, 'completed', 'rejected'],
      [BOB, 1, 'completed', 'rejected'],
    ]);
    expect(history[0]!.detail).toMatch(/stopped before the call ended/);
    expect(rig.placer.attemptsTo(ALICE).map((p) => p.attemptNo)).toEqual([2]);
    // The interrupted attempt is reported like any other.
    expect(rig.callbacks.sent[0]!.payload).toMatchObject({ attempt: { attemptNo: 1, outcome: 'interrupted' } });
  });

  it('calls in flight of a live runner in this process are left alone by a second runner starting', async () => {
    const first = await runnerRig(ctx.store, () => ({ answer: true, dtmf: '1', talkMs: 30_000 }));
    rigs.push(first);
    const campaign = await first.runner.create(seed002Campaign({ escalation: 'all', pacing: { callsPerSecond: 10, maxConcurrent: 10 } }));
    await advanceUntil(first.clock, first.runner, () => first.placer.live === 4, { stepMs: 100 });

    const second = await runnerRig(ctx.store, () => ({ answer: true, dtmf: '1' }));
    rigs.push(second);
    await second.runner.settled();
    expect(await second.repository.activeAttempts(campaign.id)).toHaveLength(4);
    expect(second.placer.placed).toHaveLength(0);

    await advanceUntil(first.clock, first.runner, campaignEnded(first.runner, campaign.id), { stepMs: 1000 });
    expect(await first.runner.progress(campaign.id)).toMatchObject({ contactOutcomes: { accepted: 4 }, attempts: { total: 4 } });
  });

  it('a call the dialer never reports an end for is failed as an error after attemptTimeoutMs, and the contact is retried', async () => {
    const rig = await runnerRig(ctx.store, (phone, attemptNo) => (attemptNo === 1 ? { lost: true } : { answer: true, dtmf: '1' }), {
      attemptTimeoutMs: 10 * 60_000,
    });
    rigs.push(rig);
    const campaign = await rig.runner.create(seed002Campaign());
    await advanceUntil(rig.clock, rig.runner, campaignEnded(rig.runner, campaign.id), { stepMs: 1000 });
    const history = await rig.runner.history(campaign.id);
    expect(history.map((h) => [h.phone, h.attemptNo, h.status, h.outcome])).toEqual([
      [ALICE, 1, 'failed', 'error'],
      [ALICE, 2, 'completed', 'accepted'],
    ]);
    expect(history[0]!.detail).toBe('no final status from the dialer within 600 s');
    // Noticed at the first recovery pass after the timeout (they run every minute).
    expect(history[0]!.endedAt! - history[0]!.startedAt).toBeGreaterThan(10 * 60_000);
    expect(history[0]!.endedAt! - history[0]!.startedAt).toBeLessThanOrEqual(11 * 60_000 + 1000);
  });
});
