import { describe, expect, it } from 'vitest';
import { CampaignQueueError, rateLimiter, redisConnectionOptions } from '../../src/dialer/campaign-queue.js';
import { CampaignRunner } from '../../src/dialer/campaign-runner.js';
import { silentLogger } from '../../src/logger.js';
import { CampaignRepository } from '../../src/store/campaign-repository.js';
import { ScriptedCallPlacer } from '../support/campaign-doubles.js';
import { FakeClock } from '../support/fake-clock.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

describe('campaign Redis queue options', () => {
  it('turns callsPerSecond into an exact BullMQ limiter window of about 100 ms, so starts are spread, not one burst each second', () => {
    expect(rateLimiter(20)).toEqual({ max: 2, duration: 100 });
    expect(rateLimiter(30)).toEqual({ max: 3, duration: 100 });
    expect(rateLimiter(0.5)).toEqual({ max: 1, duration: 2000 });
    expect(rateLimiter(100)).toEqual({ max: 10, duration: 100 });
    expect(rateLimiter(3)).toEqual({ max: 1, duration: 333 });
    expect(rateLimiter(7)).toEqual({ max: 1, duration: 143 });
    expect(() => rateLimiter(0)).toThrow(/callsPerSecond must be a positive number/);
  });

  it('reads REDIS_URL with user, password, database and TLS, and names what is wrong with a bad one', () => {
    expect(redisConnectionOptions('redis://127.0.0.1:6380/2')).toEqual({ host: '127.0.0.1', port: 6380, db: 2 });
    expect(redisConnectionOptions('rediss://app:s%40cret@cache.example.com')).toEqual({
      host: 'cache.example.com',
      port: 6379,
      username: 'app',
      password: 's@cret',
      db: 0,
      tls: { servername: 'cache.example.com' },
    });
    expect(() => redisConnectionOptions('localhost:6379')).toThrow(CampaignQueueError);
    expect(() => redisConnectionOptions('http://127.0.0.1:6379')).toThrow(/must start with redis:\/\/ or rediss:\/\//);
    expect(() => redisConnectionOptions('redis://127.0.0.1:6379/x')).toThrow(/database must be a number, got "x"/);
  });
});

describeOnEachDialect('campaign runner with an unreachable Redis', (ctx) => {
  it('start() fails with an error naming Redis and where it was looked for, and places nothing', async () => {
    const clock = new FakeClock();
    const placer = new ScriptedCallPlacer(clock, () => ({ answer: true }));
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const runner = new CampaignRunner({
      repository: new CampaignRepository(ctx.store.db),
      placer,
      subscribe: placer.subscribe,
      clock,
      logger: silentLogger(),
      queue: { connection: 'redis://127.0.0.1:1', connectTimeoutMs: 500 },
    });
    await expect(runner.start()).rejects.toThrow(/campaign queue: Redis at redis:\/\/127\.0\.0\.1:1\/0 \(prefix voxgate\) is not reachable/);
    await runner.stop();
    expect(placer.placed).toEqual([]);
  });
});
