import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WidgetAccess } from '../../src/app/widget-access.js';
import { RedisWidgetCallLimits } from '../../src/app/widget-call-limits.js';
import { redisConnectionOptions } from '../../src/dialer/campaign-queue.js';
import { openDatabase, type Store } from '../../src/store/database.js';
import { WidgetKeyRepository, type CreatedWidgetKey } from '../../src/store/widget-key-repository.js';
import { FakeClock } from '../support/fake-clock.js';
import { captureLogger, LOG_WARN } from '../support/captured-logger.js';
import { makeTempDir, type TempDir } from '../support/store-fixtures.js';
import { deleteRedisKeys, REDIS_TEST_URL, redisProbe, uniqueRedisPrefix } from '../support/campaign-redis.js';

if (!redisProbe.reachable) console.warn(`Widget key Redis tests skipped: ${REDIS_TEST_URL} unreachable; start Redis there or set VOXGATE_TEST_REDIS_URL.`);

const SHOP = 'https://shop.example';
const LEASE_MS = 30_000;

describe.skipIf(!redisProbe.reachable)('with Redis, widget key limits hold across Voxgate instances', () => {
  const clock = new FakeClock();
  const logs = captureLogger();
  const prefix = uniqueRedisPrefix('vgwidget');
  let dir: TempDir;
  let store: Store;
  let keys: WidgetKeyRepository;
  const opened: { access: WidgetAccess; limits: RedisWidgetCallLimits }[] = [];

  /** One instance's view: its own access checks and Redis connection, the shared store and Redis. */
  const instance = (url = REDIS_TEST_URL) => {
    const limits = new RedisWidgetCallLimits({ connection: redisConnectionOptions(url), prefix, clock, logger: logs.logger, leaseMs: LEASE_MS, commandTimeoutMs: 300 });
    const access = new WidgetAccess({ keys, knowsBot: () => true, limits, clock, logger: logs.logger });
    opened.push({ access, limits });
    return { access, limits };
  };
  const call = async (access: WidgetAccess, key: CreatedWidgetKey) => (await access.admitCall({ authorization: `Bearer ${key.secret}`, origin: SHOP, ip: '127.0.0.1' }))!;
  const admitted = async (access: WidgetAccess, key: CreatedWidgetKey) => {
    const outcome = await call(access, key);
    if (!outcome.ok) throw new Error(`expected admitted, got ${JSON.stringify(outcome)}`);
    return outcome.caller;
  };

  beforeAll(async () => {
    dir = await makeTempDir('voxgate-widget-redis-');
    store = await openDatabase({ dataDir: dir.path });
    keys = new WidgetKeyRepository(store.db, clock);
  });
  afterEach(async () => {
    for (const { access } of opened.splice(0)) await access.close();
  });
  afterAll(async () => {
    await deleteRedisKeys(prefix);
    await store.close();
    await dir.remove();
  });

  it('calls in progress are counted over both instances; a release on one lets the other in', async () => {
    const key = await keys.create({ name: 'Shop', bot: 'flow', origins: [SHOP], maxConcurrentCalls: 2, callsPerMinute: 100 });
    const [a, b] = [instance(), instance()];
    await admitted(a.access, key);
    const onB = await admitted(b.access, key);
    expect(await call(a.access, key)).toMatchObject({ ok: false, status: 429, error: expect.stringContaining('has 2 calls in progress') });
    expect(await call(b.access, key)).toMatchObject({ ok: false, status: 429 });
    onB.release();
    await b.limits.settled();
    await admitted(a.access, key);
    expect(await call(b.access, key)).toMatchObject({ status: 429 });
  });

  it('calls started per minute are counted over both instances, with the retry-after of the shared window', async () => {
    const key = await keys.create({ name: 'Shop', bot: 'flow', origins: [SHOP], maxConcurrentCalls: 100, callsPerMinute: 3 });
    const [a, b] = [instance(), instance()];
    (await admitted(a.access, key)).release();
    clock.advance(15_000);
    (await admitted(b.access, key)).release();
    (await admitted(a.access, key)).release();
    expect(await call(b.access, key)).toMatchObject({ ok: false, status: 429, retryAfterSec: 45, error: expect.stringContaining('started 3 calls in the last minute') });
    clock.advance(45_000);
    (await admitted(b.access, key)).release();
    expect(await call(a.access, key)).toMatchObject({ status: 429 });
  });

  it('a slot held by an instance that died frees itself when its lease ends; a live instance keeps renewing its own', async () => {
    const key = await keys.create({ name: 'Shop', bot: 'flow', origins: [SHOP], maxConcurrentCalls: 2, callsPerMinute: 100 });
    const [live, dying] = [instance(), instance()];
    await admitted(live.access, key);
    await admitted(dying.access, key);
    // The dying instance stops (no release, no renewal), as a killed process would.
    await dying.access.close();
    const other = instance();
    expect(await call(other.access, key)).toMatchObject({ status: 429 });
    // Renewals of the live instance's lease happen as the clock moves; wait for each to reach Redis.
    for (let t = 0; t < LEASE_MS + 1000; t += LEASE_MS / 3) {
      clock.advance(LEASE_MS / 3);
      await live.limits.client.ping();
      await live.limits.client.ping();
    }
    await admitted(other.access, key);
    // The live instance's slot is still held: the limit of 2 is reached again.
    expect(await call(other.access, key)).toMatchObject({ status: 429 });
  });

  it('Redis unreachable: limits are counted in the instance (logged), calls are not refused', async () => {
    const key = await keys.create({ name: 'Shop', bot: 'flow', origins: [SHOP], maxConcurrentCalls: 1, callsPerMinute: 100 });
    const cut = instance('redis://127.0.0.1:1');
    const first = await admitted(cut.access, key);
    expect(await call(cut.access, key)).toMatchObject({ status: 429 });
    first.release();
    await admitted(cut.access, key);
    expect(logs.lines.some((l) => l.level === LOG_WARN && l.msg === 'widget key limits: Redis did not answer; counting in this process only')).toBe(true);
  });
});
