/**
 * The dialout calls-per-second limit holds across instances: three instances at 2 cps sharing
 * Redis start at most 2 calls in any second between them (real Redis, real timestamps: a start is
 * never early, it may be a little late on a loaded machine). Each carrier has its own pace. With
 * Redis gone, every instance keeps pacing its own calls and says so.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SharedCallPacing } from '../../src/cluster/shared-rate-limiter.js';
import { systemClock } from '../../src/runtime/clock.js';
import { silentLogger } from '../../src/logger.js';
import { captureLogger } from '../support/captured-logger.js';
import { REDIS_TEST_URL, deleteRedisKeys, redisProbe, startRedisProxy, uniqueRedisPrefix } from '../support/campaign-redis.js';
import { waitFor } from '../support/config-cluster-gateways.js';

/** How late a timer may fire on this shared, loaded machine. */
const LATE_TOLERANCE_MS = 150;

describe.skipIf(!redisProbe.reachable)('dialout pacing shared through Redis', () => {
  const opened: SharedCallPacing[] = [];
  const prefixes: string[] = [];
  const pacing = (url = REDIS_TEST_URL, keyPrefix = prefixes[prefixes.length - 1], logger = silentLogger()) => {
    const p = new SharedCallPacing({ url, keyPrefix, clock: systemClock, logger });
    opened.push(p);
    return p;
  };
  const newPrefix = () => {
    const prefix = uniqueRedisPrefix('vgpace');
    prefixes.push(prefix);
    return prefix;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((p) => p.close()));
    await Promise.all(prefixes.splice(0).map((p) => deleteRedisKeys(p)));
  });

  it('three instances at 2 cps start at most 2 calls in any second together', async () => {
    newPrefix();
    const instances = [pacing(), pacing(), pacing()];
    const starts: { instance: number; at: number }[] = [];
    instances.forEach((instance, i) => {
      const pacer = instance.pacer('plivo', 2);
      for (let n = 0; n < 4; n++) pacer.schedule(() => starts.push({ instance: i, at: Date.now() }));
    });
    await waitFor('all 12 calls to start', () => starts.length === 12, 20_000);

    const times = starts.map((s) => s.at).sort((x, y) => x - y);
    // Any two starts apart: the third is a second after the first (never sooner, maybe a bit less when the first was late).
    for (let i = 0; i + 2 < times.length; i++) expect(times[i + 2] - times[i]).toBeGreaterThanOrEqual(1000 - LATE_TOLERANCE_MS);
    // No slower than the rate either: 12 starts at 2 a second take about 5.5 s.
    expect(times[11] - times[0]).toBeLessThan(5500 + 1500);
    // Every instance had its turn.
    expect(new Set(starts.map((s) => s.instance)).size).toBe(3);
  });

  it('each carrier has its own pace: a Plivo queue does not hold back a Twilio call', async () => {
    newPrefix();
    const instance = pacing();
    const plivo = instance.pacer('plivo', 1);
    const twilio = instance.pacer('twilio', 1);
    const started: string[] = [];
    plivo.schedule(() => started.push('plivo-1'));
    plivo.schedule(() => started.push('plivo-2'));
    twilio.schedule(() => started.push('twilio-1'));
    await waitFor('the first call of each carrier to start', () => started.includes('plivo-1') && started.includes('twilio-1'), 5_000);
    expect(started).not.toContain('plivo-2');
    expect(plivo.waiting).toBe(1);
  });

  it('with Redis gone, calls still start, paced by this instance alone, with a warning', async () => {
    const proxy = await startRedisProxy();
    newPrefix();
    const { logger, lines } = captureLogger();
    const instance = pacing(proxy.url, undefined, logger);
    const pacer = instance.pacer('plivo', 2);
    const started: number[] = [];
    pacer.schedule(() => started.push(Date.now()));
    await waitFor('the first call (through Redis)', () => started.length === 1, 5_000);

    await proxy.cut();
    for (let n = 0; n < 3; n++) pacer.schedule(() => started.push(Date.now()));
    await waitFor('the calls placed while Redis is gone', () => started.length === 4, 10_000);
    expect(started[3] - started[1]).toBeGreaterThanOrEqual(1000 - LATE_TOLERANCE_MS);
    const warnings = lines.filter((l) => l.level === 40 && String(l.msg).includes('paced by this instance alone'));
    expect(warnings).toHaveLength(1);
  });
});
