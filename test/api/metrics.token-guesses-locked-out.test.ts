/**
 * The metrics bearer token sits behind the API's brute-force limits: guessing it from one source
 * locks that source out (429 with Retry-After) while a scraper elsewhere keeps scraping, and a
 * source the API locked out cannot guess here either.
 */
import Fastify from 'fastify';
import { expect, it } from 'vitest';
import { metricsRoutes, VoxgateMetrics } from '../../src/api/metrics.js';
import { AuthThrottle, authLimitsConfigSchema } from '../../src/api/auth/auth-throttle.js';
import { MemoryFailureLedger } from '../../src/api/auth/failure-ledger.js';
import { FakeClock } from '../support/fake-clock.js';

const TOKEN = 'metrics-scrape-token-0123456789';

it('locks out a source guessing the metrics token, not the scraper on another source', async () => {
  const clock = new FakeClock(1_700_000_000_000);
  const limits = authLimitsConfigSchema.parse({ source: { maxFailures: 3 } });
  const throttle = new AuthThrottle(new MemoryFailureLedger(), limits, clock);
  const app = Fastify();
  await app.register(metricsRoutes, { metrics: new VoxgateMetrics({ processMetrics: false }), bearerToken: TOKEN, throttle });
  try {
    const scrape = (token: string, remoteAddress: string) => app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` }, remoteAddress });

    for (let i = 0; i < 3; i++) expect((await scrape(`guess-${i}`, '192.0.2.7')).statusCode).toBe(401);
    const locked = await scrape(TOKEN, '192.0.2.7');
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(locked.json()).toEqual({ error: expect.stringContaining('too many failed authentications') });

    expect((await scrape(TOKEN, '198.51.100.9')).statusCode).toBe(200);

    clock.advance(limits.source.baseLockoutMs);
    expect((await scrape(TOKEN, '192.0.2.7')).statusCode).toBe(200);
  } finally {
    await app.close();
  }
});
