import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/runtime/clock.js';
import { parseCampaignDefinition } from '../../src/dialer/campaign-definition.js';
import { CampaignRunner } from '../../src/dialer/campaign-runner.js';
import { CampaignRepository } from '../../src/store/campaign-repository.js';
import { ScriptedCallPlacer } from '../support/campaign-doubles.js';
import { deleteRedisKeys, REDIS_TEST_URL, redisProbe, startRedisProxy, uniqueRedisPrefix } from '../support/campaign-redis.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';
import { captureLogger, LOG_ERROR } from '../support/captured-logger.js';

const CONTACTS = 20;

describe.skipIf(!redisProbe.reachable)('campaign runner losing Redis mid-campaign', () => {
  describeOnEachDialect('campaign Redis connection lost', (ctx) => {
    it('stop() still returns promptly, nothing crashes, and a runner on a working Redis finishes without dialing anything twice', async () => {
      const prefix = uniqueRedisPrefix();
      const proxy = await startRedisProxy();
      const repo = new CampaignRepository(ctx.store.db);
      const campaign = await repo.create({
        definition: parseCampaignDefinition({
          name: 'redis outage',
          caller: '+15550001000',
          bot: 'ticket-bot',
          attemptsPerContact: 1,
          pacing: { callsPerSecond: 20, maxConcurrent: 4 },
          contacts: Array.from({ length: CONTACTS }, (_, i) => ({ phone: `+1555600${String(i).padStart(4, '0')}` })),
        }),
        now: Date.now(),
      });
      const script = () => ({ answer: true as const, dtmf: '1', talkMs: 50 });
      const captured = captureLogger();
      const placerA = new ScriptedCallPlacer(systemClock, script);
      const a = new CampaignRunner({
        repository: repo,
        placer: placerA,
        subscribe: placerA.subscribe,
        logger: captured.logger,
        pollIntervalMs: 50,
        // Short job locks: a job A held when Redis went away goes to B soon (BullMQ's stalled-job check).
        queue: { connection: proxy.url, prefix, connectTimeoutMs: 500, lockDurationMs: 1000, stalledIntervalMs: 500 },
      });
      try {
        const fivePlaced = new Promise<void>((resolve) => a.onEvent(() => placerA.placed.length >= 5 && resolve()));
        await a.start();
        await fivePlaced;
        await proxy.cut();
        const stopStarted = Date.now();
        await a.stop();
        // Each Redis operation gives up after connectTimeoutMs: stop() is not held up by the outage.
        expect(Date.now() - stopStarted).toBeLessThan(5000);
        expect(placerA.placed.length).toBeLessThan(CONTACTS);
        // The outage was logged as errors naming the queue, not thrown out of an event handler.
        expect(captured.lines.some((l) => l.level >= LOG_ERROR || /campaign queue/.test(l.msg))).toBe(true);

        const placerB = new ScriptedCallPlacer(systemClock, script);
        const b = new CampaignRunner({
          repository: repo,
          placer: placerB,
          subscribe: placerB.subscribe,
          pollIntervalMs: 50,
          queue: { connection: REDIS_TEST_URL, prefix, lockDurationMs: 1000, stalledIntervalMs: 500 },
        });
        const done = new Promise<void>((resolve) => b.onEvent((e) => e.type === 'campaign.status' && e.status === 'completed' && resolve()));
        await b.start();
        await done;
        await b.stop();

        const phones = [...placerA.placed, ...placerB.placed].map((p) => p.phone);
        expect(phones.filter((p, i) => phones.indexOf(p) !== i)).toEqual([]);
        const contacts = await repo.contacts(campaign.id);
        expect(contacts.every((c) => c.status === 'done')).toBe(true);
        const history = await repo.history(campaign.id);
        expect(history).toHaveLength(CONTACTS);
        // Calls A had in flight when it stopped are interrupted (used up); all others were completed by B or A.
        expect(history.every((h) => h.status === 'completed' || h.status === 'interrupted')).toBe(true);
        expect(history.filter((h) => h.status === 'completed').length).toBe(phones.length - history.filter((h) => h.status === 'interrupted').length);
      } finally {
        await a.stop();
        await deleteRedisKeys(prefix);
      }
    }, 30_000);
  });
});
