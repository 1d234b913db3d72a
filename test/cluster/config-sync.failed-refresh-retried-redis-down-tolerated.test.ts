/**
 * The configuration sync never takes an instance down: a refresh that fails (the store unreachable)
 * is logged and tried again at the next period; with Redis unreachable the periodic refresh alone
 * still brings edits in; a malformed announcement is ignored with a warning. Logic under a fake
 * clock; the announcement test uses the test Redis.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterConfigSync, type SyncedConfig } from '../../src/cluster/config-sync.js';
import { Redis } from 'ioredis';
import { FakeClock } from '../support/fake-clock.js';
import { captureLogger } from '../support/captured-logger.js';
import { settle } from '../support/call-doubles.js';
import { REDIS_TEST_URL, redisProbe, startRedisProxy, uniqueRedisPrefix } from '../support/campaign-redis.js';
import { waitFor } from '../support/config-cluster-gateways.js';

/** A store the test edits: `version` moves with each edit; `refresh` applies and can be made to fail. */
class StoreDouble implements SyncedConfig {
  version = 1;
  applied = 1;
  failing: string | undefined;
  refreshes = 0;
  async storedVersion(): Promise<string> {
    if (this.failing) throw new Error(this.failing);
    return String(this.version);
  }
  async refresh(): Promise<boolean> {
    this.refreshes++;
    if (this.failing) throw new Error(this.failing);
    const changed = this.applied !== this.version;
    this.applied = this.version;
    return changed;
  }
}

/** Nothing listens on port 1: Redis is "down" for the whole test. */
const DOWN_REDIS = 'redis://127.0.0.1:1';

describe('configuration sync faults', () => {
  let sync: ClusterConfigSync | undefined;
  afterEach(async () => {
    await sync?.stop();
    sync = undefined;
  });

  it('a failed refresh is logged and retried at the next period; the edit is applied once the store answers', async () => {
    const clock = new FakeClock();
    const { logger, lines } = captureLogger();
    const store = new StoreDouble();
    sync = new ClusterConfigSync({ url: DOWN_REDIS, keyPrefix: uniqueRedisPrefix(), instanceId: 'a', refreshMs: 1000, config: store, clock, logger });
    await sync.start();

    store.version = 2;
    store.failing = 'connect ECONNREFUSED 127.0.0.1:5432';
    clock.advance(1000);
    await settle();
    expect(store.applied).toBe(1);
    expect(lines.some((l) => l.level === 40 && String(l.msg).includes('ECONNREFUSED 127.0.0.1:5432') && String(l.msg).includes('tried again in 1000 ms'))).toBe(true);

    store.failing = undefined;
    clock.advance(1000);
    await settle();
    expect(store.applied).toBe(2);
  });

  it('re-reads the entries only when the stored version moved', async () => {
    const clock = new FakeClock();
    const store = new StoreDouble();
    sync = new ClusterConfigSync({ url: DOWN_REDIS, keyPrefix: uniqueRedisPrefix(), instanceId: 'a', refreshMs: 1000, config: store, clock, logger: captureLogger().logger });
    await sync.start();
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      await settle();
    }
    expect(store.refreshes).toBe(0);
    store.version = 3;
    clock.advance(1000);
    await settle();
    expect(store.refreshes).toBe(1);
    expect(store.applied).toBe(3);
  });

  it('with Redis unreachable, starts anyway and warns that edits arrive with the periodic refresh', async () => {
    const clock = new FakeClock();
    const { logger, lines } = captureLogger();
    const store = new StoreDouble();
    sync = new ClusterConfigSync({ url: DOWN_REDIS, keyPrefix: uniqueRedisPrefix(), instanceId: 'a', refreshMs: 1000, config: store, clock, logger });
    await sync.start();
    await sync.publish({ kind: 'bot', name: 'front', removed: false });
    expect(lines.some((l) => l.level === 40 && String(l.msg).includes('bot "front" not announced'))).toBe(true);
    store.version = 2;
    clock.advance(1000);
    await settle();
    expect(store.applied).toBe(2);
  });

  it.skipIf(!redisProbe.reachable)('ignores a malformed announcement with a warning naming the field, and applies the next good one', async () => {
    const { logger, lines } = captureLogger();
    const store = new StoreDouble();
    const keyPrefix = uniqueRedisPrefix();
    sync = new ClusterConfigSync({ url: REDIS_TEST_URL, keyPrefix, instanceId: 'b', refreshMs: 600_000, config: store, clock: new FakeClock(), logger });
    await sync.start();
    const remote: { kind: string; name: string }[] = [];
    sync.onRemoteChange((change) => remote.push(change));
    const other = new Redis(REDIS_TEST_URL);
    try {
      await other.publish(`${keyPrefix}:config`, JSON.stringify({ origin: 'a', at: 1, change: { kind: 'robot', name: 'x', removed: false } }));
      await other.publish(`${keyPrefix}:config`, 'not json');
      // Its own announcements come back to it too: they are not news.
      await other.publish(`${keyPrefix}:config`, JSON.stringify({ origin: 'b', at: 1, change: { kind: 'bot', name: 'mine', removed: false } }));
      store.version = 2;
      await other.publish(`${keyPrefix}:config`, JSON.stringify({ origin: 'a', at: 2, change: { kind: 'bot', name: 'front', removed: false } }));
      await waitFor('the good announcement to be applied', () => store.applied === 2);
    } finally {
      other.disconnect();
    }
    expect(remote).toEqual([{ kind: 'bot', name: 'front', removed: false }]);
    expect(lines.some((l) => l.level === 40 && String(l.msg).includes('change.kind'))).toBe(true);
  });

  it.skipIf(!redisProbe.reachable)('Redis down at start, then back: subscribes then, and re-reads the store for what it missed', async () => {
    const redis = await startRedisProxy();
    try {
      await redis.cut();
      const store = new StoreDouble();
      const keyPrefix = uniqueRedisPrefix();
      const { logger, lines } = captureLogger();
      sync = new ClusterConfigSync({ url: redis.url, keyPrefix, instanceId: 'b', refreshMs: 600_000, config: store, clock: new FakeClock(), logger });
      await sync.start();
      expect(lines.some((l) => l.level === 40 && String(l.msg).includes(`not subscribed to ${keyPrefix}:config`))).toBe(true);

      // Edited while this instance could not hear about it.
      store.version = 2;
      await redis.restore();
      await waitFor('the edit missed while disconnected to be applied', () => store.applied === 2, 15_000);

      // Subscribed now: the next announcement arrives.
      const other = new Redis(REDIS_TEST_URL);
      try {
        store.version = 3;
        await waitFor('the announcement to be applied', async () => {
          await other.publish(`${keyPrefix}:config`, JSON.stringify({ origin: 'a', at: 3, change: { kind: 'route', name: '*', removed: false } }));
          return store.applied === 3;
        }, 15_000);
      } finally {
        other.disconnect();
      }
    } finally {
      await sync?.stop();
      sync = undefined;
      await redis.close();
    }
  });
});
