/**
 * Two instances' service events over one Redis prefix: what happens on A shows once on B's service
 * bus and never on B's own bus (whose record writer and callbacks act for B's calls only); a
 * malformed message is dropped with a warning; without Redis, local events still flow.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { openServiceEvents, type ServiceEvents } from '../../src/cluster/service-events.js';
import { EventBus, type BusEventMap } from '../../src/events/bus.js';
import { silentLogger } from '../../src/logger.js';
import { captureLogger, LOG_WARN } from '../support/captured-logger.js';
import { deleteRedisKeys, REDIS_TEST_URL, redisProbe, startRedisProxy, uniqueRedisPrefix } from '../support/campaign-redis.js';

const started: BusEventMap['call.started'] = { callId: 'call-a1', carrier: 'plivo', carrierCallId: 'uuid-a1', direction: 'inbound', from: '+14155550101', to: '+14155550100', bot: 'sales', at: 1_700_000_000_000 };
const turn: BusEventMap['turn'] = {
  callId: 'call-a1',
  seq: 1,
  inputKind: 'speech',
  inputText: 'hello',
  speechEndedAt: 1_700_000_001_000,
  inputAt: 1_700_000_001_100,
  botSentAt: 1_700_000_001_200,
  botAnsweredAt: null,
  firstAudioAt: null,
  sttMs: 100,
  botMs: null,
  ttsMs: null,
  e2eMs: null,
  sttProvider: 'deepgram',
  ttsProvider: null,
  bot: 'sales',
  outcome: 'bot-error',
  error: 'bot answered 500',
};
const ended: BusEventMap['call.ended'] = { callId: 'call-a1', at: 1_700_000_002_000, cause: 'NORMAL_CLEARING', side: 'caller', reason: 'caller-hangup', durationSec: 2 };

/** Every event of `bus`, in order, as [type, event]. */
function record(bus: EventBus): [string, unknown][] {
  const seen: [string, unknown][] = [];
  for (const type of ['call.started', 'call.answered', 'call.ended', 'transcript', 'dtmf', 'turn', 'provider.error', 'outbound.status'] as const) {
    bus.subscribe(type, (event) => void seen.push([type, event]));
  }
  return seen;
}

async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  await expect.poll(condition, { timeout: timeoutMs, interval: 20, message: what }).toBe(true);
}

describe.skipIf(!redisProbe.reachable)('service events across instances (Redis)', () => {
  const prefix = uniqueRedisPrefix('vg-events');
  const opened: ServiceEvents[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    await deleteRedisKeys(prefix);
  });

  async function instance(id: string, logger = silentLogger(), url = REDIS_TEST_URL) {
    const local = new EventBus();
    const service = await openServiceEvents(local, { instanceId: id, cluster: { redisUrl: url, keyPrefix: prefix }, logger, connectTimeoutMs: 10_000 });
    opened.push(service);
    return { local, service, localSeen: record(local), serviceSeen: record(service.bus) };
  }

  it("shows A's events once on B's service bus, in order, and never on B's own bus", async () => {
    const a = await instance('a:8080');
    const b = await instance('b:8080');
    expect(b.service.bus).not.toBe(b.local);

    a.local.publish('call.started', started);
    a.local.publish('turn', turn);
    a.local.publish('call.ended', ended);
    await until(() => b.serviceSeen.length >= 3, "B's service bus hears A's three events");

    expect(b.serviceSeen).toEqual([
      ['call.started', started],
      ['turn', turn],
      ['call.ended', ended],
    ]);
    expect(b.localSeen).toEqual([]);
    // A hears its own events once, directly, not a second time back from Redis.
    b.local.publish('dtmf', { callId: 'call-b1', at: 1, digit: '5' });
    await until(() => a.serviceSeen.some(([type]) => type === 'dtmf'), "A's service bus hears B's digit");
    expect(a.serviceSeen.map(([type]) => type)).toEqual(['call.started', 'turn', 'call.ended', 'dtmf']);
    expect(a.localSeen.map(([type]) => type)).toEqual(['call.started', 'turn', 'call.ended']);
  }, 30_000);

  it('drops a malformed message with a warning naming what was wrong and keeps going', async () => {
    const { logger, lines } = captureLogger();
    const a = await instance('a:8080');
    const b = await instance('b:8080', logger);
    const raw = new Redis(REDIS_TEST_URL);
    try {
      await raw.publish(`${prefix}:events`, 'not json at all');
      await raw.publish(`${prefix}:events`, JSON.stringify({ v: 1, origin: 'x:1', body: { type: 'call.started', event: { ...started, at: 'yesterday' } } }));
      await raw.publish(`${prefix}:events`, JSON.stringify({ v: 1, origin: 'x:1', body: { type: 'rm -rf', event: {} } }));
    } finally {
      raw.disconnect();
    }
    a.local.publish('call.started', started);
    await until(() => b.serviceSeen.length === 1, "B's service bus hears the good event after the bad ones");
    expect(b.serviceSeen).toEqual([['call.started', started]]);
    const warning = lines.find((l) => l.level === LOG_WARN && l.msg.includes('malformed'));
    expect(warning?.msg).toMatch(/dropped a malformed message on .*:events: not JSON/);
    // Rate limited: three bad messages in a row make one line; the next lines say how many were held back.
    expect(lines.filter((l) => l.msg.includes('malformed'))).toHaveLength(1);
  }, 30_000);

  it('keeps local events flowing on the service bus when Redis goes away', async () => {
    const proxy = await startRedisProxy();
    const { logger, lines } = captureLogger();
    const a = await instance('a:8080', logger, proxy.url);
    await proxy.cut();
    a.local.publish('call.started', started);
    a.local.publish('call.ended', ended);
    expect(a.serviceSeen.map(([type]) => type)).toEqual(['call.started', 'call.ended']);
    expect(a.localSeen.map(([type]) => type)).toEqual(['call.started', 'call.ended']);
    await until(() => lines.some((l) => l.level === LOG_WARN && /not published|Redis error/.test(l.msg)), 'a warning that the fan-out is down');
  }, 30_000);
});

describe.skipIf(!redisProbe.reachable)('service events when Redis comes back', () => {
  const prefix = uniqueRedisPrefix('vg-events');
  const opened: ServiceEvents[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    await deleteRedisKeys(prefix);
  });

  it('subscribes again by itself: events of other instances reach it again, and its own reach them', async () => {
    const proxy = await startRedisProxy();
    const { logger, lines } = captureLogger();
    const localA = new EventBus();
    const a = await openServiceEvents(localA, { instanceId: 'a:8080', cluster: { redisUrl: proxy.url, keyPrefix: prefix }, logger, connectTimeoutMs: 10_000 });
    const localB = new EventBus();
    const b = await openServiceEvents(localB, { instanceId: 'b:8080', cluster: { redisUrl: REDIS_TEST_URL, keyPrefix: prefix }, logger: silentLogger(), connectTimeoutMs: 10_000 });
    opened.push(a, b);
    const heardByA = record(a.bus);
    const heardByB = record(b.bus);

    await proxy.cut();
    await proxy.restore();
    // Pub/sub keeps nothing for an absent subscriber: B publishes until A, subscribed again, hears one.
    let digit = 0;
    await expect
      .poll(
        () => {
          localB.publish('dtmf', { callId: 'call-b1', at: Date.now(), digit: String(++digit % 10) });
          return heardByA.some(([type]) => type === 'dtmf');
        },
        { timeout: 15_000, interval: 100 },
      )
      .toBe(true);
    expect(lines.some((l) => l.msg.includes('subscribed again after losing Redis'))).toBe(true);
    await expect
      .poll(
        () => {
          localA.publish('call.answered', { callId: 'call-a1', at: Date.now() });
          return heardByB.some(([type]) => type === 'call.answered');
        },
        { timeout: 15_000, interval: 100 },
      )
      .toBe(true);
    await proxy.close();
  }, 45_000);
});

describe('service events for one process alone', () => {
  it('is the process bus itself, with no Redis', async () => {
    const local = new EventBus();
    const service = await openServiceEvents(local, { instanceId: 'solo:8080', logger: silentLogger() });
    expect(service.bus).toBe(local);
    expect(service.fanout).toBeUndefined();
    await service.close();
  });
});
