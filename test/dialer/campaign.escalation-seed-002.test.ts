import { afterEach, expect, it } from 'vitest';
import { advanceUntil, campaignEnded, type CalleeScript } from '../support/campaign-doubles.js';
import { ALICE, BOB, CAROL, DAVE, runnerRig, seed002Campaign, type RunnerRig } from '../support/campaign-fixtures.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

describeOnEachDialect('campaign escalation (seed 002 as configuration)', (ctx) => {
  let rig: RunnerRig | undefined;
  afterEach(async () => {
    await rig?.dispose();
    rig = undefined;
  });

  async function run(script: (phone: string, attemptNo: number) => CalleeScript, overrides = {}) {
    rig = await runnerRig(ctx.store, script);
    const campaign = await rig.runner.create(seed002Campaign(overrides));
    await advanceUntil(rig.clock, rig.runner, campaignEnded(rig.runner, campaign.id), { stepMs: 100 });
    const history = await rig.runner.history(campaign.id);
    const progress = await rig.runner.progress(campaign.id);
    return { campaign, history, progress: progress!, rig };
  }

  it('walks the list: Alice never answers three times, Bob rejects, Carol accepts; Dave is never called', async () => {
    const { history, progress, rig } = await run((phone) => {
      if (phone === ALICE) return { fail: 'no-answer', afterMs: 30_000 };
      if (phone === BOB) return { answer: true, dtmf: '2' };
      return { answer: true, dtmf: '1' };
    });

    expect(history.map((h) => [h.name, h.attemptNo, h.outcome])).toEqual([
      ['Alice', 1, 'no-answer'],
      ['Alice', 2, 'no-answer'],
      ['Alice', 3, 'no-answer'],
      ['Bob', 1, 'rejected'],
      ['Carol', 1, 'accepted'],
    ]);
    expect(rig.placer.attemptsTo(DAVE)).toHaveLength(0);
    expect(progress.status).toBe('completed');
    expect(progress.result).toBe('accepted');
    expect(progress.acceptedBy).toMatchObject({ name: 'Carol', phone: CAROL });
    expect(progress.contactOutcomes).toEqual({ exhausted: 1, rejected: 1, accepted: 1, skipped: 1 });
    expect(progress.attempts.byOutcome).toEqual({ 'no-answer': 3, rejected: 1, accepted: 1 });

    // Spacing: each retry of Alice starts 60 s after the previous attempt ended.
    const alice = history.filter((h) => h.phone === ALICE);
    for (let i = 1; i < alice.length; i++) expect(alice[i]!.startedAt - alice[i - 1]!.endedAt!).toBe(60_000);
    // Sequential: never two contacts at once.
    expect(rig.placer.maxLive).toBe(1);
    // The prompts get the ticket and the contact's own name.
    expect(rig.placer.attemptsTo(CAROL)[0]!.request.variables).toMatchObject({ ticket: 'INC-4711', name: 'Carol', phone: CAROL });
    expect(rig.placer.attemptsTo(CAROL)[0]!.request.dialPlan?.verbs).toHaveLength(5);
  });

  it('reports exhausted when everyone rejects', async () => {
    const { history, progress } = await run(() => ({ answer: true, dtmf: '2' }));
    expect(history.map((h) => [h.name, h.outcome])).toEqual([
      ['Alice', 'rejected'],
      ['Bob', 'rejected'],
      ['Carol', 'rejected'],
      ['Dave', 'rejected'],
    ]);
    expect(progress.result).toBe('exhausted');
    expect(progress.acceptedBy).toBeUndefined();
    expect(progress.contactOutcomes).toEqual({ rejected: 4 });
  });

  it('stops at the first contact when she accepts at once', async () => {
    const { history, progress, rig } = await run(() => ({ answer: true, dtmf: '1' }));
    expect(history.map((h) => [h.name, h.attemptNo, h.outcome])).toEqual([['Alice', 1, 'accepted']]);
    expect(rig.placer.placed).toHaveLength(1);
    expect(progress.acceptedBy?.name).toBe('Alice');
    expect(progress.contacts).toMatchObject({ total: 4, done: 1, skipped: 3 });
  });

  it('retries a contact who answers but presses nothing (menu repeated, still silent), then moves on', async () => {
    const { history, progress } = await run((phone, attemptNo) => {
      if (phone === ALICE) return { answer: true, talkMs: 25_000 };
      if (phone === BOB && attemptNo === 1) return { fail: 'busy' };
      return { answer: true, dtmf: '31' };
    });
    expect(history.map((h) => [h.name, h.attemptNo, h.outcome])).toEqual([
      ['Alice', 1, 'no-response'],
      ['Alice', 2, 'no-response'],
      ['Alice', 3, 'no-response'],
      ['Bob', 1, 'busy'],
      ['Bob', 2, 'accepted'],
    ]);
    expect(history[4]!.dtmf).toBe('31');
    expect(progress.acceptedBy?.name).toBe('Bob');
  });

  it('posts every attempt and the end of the campaign to the callback URL, once each', async () => {
    const { campaign, history, rig } = await run((phone) => (phone === ALICE ? { answer: true, dtmf: '2' } : { answer: true, dtmf: '1' }));
    expect(history).toHaveLength(2);
    const sent = rig.callbacks.sent;
    expect(sent.map((s) => s.payload.type)).toEqual(['campaign.attempt', 'campaign.attempt', 'campaign.finished']);
    expect(new Set(sent.map((s) => s.idempotencyKey)).size).toBe(3);
    expect(sent.every((s) => s.url === 'https://ops.example.com/escalations')).toBe(true);
    expect(sent[0]!.payload).toMatchObject({
      campaignId: campaign.id,
      contact: { name: 'Alice', outcome: 'rejected' },
      attempt: { attemptNo: 1, outcome: 'rejected', dtmf: '2' },
    });
    expect(sent[2]!.payload).toMatchObject({ status: 'completed', progress: { result: 'accepted', acceptedBy: { name: 'Bob' } } });
  });

  it('all mode calls every contact in parallel and settles each on its own', async () => {
    const { history, progress, rig } = await run(
      (phone) => {
        if (phone === ALICE) return { answer: true, dtmf: '1' };
        if (phone === BOB) return { answer: true, dtmf: '2' };
        if (phone === CAROL) return { fail: 'declined', afterMs: 5000 };
        return { fail: 'machine-detected', afterMs: 5000 };
      },
      { escalation: 'all', retrySpacingSec: 30, pacing: { callsPerSecond: 10, maxConcurrent: 10 } },
    );
    expect(rig.placer.maxLive).toBe(4);
    expect(rig.placer.placed.slice(0, 4).map((p) => p.phone)).toEqual([ALICE, BOB, CAROL, DAVE]);
    const contacts = await rig.repository.contacts(history[0]!.campaignId);
    expect(contacts.map((c) => [c.name, c.outcome, c.attemptsMade])).toEqual([
      ['Alice', 'accepted', 1],
      ['Bob', 'rejected', 1],
      ['Carol', 'exhausted', 3],
      ['Dave', 'exhausted', 3],
    ]);
    expect(progress.attempts.byOutcome).toEqual({ accepted: 1, rejected: 1, declined: 3, machine: 3 });
    expect(progress.result).toBeUndefined();
  });

  it('a callback receiver that never answers does not hold up the dialing', async () => {
    rig = await runnerRig(ctx.store, (phone) => (phone === DAVE ? { answer: true, dtmf: '1' } : { answer: true, dtmf: '2' }), { hangingNotifier: true });
    const campaign = await rig.runner.create(seed002Campaign());
    await advanceUntil(rig.clock, rig.runner, campaignEnded(rig.runner, campaign.id), { stepMs: 100, maxMs: 60_000 });
    expect(rig.placer.placed.map((p) => p.phone)).toEqual([ALICE, BOB, CAROL, DAVE]);
    expect(rig.callbacks.sent).toHaveLength(5);
  });

  it('a number the dialer refuses settles that contact as invalid without retries', async () => {
    const { history, progress } = await run((phone) => (phone === ALICE ? { refuse: 'target: not a routable number' } : { answer: true, dtmf: '1' }));
    expect(history.map((h) => [h.name, h.attemptNo, h.status, h.outcome, h.detail])).toEqual([
      ['Alice', 1, 'failed', 'error', 'target: not a routable number'],
      ['Bob', 1, 'completed', 'accepted', 'bot-hangup'],
    ]);
    expect(progress.contactOutcomes).toMatchObject({ invalid: 1, accepted: 1 });
  });
});
