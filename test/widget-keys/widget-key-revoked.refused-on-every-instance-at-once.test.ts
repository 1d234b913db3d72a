/**
 * With a cluster, a key edited or revoked through one instance's API is dropped from every other
 * instance's cache at once (the configuration sync's Redis channel), not after the cache time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WidgetAccess } from '../../src/app/widget-access.js';
import { startClusterConfigSync, type ClusterChange, type ClusterConfigSync } from '../../src/cluster/config-sync.js';
import { openDatabase, type Store } from '../../src/store/database.js';
import { WidgetKeyRepository } from '../../src/store/widget-key-repository.js';
import { FakeClock } from '../support/fake-clock.js';
import { captureLogger } from '../support/captured-logger.js';
import { makeTempDir, type TempDir } from '../support/store-fixtures.js';
import { REDIS_TEST_URL, redisProbe, uniqueRedisPrefix } from '../support/campaign-redis.js';

if (!redisProbe.reachable) console.warn(`Widget key cluster test skipped: ${REDIS_TEST_URL} unreachable; start Redis there or set VOXGATE_TEST_REDIS_URL.`);

const SHOP = 'https://shop.example';

describe.skipIf(!redisProbe.reachable)('a widget key revoked on one instance', () => {
  const clock = new FakeClock();
  const logs = captureLogger();
  const keyPrefix = uniqueRedisPrefix('vgwidgetsync');
  let dir: TempDir;
  let store: Store;
  const started: { sync: ClusterConfigSync; access: WidgetAccess }[] = [];

  /** One instance: its repository (over the shared store), its access checks with a long cache, its sync. */
  const instance = async (instanceId: string) => {
    const keys = new WidgetKeyRepository(store.db, clock);
    const access = new WidgetAccess({ keys, knowsBot: () => true, clock, logger: logs.logger, cacheMs: 3_600_000 });
    const sync = await startClusterConfigSync({
      url: REDIS_TEST_URL,
      keyPrefix,
      instanceId,
      refreshMs: 3_600_000,
      config: { storedVersion: async () => 'unchanged', refresh: async () => false, onEdit: () => undefined },
      auth: { onRevoked: () => undefined, forgetRevocationState: () => undefined },
      widgetKeys: { onChange: (listener) => keys.onChange(listener), forget: (keyId) => access.forget(keyId) },
      clock,
      logger: logs.logger,
    });
    started.push({ sync, access });
    return { keys, access, sync };
  };
  const nextWidgetKeyChange = (sync: ClusterConfigSync) =>
    new Promise<ClusterChange>((resolve) => {
      const off = sync.onRemoteChange((change) => {
        if (change.kind !== 'widget-key') return;
        off();
        resolve(change);
      });
    });

  beforeAll(async () => {
    dir = await makeTempDir('voxgate-widget-sync-');
    store = await openDatabase({ dataDir: dir.path });
  });
  afterAll(async () => {
    for (const { sync, access } of started) {
      await sync.stop();
      await access.close();
    }
    await store.close();
    await dir.remove();
  });

  it('is refused by the other instance as soon as the announcement arrives, though it was cached there', async () => {
    const [a, b] = [await instance('a'), await instance('b')];
    const key = await a.keys.create({ name: 'Shop', bot: 'flow', origins: [SHOP], maxConcurrentCalls: 5, callsPerMinute: 100 });
    const callOnB = () => b.access.admitCall({ authorization: `Bearer ${key.secret}`, origin: SHOP, ip: '127.0.0.1' });
    const first = await callOnB();
    expect(first?.ok).toBe(true);
    if (first?.ok) first.caller.release();

    const announced = nextWidgetKeyChange(b.sync);
    await a.keys.revoke(key.key.id);
    expect(await announced).toEqual({ kind: 'widget-key', name: key.key.id, removed: false });
    expect(await callOnB()).toEqual({ ok: false, status: 403, error: `widget key ${key.key.id} was revoked` });
  });
});
