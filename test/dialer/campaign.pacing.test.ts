import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Store } from '../../src/store/database.js';
import { advanceUntil, campaignEnded } from '../support/campaign-doubles.js';
import { runnerRig, type RunnerRig } from '../support/campaign-fixtures.js';
import { makeTempDir, type TempDir } from '../support/store-fixtures.js';

function contacts(n: number) {
  return Array.from({ length: n }, (_, i) => ({ phone: `+1555300${String(i).padStart(4, '0')}` }));
}

function campaign(n: number, pacing: { callsPerSecond: number; maxConcurrent: number }) {
  return { name: `pacing ${n}`, caller: '+15550001000', bot: 'survey', escalation: 'all' as const, attemptsPerContact: 1, pacing, contacts: contacts(n) };
}

/** Most calls started within any one second. */
function busiestSecond(times: number[]): number {
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 1000) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('campaign pacing', () => {
  let dir: TempDir;
  let store: Store;
  let rig: RunnerRig | undefined;
  beforeAll(async () => {
    dir = await makeTempDir('voxgate-campaign-pacing-');
    store = await openDatabase({ dataDir: dir.path });
  });
  afterEach(async () => {
    await rig?.dispose();
    rig = undefined;
  });
  afterAll(async () => {
    await store.close();
    await dir.remove();
  });

  it('holds 10 calls/s over a 1,000-contact campaign (measured rate within 5%) and never exceeds maxConcurrent', async () => {
    rig = await runnerRig(store, () => ({ answer: true, dtmf: '1', talkMs: 2000 }));
    const created = await rig.runner.create(campaign(1000, { callsPerSecond: 10, maxConcurrent: 50 }));
    await advanceUntil(rig.clock, rig.runner, campaignEnded(rig.runner, created.id), { stepMs: 10, maxMs: 200_000 });

    const times = rig.placer.placed.map((p) => p.at);
    expect(times).toHaveLength(1000);
    expect(new Set(rig.placer.placed.map((p) => p.phone)).size).toBe(1000);
    const rate = (times.length - 1) / ((times.at(-1)! - times[0]!) / 1000);
    expect(Math.abs(rate - 10) / 10).toBeLessThan(0.05);
    expect(busiestSecond(times)).toBeLessThanOrEqual(11);
    expect(rig.placer.maxLive).toBeLessThanOrEqual(50);
    expect((await rig.runner.progress(created.id))?.contactOutcomes).toEqual({ accepted: 1000 });
  }, 120_000);

  it('maxConcurrent caps the calls in flight when calls outlast the pacing', async () => {
    rig = await runnerRig(store, () => ({ answer: true, dtmf: '2', talkMs: 3000 }));
    const created = await rig.runner.create(campaign(60, { callsPerSecond: 20, maxConcurrent: 5 }));
    let peakActive = 0;
    rig.runner.onEvent((e) => {
      if (e.type === 'attempt.started') peakActive = Math.max(peakActive, rig!.placer.live);
    });
    await advanceUntil(rig.clock, rig.runner, campaignEnded(rig.runner, created.id), { stepMs: 10, maxMs: 200_000 });
    expect(rig.placer.placed).toHaveLength(60);
    expect(rig.placer.maxLive).toBe(5);
    expect(peakActive).toBeLessThanOrEqual(5);
    // 60 calls, 5 at a time, ~3.1 s each: the concurrency, not the 20 calls/s, sets the pace.
    const times = rig.placer.placed.map((p) => p.at);
    expect(times.at(-1)! - times[0]!).toBeGreaterThan(11 * 3000);
  }, 60_000);

  it('a fractional rate (0.5 calls/s) spaces calls two seconds apart', async () => {
    rig = await runnerRig(store, () => ({ fail: 'busy' }));
    const created = await rig.runner.create(campaign(20, { callsPerSecond: 0.5, maxConcurrent: 10 }));
    await advanceUntil(rig.clock, rig.runner, campaignEnded(rig.runner, created.id), { stepMs: 50, maxMs: 100_000 });
    const times = rig.placer.placed.map((p) => p.at);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1950);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(2050);
  }, 60_000);
});
