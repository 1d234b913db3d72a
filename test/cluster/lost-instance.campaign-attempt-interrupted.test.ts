/**
 * A campaign call running on an instance that is lost: the survivor that claims the instance ends
 * the attempt `interrupted` (it counts, and that attempt is never placed again: the contact moves on
 * by the campaign's retry policy) and sends the attempt's callback, once, under the key the owner
 * would have used. The directory is an in-memory double here; the Redis one is exercised end to end
 * in lost-instance.calls-ended-by-survivor.test.ts.
 */
import { afterEach, expect, it } from 'vitest';
import type { CallDirectory, DirectoryCall } from '../../src/cluster/call-directory.js';
import { LocalCallDirectory } from '../../src/cluster/call-directory.js';
import { LostInstances } from '../../src/cluster/lost-instances.js';
import { EventBus } from '../../src/events/bus.js';
import { silentLogger } from '../../src/logger.js';
import { advanceUntil } from '../support/campaign-doubles.js';
import { ALICE, runnerRig, seed002Campaign, type RunnerRig } from '../support/campaign-fixtures.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

/** A directory in which one instance, `dead`, lost its lease holding `calls`. */
function directoryWithLost(dead: string, calls: DirectoryCall[]): CallDirectory & { forgotten: string[] } {
  const local = new LocalCallDirectory('survivor', 'http://127.0.0.1:1', 0);
  const forgotten: string[] = [];
  let claimed = false;
  return Object.assign(local, {
    forgotten,
    lostInstances: () => Promise.resolve(forgotten.includes(dead) ? [] : [dead]),
    claimLost: (id: string) => Promise.resolve(id === dead && !claimed ? ((claimed = true), calls) : undefined),
    forgetLost: (id: string) => Promise.resolve(void forgotten.push(id)),
  });
}

describeOnEachDialect('a lost instance campaign call', (ctx) => {
  const rigs: RunnerRig[] = [];
  afterEach(async () => {
    for (const rig of rigs.splice(0)) await rig.dispose();
  });

  it('ends the attempt interrupted with its callback, and never places that attempt again', async () => {
    // The first call is "lost": no status ever comes back for it (its instance died).
    const rig = await runnerRig(ctx.store, (_phone, attemptNo) => (attemptNo === 1 ? { lost: true } : { answer: true, dtmf: '1' }));
    rigs.push(rig);
    const campaign = await rig.runner.create(seed002Campaign({ contacts: [{ phone: ALICE, name: 'Alice' }] }));
    await advanceUntil(rig.clock, rig.runner, async () => (await rig.repository.activeAttempts(campaign.id)).some((a) => a.conversationId !== null));
    const [placed] = rig.placer.placed;
    const notifier = { sent: [] as { url: string; key: string }[], notify: (url: string, _payload: object, key: string) => void notifier.sent.push({ url, key }) };
    const directory = directoryWithLost('gw-dead', [{ callId: placed.conversationId, owner: 'gw-dead', carrier: 'plivo', direction: 'outbound', from: '+15550001000', to: ALICE, startedAt: rig.clock.now(), connected: false }]);
    const survivor = new LostInstances({ directory, store: ctx.store, carriers: { get: () => undefined }, bus: new EventBus(silentLogger()), notifier, campaigns: rig.runner, clock: rig.clock, logger: silentLogger(), intervalMs: 1000 });

    expect(await survivor.sweep()).toEqual([{ instanceId: 'gw-dead', calls: 1, recordsEnded: 0, hungUp: 0, outboundClosed: 1 }]);
    expect(directory.forgotten).toEqual(['gw-dead']);
    const [attempt] = (await rig.runner.history(campaign.id)).filter((h) => h.attemptNo === 1);
    expect(attempt).toMatchObject({ status: 'interrupted', outcome: 'interrupted', detail: expect.stringContaining('instance-lost') });
    const attemptCallbacks = rig.callbacks.sent.filter((c) => c.idempotencyKey === `campaign-attempt-${attempt.id}`);
    expect(attemptCallbacks).toHaveLength(1);
    expect(attemptCallbacks[0].payload).toMatchObject({ type: 'campaign.attempt', attempt: { attemptNo: 1, conversationId: placed.conversationId, outcome: 'interrupted' } });

    // Swept again: nothing left to do. The contact goes on with a new attempt (retry policy), the lost one is not re-placed.
    expect(await survivor.sweep()).toEqual([]);
    await advanceUntil(rig.clock, rig.runner, async () => (await rig.runner.progress(campaign.id))?.contactOutcomes.accepted === 1, { stepMs: 1000 });
    expect(rig.placer.placed.map((p) => p.attemptNo)).toEqual([1, 2]);
  });
});
