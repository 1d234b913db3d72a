import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisFailureLedger } from '../../src/api/auth/failure-ledger.js';
import { redisConnectionOptions } from '../../src/dialer/campaign-queue.js';
import { FakeClock } from '../support/fake-clock.js';
import { captureLogger } from '../support/captured-logger.js';
import { makeTempDir, type TempDir } from '../support/store-fixtures.js';
import { deleteRedisKeys, REDIS_TEST_URL, redisProbe, startRedisProxy, uniqueRedisPrefix } from '../support/campaign-redis.js';
import { startAuthServer, tokenRequest, type AuthServer } from '../support/auth-server.js';

if (!redisProbe.reachable) console.warn(`Auth Redis tests skipped: ${REDIS_TEST_URL} unreachable; start Redis there or set VOXGATE_TEST_REDIS_URL.`);

const LIMITS = { source: { maxFailures: 3, baseLockoutMs: 60_000 }, client: { maxFailures: 100 }, tokenRequestsPerMinute: 1000 };

describe.skipIf(!redisProbe.reachable)('with Redis, failed-authentication limits hold across Voxgate processes', () => {
  const clock = new FakeClock();
  const logs = captureLogger();
  const prefix = uniqueRedisPrefix('vgauth');
  let dir: TempDir;
  const servers: AuthServer[] = [];
  const start = async (limits: object = LIMITS, url = REDIS_TEST_URL, keyPrefix = prefix) => {
    const ledger = new RedisFailureLedger({ connection: redisConnectionOptions(url), prefix: keyPrefix, logger: logs.logger });
    const server = await startAuthServer({ logger: logs.logger, clock, limits, ledger, dir });
    servers.push(server);
    return server;
  };

  beforeAll(async () => {
    dir = await makeTempDir('voxgate-auth-redis-');
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });
  afterAll(async () => {
    await deleteRedisKeys(prefix);
    await dir.remove();
  });

  it('failures counted by one process lock the address out of the other, and the backoff carries on there', async () => {
    const [a, b] = [await start(), await start()];
    const created = await a.auth.clients.create({ name: 'shared', scopes: ['calls:read'] });
    const from = '127.0.0.80';
    for (let i = 0; i < 3; i++) expect((await tokenRequest(a, from, created.client.clientId, 'wrong')).status).toBe(401);
    const locked = await tokenRequest(b, from, created.client.clientId, created.clientSecret);
    expect(locked.status).toBe(429);
    expect(locked.headers['retry-after']).toBe('60');

    clock.advance(60_000);
    expect((await tokenRequest(b, from, created.client.clientId, 'wrong')).status).toBe(401);
    expect((await tokenRequest(a, from, created.client.clientId, created.clientSecret)).headers['retry-after']).toBe('120');
    expect((await tokenRequest(a, '127.0.0.81', created.client.clientId, created.clientSecret)).status).toBe(200);
  });

  it('a success in one process resets the address for the other', async () => {
    const [a, b] = [await start(), await start()];
    const created = await a.auth.clients.create({ name: 'reset', scopes: ['calls:read'] });
    const from = '127.0.0.82';
    for (let round = 0; round < 2; round++) {
      expect((await tokenRequest(a, from, created.client.clientId, 'typo')).status).toBe(401);
      expect((await tokenRequest(a, from, created.client.clientId, 'typo')).status).toBe(401);
      expect((await tokenRequest(b, from, created.client.clientId, created.clientSecret)).status).toBe(200);
    }
  });

  it('the per-address token request cap is shared too (@fastify/rate-limit on the same Redis)', async () => {
    const limits = { ...LIMITS, tokenRequestsPerMinute: 2 };
    const [a, b] = [await start(limits), await start(limits)];
    const created = await a.auth.clients.create({ name: 'capped', scopes: ['calls:read'] });
    const from = '127.0.0.83';
    expect((await tokenRequest(a, from, created.client.clientId, created.clientSecret)).status).toBe(200);
    expect((await tokenRequest(b, from, created.client.clientId, created.clientSecret)).status).toBe(200);
    expect((await tokenRequest(a, from, created.client.clientId, created.clientSecret)).status).toBe(429);
  });

  it('when Redis goes away, limits go on in each process (logged), and no request fails or hangs', async () => {
    const proxy = await startRedisProxy();
    const server = await start(LIMITS, proxy.url, `${prefix}-cut`);
    const created = await server.auth.clients.create({ name: 'outage', scopes: ['calls:read'] });
    expect((await tokenRequest(server, '127.0.0.84', created.client.clientId, created.clientSecret)).status).toBe(200);
    await proxy.cut();
    const from = '127.0.0.85';
    for (let i = 0; i < 3; i++) expect((await tokenRequest(server, from, created.client.clientId, 'wrong')).status).toBe(401);
    expect((await tokenRequest(server, from, created.client.clientId, created.clientSecret)).status).toBe(429);
    expect((await tokenRequest(server, '127.0.0.86', created.client.clientId, created.clientSecret)).status).toBe(200);
    expect(logs.lines.some((l) => l.msg === 'auth failure counters: Redis did not answer; counting in this process only')).toBe(true);
    await deleteRedisKeys(`${prefix}-cut`);
  });
});
