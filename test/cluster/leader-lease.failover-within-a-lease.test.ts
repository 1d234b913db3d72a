/**
 * The leader lease in Redis: one instance leads; when it dies another takes over within the lease;
 * one stopping gracefully hands over at once; a leader cut off from Redis steps down before another
 * can take over. Short real leases (Redis expires the key on its own clock).
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisLeaderLease } from '../../src/cluster/leader-lease.js';
import { silentLogger } from '../../src/logger.js';
import { deleteRedisKeys, REDIS_TEST_URL, redisProbe, startRedisProxy, uniqueRedisPrefix } from '../support/campaign-redis.js';

const HEARTBEAT_MS = 100;
const LEASE_MS = 600;

describe.skipIf(!redisProbe.reachable)('leader lease (Redis)', () => {
  const prefix = uniqueRedisPrefix('vg-leader');
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await deleteRedisKeys(prefix);
  });

  /** A contender with its own connection; `changes` logs [wall ms, leader?]. */
  function contender(id: string, url = REDIS_TEST_URL) {
    const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 500 });
    redis.on('error', () => undefined);
    const lease = new RedisLeaderLease({ redis, key: `${prefix}:leader:alarms`, instanceId: id, heartbeatMs: HEARTBEAT_MS, leaseMs: LEASE_MS, logger: silentLogger() });
    const changes: [number, boolean][] = [];
    lease.onChange((leader) => changes.push([Date.now(), leader]));
    cleanups.push(async () => {
      await lease.stop();
      redis.disconnect();
    });
    return { lease, redis, changes, ready: new Promise<void>((resolve) => redis.once('ready', () => resolve())) };
  }

  async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    await expect.poll(condition, { timeout: timeoutMs, interval: 10, message: what }).toBe(true);
  }

  it('lets one instance lead, and another take over within the lease once the leader dies', async () => {
    const a = contender('a:8080');
    const b = contender('b:8080');
    await Promise.all([a.ready, b.ready]);
    a.lease.start();
    await until(() => a.lease.isLeader, 'A leads');
    b.lease.start();
    // B keeps trying every heartbeat but never leads while A renews.
    await new Promise<void>((resolve) => {
      let beats = 0;
      const off = b.lease.onChange(() => undefined);
      const tick = setInterval(() => {
        if (++beats < 5) return;
        clearInterval(tick);
        off();
        resolve();
      }, HEARTBEAT_MS);
    });
    expect(b.lease.isLeader).toBe(false);

    // A dies: its connection is gone, nothing renews or releases its key.
    const diedAt = Date.now();
    a.redis.disconnect();
    await until(() => b.lease.isLeader, 'B takes over');
    const tookOverAt = b.changes.find(([, leader]) => leader)![0];
    expect(tookOverAt - diedAt).toBeLessThanOrEqual(LEASE_MS + 3 * HEARTBEAT_MS);
    // A, cut off, stepped down before B could have taken over.
    await until(() => !a.lease.isLeader, 'A steps down');
    const aSteppedDownAt = a.changes.find(([, leader]) => !leader)?.[0];
    expect(aSteppedDownAt).toBeDefined();
    expect(aSteppedDownAt!).toBeLessThanOrEqual(tookOverAt);
  }, 30_000);

  it('hands over at once when the leader stops gracefully', async () => {
    const a = contender('a:8080');
    const b = contender('b:8080');
    await Promise.all([a.ready, b.ready]);
    a.lease.start();
    await until(() => a.lease.isLeader, 'A leads');
    b.lease.start();
    const stoppedAt = Date.now();
    await a.lease.stop();
    expect(a.lease.isLeader).toBe(false);
    await until(() => b.lease.isLeader, 'B takes over');
    // The next heartbeat, not the lease's expiry.
    expect(Date.now() - stoppedAt).toBeLessThan(LEASE_MS);
  }, 30_000);

  it('steps down when it cannot reach Redis to renew', async () => {
    const proxy = await startRedisProxy();
    const a = contender('a:8080', proxy.url);
    await a.ready;
    a.lease.start();
    await until(() => a.lease.isLeader, 'A leads');
    await proxy.cut();
    await until(() => !a.lease.isLeader, 'A steps down without Redis', LEASE_MS + 5000);
  }, 30_000);
});
