/**
 * The fixed bearer tokens (the metrics scrape token, the conversation service's reply token) sit
 * behind the API's brute-force limits: guessing one from a source locks that source out of both
 * (429 with Retry-After) while a client on another source goes on, and the lockout ends in time.
 */
import Fastify from 'fastify';
import { expect, it } from 'vitest';
import { metricsRoutes, VoxgateMetrics } from '../../src/api/metrics.js';
import { AuthThrottle, authLimitsConfigSchema } from '../../src/api/auth/auth-throttle.js';
import { MemoryFailureLedger } from '../../src/api/auth/failure-ledger.js';
import { WebhookReplyRouter, webhookResponseRoutes } from '../../src/bots/webhook/index.js';
import { FakeClock } from '../support/fake-clock.js';

const METRICS_TOKEN = 'metrics-scrape-token-0123456789';
const REPLY_TOKEN = 'conversation-service-reply-token-42';
const GUESSER = '192.0.2.7';
const SCRAPER = '198.51.100.9';

it('locks out a source guessing the metrics or reply token, not the clients on other sources', async () => {
  const clock = new FakeClock(1_700_000_000_000);
  const limits = authLimitsConfigSchema.parse({ source: { maxFailures: 3 } });
  const throttle = new AuthThrottle(new MemoryFailureLedger(), limits, clock);
  const app = Fastify();
  await app.register(metricsRoutes, { metrics: new VoxgateMetrics({ processMetrics: false }), bearerToken: METRICS_TOKEN, throttle });
  await app.register(webhookResponseRoutes, { prefix: '/webhook', router: new WebhookReplyRouter(), token: REPLY_TOKEN, throttle });
  try {
    const scrape = (token: string, remoteAddress: string) => app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` }, remoteAddress });
    const reply = (token: string, remoteAddress: string) =>
      app.inject({ method: 'POST', url: '/webhook/response', headers: { authorization: `Bearer ${token}` }, payload: { conversationId: 'nope', text: 'hi' }, remoteAddress });

    expect((await scrape('guess-1', GUESSER)).statusCode).toBe(401);
    expect((await reply('guess-2', GUESSER)).statusCode).toBe(401);
    expect((await scrape('guess-3', GUESSER)).statusCode).toBe(401);

    // Locked out of both, even with the right tokens.
    const locked = await scrape(METRICS_TOKEN, GUESSER);
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBe(limits.source.baseLockoutMs / 1000);
    expect(locked.json()).toEqual({ error: expect.stringContaining('too many failed authentications') });
    expect((await reply(REPLY_TOKEN, GUESSER)).statusCode).toBe(429);

    expect((await scrape(METRICS_TOKEN, SCRAPER)).statusCode).toBe(200);

    clock.advance(limits.source.baseLockoutMs);
    expect((await scrape(METRICS_TOKEN, GUESSER)).statusCode).toBe(200);
  } finally {
    await app.close();
  }
});

it('does not count a request that carries no credential at all', async () => {
  const clock = new FakeClock(1_700_000_000_000);
  const throttle = new AuthThrottle(new MemoryFailureLedger(), authLimitsConfigSchema.parse({ source: { maxFailures: 1 } }), clock);
  const app = Fastify();
  await app.register(metricsRoutes, { metrics: new VoxgateMetrics({ processMetrics: false }), bearerToken: METRICS_TOKEN, throttle });
  try {
    for (let i = 0; i < 3; i++) expect((await app.inject({ method: 'GET', url: '/metrics', remoteAddress: GUESSER })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` }, remoteAddress: GUESSER })).statusCode).toBe(200);
  } finally {
    await app.close();
  }
});
