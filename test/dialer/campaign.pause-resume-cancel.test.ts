import { afterEach, expect, it } from 'vitest';
import { advanceUntil, campaignEnded } from '../support/campaign-doubles.js';
import { runnerRig, type RunnerRig } from '../support/campaign-fixtures.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

function campaign(n: number) {
  return {
    name: 'reminders',
    caller: '+15550001000',
    bot: 'reminder',
    escalation: 'all' as const,
    attemptsPerContact: 2,
    retrySpacingSec: 10,
    pacing: { callsPerSecond: 2, maxConcurrent: 3 },
    contacts: Array.from({ length: n }, (_, i) => ({ phone: `+1555400${String(i).padStart(4, '0')}` })),
  };
}

describeOnEachDialect('campaign pause, resume, cancel', (ctx) => {
  let rig: RunnerRig | undefined;
  afterEach(async () => {
    await rig?.dispose();
    rig = undefined;
  });

  it('pause stops new calls (calls in flight still finish and are recorded); resume carries on to the end', async () => {
    rig = await runnerRig(ctx.store, () => ({ answer: true, dtmf: '1', talkMs: 4000 }));
    const created = await rig.runner.create(campaign(10));
    const r = rig;
    await advanceUntil(r.clock, r.runner, () => r.placer.placed.length >= 3, { stepMs: 100 });
    expect(await r.runner.pause(created.id)).toBe(true);
    const placedAtPause = r.placer.placed.length;

    // Long after every call in flight ended: nothing new was dialed.
    await advanceUntil(r.clock, r.runner, () => r.placer.live === 0, { stepMs: 100 });
    r.clock.advance(60_000);
    await r.runner.settled();
    expect(r.placer.placed).toHaveLength(placedAtPause);
    const paused = await r.runner.progress(created.id);
    expect(paused).toMatchObject({ status: 'paused', attempts: { active: 0, byOutcome: { accepted: placedAtPause } } });
    expect(paused?.contacts.pending).toBe(10 - placedAtPause);

    expect(await r.runner.pause(created.id)).toBe(false);
    expect(await r.runner.resume(created.id)).toBe(true);
    await advanceUntil(r.clock, r.runner, campaignEnded(r.runner, created.id), { stepMs: 100 });
    expect(r.placer.placed).toHaveLength(10);
    expect(new Set(r.placer.placed.map((p) => p.phone)).size).toBe(10);
    expect(await r.runner.progress(created.id)).toMatchObject({ status: 'completed', contactOutcomes: { accepted: 10 } });
    expect(r.events.filter((e) => e.type === 'campaign.status').map((e) => e.type === 'campaign.status' && e.status)).toEqual([
      'running',
      'paused',
      'running',
      'completed',
    ]);
  });

  it('cancel settles every waiting contact as cancelled, records the calls in flight, and dials nothing more', async () => {
    rig = await runnerRig(ctx.store, () => ({ fail: 'no-answer', afterMs: 3000 }));
    const created = await rig.runner.create(campaign(8));
    const r = rig;
    await advanceUntil(r.clock, r.runner, () => r.placer.placed.length >= 2, { stepMs: 100 });
    expect(r.placer.live).toBe(2);
    expect(await r.runner.cancel(created.id)).toBe(true);
    await advanceUntil(r.clock, r.runner, () => r.placer.live === 0, { stepMs: 100 });
    r.clock.advance(60_000);
    await r.runner.settled();

    expect(r.placer.placed).toHaveLength(2);
    const progress = await r.runner.progress(created.id);
    expect(progress).toMatchObject({
      status: 'cancelled',
      contacts: { total: 8, pending: 0, inProgress: 0, skipped: 8 },
      contactOutcomes: { cancelled: 8 },
      attempts: { total: 2, active: 0, byOutcome: { 'no-answer': 2 } },
    });
    expect(await r.runner.resume(created.id)).toBe(false);
    expect(await r.runner.cancel(created.id)).toBe(false);
    expect(r.callbacks.sent).toEqual([]); // no callback URL configured
  });

  it('live progress counts by outcome while the campaign runs', async () => {
    rig = await runnerRig(ctx.store, (phone) => (phone.endsWith('0') || phone.endsWith('5') ? { answer: true, dtmf: '2' } : { fail: 'busy', afterMs: 500 }));
    const created = await rig.runner.create({ ...campaign(10), pacing: { callsPerSecond: 10, maxConcurrent: 10 } });
    const r = rig;
    await advanceUntil(r.clock, r.runner, () => r.placer.placed.length >= 10, { stepMs: 50 });
    await advanceUntil(r.clock, r.runner, () => r.placer.live === 0, { stepMs: 50 });
    const midway = await r.runner.progress(created.id);
    // Attempt 1 is over everywhere; the busy ones wait 10 s for their second attempt.
    expect(midway).toMatchObject({
      status: 'running',
      contacts: { total: 10, pending: 8, done: 2 },
      contactOutcomes: { rejected: 2 },
      attempts: { total: 10, active: 0, byOutcome: { rejected: 2, busy: 8 } },
    });
    await advanceUntil(r.clock, r.runner, campaignEnded(r.runner, created.id), { stepMs: 100 });
    expect(await r.runner.progress(created.id)).toMatchObject({
      status: 'completed',
      contactOutcomes: { rejected: 2, exhausted: 8 },
      attempts: { total: 18, byOutcome: { rejected: 2, busy: 16 } },
    });
  });
});
