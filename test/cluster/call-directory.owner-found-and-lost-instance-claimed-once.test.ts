/**
 * The Redis call directory as two instances see it: a call registered by one is found by the other
 * (by Voxgate's id and by the carrier's), listed with its owner, and gone once unregistered; an
 * instance whose lease lapses is reported lost, exactly one survivor gets the claim on its calls, and
 * forgetting it leaves nothing behind. Real Redis; skipped when unreachable.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RedisCallDirectory } from '../../src/cluster/redis-call-directory.js';
import { silentLogger } from '../../src/logger.js';
import { FakeClock } from '../support/fake-clock.js';
import { deleteRedisKeys, REDIS_TEST_URL, redisKeys, redisProbe, uniqueRedisPrefix } from '../support/campaign-redis.js';

const started: RedisCallDirectory[] = [];
const prefixes: string[] = [];

function directory(prefix: string, instanceId: string, leaseMs = 60_000): RedisCallDirectory {
  // The fake clock never fires the heartbeat: a lease lasts exactly leaseMs of Redis's own time.
  const d = new RedisCallDirectory({ url: REDIS_TEST_URL, keyPrefix: prefix, instanceId, internalUrl: `http://${instanceId}.internal:8080`, heartbeatMs: Math.floor(leaseMs / 3), leaseMs, clock: new FakeClock(), logger: silentLogger() });
  started.push(d);
  return d;
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const call = { carrier: 'plivo', direction: 'inbound' as const, from: '+15550001', to: '+15550002', startedAt: 1, connected: false };

afterEach(async () => {
  await Promise.all(started.splice(0).map((d) => d.stop().catch(() => undefined)));
  await Promise.all(prefixes.splice(0).map((p) => deleteRedisKeys(p)));
});

describe.skipIf(!redisProbe.reachable)('the Redis call directory shared by two instances', () => {
  it('finds a call registered by one instance from the other, by either id, until it ends', async () => {
    const prefix = uniqueRedisPrefix('vgdir');
    prefixes.push(prefix);
    const a = directory(prefix, 'gw-a');
    const b = directory(prefix, 'gw-b');
    await a.start();
    await b.start();

    await a.register({ ...call, callId: 'call-1', carrierCallId: 'uuid-1' });
    expect((await b.ownerOf({ callId: 'call-1' }))?.id).toBe('gw-a');
    const owner = await b.ownerOf({ carrier: 'plivo', carrierCallId: 'uuid-1' });
    expect(owner).toMatchObject({ id: 'gw-a', internalUrl: 'http://gw-a.internal:8080', draining: false });
    expect(await b.ownerOf({ carrier: 'twilio', carrierCallId: 'uuid-1' })).toBeUndefined();
    expect((await b.calls()).map((c) => [c.callId, c.owner])).toEqual([['call-1', 'gw-a']]);
    expect((await b.instances()).map((i) => i.id).sort()).toEqual(['gw-a', 'gw-b']);

    await a.setDraining(true);
    expect((await b.instance('gw-a'))?.draining).toBe(true);

    await a.unregister('call-1');
    expect(await b.ownerOf({ callId: 'call-1' })).toBeUndefined();
    expect(await b.ownerOf({ carrier: 'plivo', carrierCallId: 'uuid-1' })).toBeUndefined();
    expect(await b.calls()).toEqual([]);
  });

  it('reports an instance whose lease lapsed as lost, gives its calls to one survivor only, and forgets it', async () => {
    const prefix = uniqueRedisPrefix('vgdir');
    prefixes.push(prefix);
    const lost = directory(prefix, 'gw-lost', 400);
    const b = directory(prefix, 'gw-b');
    const c = directory(prefix, 'gw-c');
    await Promise.all([lost.start(), b.start(), c.start()]);
    await lost.register({ ...call, callId: 'call-1', carrierCallId: 'uuid-1', startedAt: 2 });
    await lost.register({ ...call, callId: 'call-2', carrierCallId: 'uuid-2', startedAt: 1 });
    expect(await b.lostInstances()).toEqual([]);

    // No heartbeat renews gw-lost's lease: Redis expires it.
    await until(async () => ((await b.lostInstances()).includes('gw-lost') ? true : undefined), 'gw-lost to be reported lost');
    expect(await b.ownerOf({ callId: 'call-1' })).toBeUndefined();
    expect((await b.calls()).map((x) => x.callId)).toEqual([]);

    const [forB, forC] = await Promise.all([b.claimLost('gw-lost'), c.claimLost('gw-lost')]);
    const winner = forB ?? forC;
    expect([forB, forC].filter((x) => x !== undefined)).toHaveLength(1);
    expect(winner!.map((x) => x.callId)).toEqual(['call-2', 'call-1']);

    await b.forgetLost('gw-lost');
    expect(await c.lostInstances()).toEqual([]);
    const left = (await redisKeys(prefix)).filter((k) => k.includes('gw-lost') || k.includes('call-') || k.includes('uuid-'));
    expect(left).toEqual([]);
  });

  it('does not hand out the calls of an instance that came back before the claim', async () => {
    const prefix = uniqueRedisPrefix('vgdir');
    prefixes.push(prefix);
    const flaky = directory(prefix, 'gw-flaky', 400);
    const b = directory(prefix, 'gw-b');
    await Promise.all([flaky.start(), b.start()]);
    await flaky.register({ ...call, callId: 'call-1' });
    await until(async () => ((await b.lostInstances()).includes('gw-flaky') ? true : undefined), 'gw-flaky to be reported lost');
    // Its lease is renewed again (a long pause ended) before any survivor claimed it.
    await flaky.setDraining(false);
    expect(await b.claimLost('gw-flaky')).toBeUndefined();
    expect((await b.ownerOf({ callId: 'call-1' }))?.id).toBe('gw-flaky');
  });
});
