import { createServer, type AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisReplayGuard } from '../../src/carriers/replay-guard.js';
import { deleteRedisKeys, REDIS_TEST_URL, redisProbe, uniqueRedisPrefix } from '../support/campaign-redis.js';
import { CapturedLogs } from '../support/carrier-harness.js';
import { answerParams, postCallback, signedHeaders, startPlivoTestServer, type PlivoTestServer } from '../support/plivo-harness.js';

const TOKEN = 'redis-replay-token';

if (!redisProbe.reachable) console.warn(`Plivo replay-guard Redis tests skipped: ${REDIS_TEST_URL} unreachable (${redisProbe.reason})`);

describe.skipIf(!redisProbe.reachable)('Plivo nonces shared through Redis by two Voxgate processes', () => {
  const prefix = uniqueRedisPrefix('vgreplay');
  const guards: RedisReplayGuard[] = [];
  const servers: PlivoTestServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    for (const g of guards.splice(0)) await g.close();
    await deleteRedisKeys(prefix);
  });

  const guard = () => {
    const g = new RedisReplayGuard({ url: REDIS_TEST_URL, windowMs: 60_000, logger: pino({ level: 'silent' }), prefix: `${prefix}:` });
    guards.push(g);
    return g;
  };

  it('a callback accepted by one process is refused as a replay by the other, and a fresh one is accepted there', async () => {
    const a = await startPlivoTestServer({ authToken: TOKEN, replayGuard: guard() });
    servers.push(a);
    // Both processes sit behind one public URL: b checks signatures against a's.
    const b = await startPlivoTestServer({ authToken: TOKEN, replayGuard: guard(), publicBaseUrl: a.baseUrl });
    servers.push(b);
    const signedUrl = `${a.baseUrl}/plivo/answer`;
    const params = answerParams('call-shared');
    const captured = signedHeaders('POST', signedUrl, params, TOKEN);
    expect((await postCallback(`${a.baseUrl}/plivo/answer`, params, { headers: captured })).status).toBe(200);

    const replayed = await postCallback(`${b.baseUrl}/plivo/answer`, params, { headers: captured });
    expect(replayed.status).toBe(403);
    expect(replayed.text).toMatch(/already used within the last 60 s/);
    expect(b.handler.answered).toHaveLength(0);

    const fresh = await postCallback(`${b.baseUrl}/plivo/answer`, params, { headers: signedHeaders('POST', signedUrl, params, TOKEN) });
    expect(fresh.status).toBe(200);
    expect(b.handler.answered).toHaveLength(1);
  });

  it('what one guard saw is seen by every other guard on the same Redis', async () => {
    const g = guard();
    expect(await g.firstSeen('k1')).toBe(true);
    expect(await g.firstSeen('k1')).toBe(false);
    expect(await guard().firstSeen('k1')).toBe(false);
    expect(await guard().firstSeen('k2')).toBe(true);
  });
});

describe('Plivo replay guard with Redis unreachable', () => {
  it('falls back to this process, still refusing a repeat, and logs that Redis did not answer', async () => {
    // A port that accepts nothing: listen, take the port, close.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const logs = new CapturedLogs();
    const g = new RedisReplayGuard({ url: `redis://127.0.0.1:${port}`, windowMs: 60_000, logger: pino({ level: 'debug' }, logs.stream), commandTimeoutMs: 200 });
    try {
      expect(await g.firstSeen('n1')).toBe(true);
      expect(await g.firstSeen('n1')).toBe(false);
      expect(await g.firstSeen('n2')).toBe(true);
      await logs.waitFor((l) => /replay guard: Redis (did not answer|error)/.test(l.msg));
    } finally {
      await g.close();
    }
  });
});
