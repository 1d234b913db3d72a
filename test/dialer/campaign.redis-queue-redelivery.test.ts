import { Queue, QueueEvents, Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/runtime/clock.js';
import { parseCampaignDefinition } from '../../src/dialer/campaign-definition.js';
import { CampaignJobQueue, dialJobId, queueName, redisConnectionOptions } from '../../src/dialer/campaign-queue.js';
import { CampaignRunner } from '../../src/dialer/campaign-runner.js';
import { silentLogger } from '../../src/logger.js';
import { CampaignRepository, type CampaignAttemptRecord } from '../../src/store/campaign-repository.js';
import { ScriptedCallPlacer } from '../support/campaign-doubles.js';
import { deleteRedisKeys, REDIS_TEST_URL, redisKeys, redisProbe, uniqueRedisPrefix } from '../support/campaign-redis.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

/** An owner on another host: its attempts count as abandoned once abandonedAfterMs has passed. */
const DEAD_OWNER = 'crashed-host.example#4242#deadbeef';
const connection = redisConnectionOptions(REDIS_TEST_URL);

function definition(name: string, contacts: number, attemptsPerContact = 2) {
  return parseCampaignDefinition({
    name,
    caller: '+15550001000',
    bot: 'ticket-bot',
    escalation: 'all',
    attemptsPerContact,
    retrySpacingSec: 0.02,
    pacing: { callsPerSecond: 50, maxConcurrent: 5 },
    contacts: Array.from({ length: contacts }, (_, i) => ({ phone: `+1555400${String(i).padStart(4, '0')}` })),
  });
}

describe.skipIf(!redisProbe.reachable)('campaign Redis queue: redelivered, repeated and lost jobs', () => {
  describeOnEachDialect('campaign Redis queue', (ctx) => {
    const cleanups: (() => Promise<unknown>)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    function queueRunner(repo: CampaignRepository, prefix: string, abandonedAfterMs = 0) {
      const placer = new ScriptedCallPlacer(systemClock, () => ({ answer: true, dtmf: '1', talkMs: 20 }));
      const runner = new CampaignRunner({
        repository: repo,
        placer,
        subscribe: placer.subscribe,
        logger: silentLogger(),
        pollIntervalMs: 50,
        abandonedAfterMs,
        // Stalled jobs are looked for often; this runner's own locks are generous, so a busy machine never stalls them.
        queue: { connection: REDIS_TEST_URL, prefix, lockDurationMs: 5000, stalledIntervalMs: 200 },
        recoveryIntervalMs: 500,
      });
      cleanups.push(() => runner.stop());
      return { runner, placer };
    }

    function completion(runner: CampaignRunner, campaignId: string): Promise<void> {
      return new Promise((resolve) =>
        runner.onEvent((e) => {
          if (e.type === 'campaign.status' && e.campaignId === campaignId && e.status === 'completed') resolve();
        }),
      );
    }

    async function claimQueued(repo: CampaignRepository, campaignId: string, position: number): Promise<CampaignAttemptRecord> {
      const contact = (await repo.contacts(campaignId))[position]!;
      const attempt = await repo.claimAttempt({
        campaignId,
        contactId: contact.id,
        attemptNo: 1,
        attemptsPerContact: 2,
        owner: DEAD_OWNER,
        now: Date.now(),
        onlyIfFirstOpen: false,
        status: 'queued',
      });
      expect(attempt?.status).toBe('queued');
      return attempt!;
    }

    function usePrefix(): string {
      const prefix = uniqueRedisPrefix();
      cleanups.push(() => deleteRedisKeys(prefix));
      return prefix;
    }

    it('a job redelivered after its worker died past the queued -> dialing step is completed without dialing again', async () => {
      const prefix = usePrefix();
      const repo = new CampaignRepository(ctx.store.db);
      const campaign = await repo.create({ definition: definition('stalled job', 1), now: Date.now() });
      const attempt = await claimQueued(repo, campaign.id, 0);
      const producer = new CampaignJobQueue({ connection: REDIS_TEST_URL, prefix });
      cleanups.push(() => producer.close());
      await producer.enqueue(campaign.id, attempt.id, attempt.startedAt);

      // The "crashed" process: takes the job, moves the attempt to dialing, then dies holding the job's lock.
      const crashed = new Worker(queueName(campaign.id), null, { connection: { ...connection, maxRetriesPerRequest: null }, prefix, autorun: false, lockDuration: 400 });
      const job = await crashed.getNextJob('crashed-token');
      expect(job?.id).toBe(dialJobId(attempt.id, attempt.startedAt));
      expect((await repo.takeQueuedAttempt(attempt.id, DEAD_OWNER, Date.now())).kind).toBe('dial');
      await crashed.close(true);

      const events = new QueueEvents(queueName(campaign.id), { connection, prefix });
      cleanups.push(() => events.close());
      await events.waitUntilReady();
      const redelivered = new Promise<void>((resolve) =>
        events.on('completed', ({ jobId }) => {
          if (jobId === job?.id) resolve();
        }),
      );

      // A live runner that does not yet take the dead owner's call for abandoned (another host, 6 h).
      const first = queueRunner(repo, prefix, 6 * 3_600_000);
      await first.runner.start();
      await redelivered;
      expect(first.placer.placed).toEqual([]);
      expect((await repo.history(campaign.id)).map((a) => [a.attemptNo, a.status, a.owner])).toEqual([[1, 'dialing', DEAD_OWNER]]);
      await first.runner.stop();

      // Recovery then uses the attempt up as interrupted; the contact gets its next attempt.
      const { runner, placer } = queueRunner(repo, prefix, 0);
      const done = completion(runner, campaign.id);
      await runner.start();
      await done;

      const history = await repo.history(campaign.id);
      expect(history.map((a) => [a.attemptNo, a.status])).toEqual([
        [1, 'interrupted'],
        [2, 'completed'],
      ]);
      // Only attempt 2 reached the dialer: attempt 1 was "placed" by the dead process and never again.
      expect(placer.placed.map((p) => p.attemptNo)).toEqual([2]);
    }, 30_000);

    it('adding the same attempt twice leaves one job, and the attempt is dialed once', async () => {
      const prefix = usePrefix();
      const repo = new CampaignRepository(ctx.store.db);
      const campaign = await repo.create({ definition: definition('idempotent enqueue', 1, 1), now: Date.now() });
      const attempt = await claimQueued(repo, campaign.id, 0);
      const producer = new CampaignJobQueue({ connection: REDIS_TEST_URL, prefix });
      cleanups.push(() => producer.close());
      await producer.enqueue(campaign.id, attempt.id, attempt.startedAt);
      await producer.enqueue(campaign.id, attempt.id, attempt.startedAt);
      const inspect = new Queue(queueName(campaign.id), { connection, prefix });
      cleanups.push(() => inspect.close());
      expect(await inspect.getJobCounts('wait', 'active', 'delayed')).toEqual({ wait: 1, active: 0, delayed: 0 });

      // start() re-enqueues every queued claim too: still one job, one call.
      const { runner, placer } = queueRunner(repo, prefix);
      const done = completion(runner, campaign.id);
      await runner.start();
      await done;
      expect(placer.placed).toHaveLength(1);
      expect((await repo.history(campaign.id)).map((a) => a.status)).toEqual(['completed']);
    }, 30_000);

    it('queued claims whose jobs vanished from Redis (flushed) are enqueued again at start and dialed once', async () => {
      const prefix = usePrefix();
      const repo = new CampaignRepository(ctx.store.db);
      const campaign = await repo.create({ definition: definition('lost jobs', 3, 1), now: Date.now() });
      // A claimer died between claim and add, or Redis lost its data: claims with no job.
      for (const position of [0, 1, 2]) await claimQueued(repo, campaign.id, position);
      expect(await redisKeys(prefix)).toEqual([]);

      const { runner, placer } = queueRunner(repo, prefix);
      const done = completion(runner, campaign.id);
      await runner.start();
      await done;
      expect(placer.placed.map((p) => p.phone).sort()).toEqual(['+15554000000', '+15554000001', '+15554000002']);
      expect((await repo.history(campaign.id)).map((a) => a.status)).toEqual(['completed', 'completed', 'completed']);
    }, 30_000);

    it('cancel undoes queued claims (contacts cancelled, never dialed) and removes the queue from Redis', async () => {
      const prefix = usePrefix();
      const repo = new CampaignRepository(ctx.store.db);
      const campaign = await repo.create({ definition: definition('cancel queued', 2), now: Date.now() });
      const attempt = await claimQueued(repo, campaign.id, 0);
      const { runner } = queueRunner(repo, prefix);
      // Through the runner's own queue, as its claiming loop does.
      const queue = new CampaignJobQueue({ connection: REDIS_TEST_URL, prefix });
      cleanups.push(() => queue.close());
      await queue.enqueue(campaign.id, attempt.id, attempt.startedAt);
      expect((await redisKeys(prefix)).length).toBeGreaterThan(0);

      expect(await runner.cancel(campaign.id)).toBe(true);
      await runner.settled();
      expect(await repo.history(campaign.id)).toEqual([]);
      const contacts = await repo.contacts(campaign.id);
      expect(contacts.map((c) => [c.status, c.outcome, c.attemptsMade])).toEqual([
        ['skipped', 'cancelled', 0],
        ['skipped', 'cancelled', 0],
      ]);
      expect(await redisKeys(prefix)).toEqual([]);
    }, 30_000);

    it('a queued claim taken while the campaign is paused is released: the contact waits for that attempt again', async () => {
      const repo = new CampaignRepository(ctx.store.db);
      const campaign = await repo.create({ definition: definition('paused queued', 1), now: Date.now() });
      const attempt = await claimQueued(repo, campaign.id, 0);
      expect(await repo.countActiveAttempts(campaign.id)).toBe(1);
      await repo.transition(campaign.id, ['running'], 'paused', Date.now());

      expect(await repo.takeQueuedAttempt(attempt.id, 'other#1#x', Date.now())).toEqual({ kind: 'released' });
      // A second delivery of the same job finds nothing to do.
      expect(await repo.takeQueuedAttempt(attempt.id, 'other#1#x', Date.now())).toEqual({ kind: 'gone' });
      const [contact] = await repo.contacts(campaign.id);
      expect([contact!.status, contact!.attemptsMade]).toEqual(['pending', 0]);
      expect(await repo.countActiveAttempts(campaign.id)).toBe(0);

      await repo.transition(campaign.id, ['paused'], 'running', Date.now());
      const again = await claimQueued(repo, campaign.id, 0);
      expect(again.attemptNo).toBe(1);
      await repo.cancel(campaign.id, Date.now());
    });
  });
});
