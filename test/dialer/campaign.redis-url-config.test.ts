import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { REDIS_TEST_URL, redisProbe } from '../support/campaign-redis.js';
import { startE2e } from '../support/e2e-gateway.js';

describe('REDIS_URL moves campaigns to BullMQ', () => {
  it('is read from the environment and must be a redis URL', () => {
    expect(parseConfig({}, { REDIS_URL: 'redis://127.0.0.1:6379/2' }).redis.url).toBe('redis://127.0.0.1:6379/2');
    expect(() => parseConfig({}, { REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(/redis\.url: a redis:\/\/ or rediss:\/\/ URL/);
  });

  it('the gateway runs its campaigns in queue mode when it is set', async (ctx) => {
    if (!redisProbe.reachable) {
      console.warn(`skipped: Redis is not reachable at ${REDIS_TEST_URL} (${redisProbe.reason})`);
      ctx.skip();
    }
    const e2e = await startE2e({ redis: { url: REDIS_TEST_URL } });
    try {
      expect(e2e.gateway.campaigns.mode).toBe('queue');
    } finally {
      await e2e.close();
    }
    const local = await startE2e();
    try {
      expect(local.gateway.campaigns.mode).toBe('in-process');
    } finally {
      await local.close();
    }
  });
});
