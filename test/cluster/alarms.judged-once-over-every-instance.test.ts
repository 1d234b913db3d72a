/**
 * Alarms judge the service: two instances sharing PostgreSQL and Redis, each with its own bus.
 * Failures spread over both, each instance below the threshold on its own, raise one alarm for the
 * service: one history row, one webhook, shown once on each instance's alarm stream. When the
 * judging instance (the leader) dies, the other takes over within the lease and raises what comes next.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { alarmsConfigSchema, createAlarms, type Alarms } from '../../src/alarms/alarms-config.js';
import type { AlarmChange } from '../../src/alarms/alarm-manager.js';
import { openServiceEvents, type ServiceEvents } from '../../src/cluster/service-events.js';
import { EventBus } from '../../src/events/bus.js';
import { silentLogger } from '../../src/logger.js';
import { openDatabase, type Store } from '../../src/store/database.js';
import { deleteRedisKeys, REDIS_TEST_URL, redisProbe, uniqueRedisPrefix } from '../support/campaign-redis.js';
import { createScratchPgDatabase, pgProbe, type ScratchPgDatabase } from '../support/store-fixtures.js';

const HEARTBEAT_MS = 100;
const LEASE_MS = 600;
const WEBHOOK = 'https://alarms.example.com/voxgate';

interface Instance {
  id: string;
  local: EventBus;
  service: ServiceEvents;
  store: Store;
  alarms: Alarms;
  /** Webhooks this instance sent. */
  webhooks: AlarmChange[];
  /** Its alarm stream: every instance's severity changes as it shows them. */
  stream: AlarmChange[];
  /** call.ended events its service bus carried (to know it has heard everything). */
  ends: number;
}

describe.skipIf(!redisProbe.reachable || !pgProbe.reachable)('alarms judge every instance once (Redis + PostgreSQL)', () => {
  let db: ScratchPgDatabase;
  let prefix: string;
  const running: Instance[] = [];
  beforeAll(async () => {
    db = await createScratchPgDatabase();
    // Migrations once, before two instances race for them.
    await (await openDatabase({ dataDir: '', databaseUrl: db.url, logger: silentLogger() })).close();
  }, 60_000);
  afterAll(() => db?.drop());
  afterEach(async () => {
    for (const i of running.splice(0)) await stop(i);
    await deleteRedisKeys(prefix);
  });

  async function start(id: string): Promise<Instance> {
    const logger = silentLogger();
    const store = await openDatabase({ dataDir: '', databaseUrl: db.url, logger });
    const local = new EventBus();
    const service = await openServiceEvents(local, { instanceId: id, cluster: { redisUrl: REDIS_TEST_URL, keyPrefix: prefix }, logger, connectTimeoutMs: 10_000 });
    const webhooks: AlarmChange[] = [];
    const config = alarmsConfigSchema.parse({
      webhookUrls: [WEBHOOK],
      evaluateEveryMs: 60_000,
      thresholds: { errorRate: { minCalls: 10, warningRate: 0.1, majorRate: 0.25 }, bot: { majorCount: 3 } },
    });
    const alarms = createAlarms(config, {
      store,
      bus: service.bus,
      cluster: { fanout: service.fanout!, instanceId: id, heartbeatMs: HEARTBEAT_MS, leaseMs: LEASE_MS },
      notifier: { notify: (_url, payload) => void webhooks.push(payload as AlarmChange) },
      logger,
    });
    const instance: Instance = { id, local, service, store, alarms, webhooks, stream: [], ends: 0 };
    alarms.changes.onChange((c) => void instance.stream.push(c));
    service.bus.subscribe('call.ended', () => void instance.ends++);
    await alarms.changes.subscribed;
    running.push(instance);
    return instance;
  }

  async function stop(i: Instance): Promise<void> {
    await i.alarms.stop();
    await i.service.close();
    await i.store.close();
  }

  async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
    await expect.poll(condition, { timeout: timeoutMs, interval: 20, message: what }).toBe(true);
  }

  let seq = 0;
  /** One answered call to `bot` on `on`, ending with `reason`. */
  function call(on: Instance, bot: string, reason: string): void {
    const callId = `${on.id}-call-${++seq}`;
    const at = Date.now();
    on.local.publish('call.started', { callId, carrier: 'plivo', carrierCallId: `uuid-${seq}`, direction: 'inbound', from: '+14155550101', to: '+14155550100', bot, at });
    on.local.publish('call.answered', { callId, at });
    on.local.publish('call.ended', { callId, at, cause: 'NORMAL_CLEARING', side: reason === 'caller-hangup' ? 'caller' : 'gateway', reason });
  }


  it('raises the error-rate alarm once for failures spread over two instances that each stay below the threshold', async () => {
    prefix = uniqueRedisPrefix('vg-alarms');
    const a = await start('a:8080');
    await until(() => a.alarms.leadership.isLeader, 'A leads');
    const b = await start('b:8080');

    // 5 calls on each: alone, neither has the 10 calls the rate needs; together 3 of 10 failed (30% >= 25%: major).
    for (const reason of ['bot-no-response', 'caller-hangup', 'bot-no-response', 'caller-hangup', 'caller-hangup']) call(a, 'sales', reason);
    for (const reason of ['caller-hangup', 'bot-no-response', 'caller-hangup', 'caller-hangup', 'caller-hangup']) call(b, 'sales', reason);

    await until(() => a.ends === 10 && b.ends === 10, 'both service buses heard all ten calls');
    await until(() => a.webhooks.length + b.webhooks.length > 0, 'the alarm is raised');
    await a.alarms.manager.idle();
    await b.alarms.manager.idle();

    const raised = [...a.webhooks, ...b.webhooks];
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ type: 'bot-error-rate', entity: 'sales', severity: 'major', message: expect.stringContaining('3 of 10 calls to sales failed (30%)') });
    expect(a.webhooks).toHaveLength(1); // the leader's
    const history = await a.alarms.manager.history({ limit: 50 });
    expect(history.entries.map((e) => `${e.type}:${e.entity}:${e.severity}`)).toEqual(['bot-error-rate:sales:major']);
    expect(await b.alarms.manager.active()).toMatchObject([{ type: 'bot-error-rate', entity: 'sales', severity: 'major' }]);
    // Each instance's alarm stream shows it once, B's included (it was raised on A).
    await until(() => b.stream.length === 1, "B's alarm stream shows A's alarm");
    expect(a.stream).toEqual(b.stream);
  }, 60_000);

  it('lets the other instance take over judging within the lease when the leader dies', async () => {
    prefix = uniqueRedisPrefix('vg-alarms');
    const a = await start('a:8080');
    await until(() => a.alarms.leadership.isLeader, 'A leads');
    const b = await start('b:8080');
    expect(b.alarms.leadership.isLeader).toBe(false);

    // A dies: its Redis connection goes, nothing renews its lease.
    const diedAt = Date.now();
    a.service.fanout!.commands.disconnect();
    await until(() => b.alarms.leadership.isLeader, 'B takes over');
    expect(Date.now() - diedAt).toBeLessThanOrEqual(LEASE_MS + 5 * HEARTBEAT_MS + 2000);
    expect(a.alarms.leadership.isLeader).toBe(false);

    // Three bot errors on B: B judges and raises, once.
    for (let i = 0; i < 3; i++) call(b, 'support', 'bot-error');
    await until(() => b.webhooks.length > 0, 'B raises the bot-failure alarm');
    await b.alarms.manager.idle();
    expect(b.webhooks).toMatchObject([{ type: 'bot-failure', entity: 'support', severity: 'major' }]);
    expect(a.webhooks).toEqual([]);
  }, 60_000);
});
