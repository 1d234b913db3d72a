/**
 * The `alarms` configuration section and the one-call wiring for the composition root: the
 * AlarmManager over the store's alarm tables, webhooks through the status notifier, and the
 * conditions listening on the event bus.
 *
 * In a cluster the conditions listen to the service bus and write only on the instance holding the
 * `alarms` leader lease, so the service raises each alarm (and sends its webhooks) once; severity
 * changes fan out to every instance's alarm stream. The `store` alarm stays each instance's own
 * (entity `record-writes@<instanceId>`).
 */
import { z } from 'zod';
import type { Clock } from '../runtime/clock.js';
import type { EventBus } from '../events/bus.js';
import { silentLogger, type Logger } from '../logger.js';
import { AlarmRepository } from '../store/alarm-repository.js';
import type { VoxgateDatabase } from '../store/schema.js';
import type { Kysely } from 'kysely';
import { AlarmConditions, DEFAULT_ALARM_THRESHOLDS } from './alarm-conditions.js';
import { AlarmManager, type AlarmNotifier } from './alarm-manager.js';
import { StoreWriteAlarm, type StoreWriteHealthSource } from './store-alarm.js';
import { ServiceAlarmChanges } from './service-alarm-changes.js';
import type { RedisFanout } from '../cluster/fanout-channel.js';
import { RedisLeaderLease, soleLeadership, type Leadership } from '../cluster/leader-lease.js';

const positiveMs = z.number().int().positive();
const failureThresholdsSchema = z
  .object({
    windowMs: positiveMs,
    majorCount: z.number().int().positive(),
    criticalCount: z.number().int().positive(),
    persistentMs: positiveMs,
    quietMs: positiveMs,
  })
  .partial()
  .strict();

export const alarmsConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Receivers of every severity change (signed like status callbacks, same secret). */
    webhookUrls: z.array(z.string().url().refine((u) => /^https?:/i.test(u), 'an http(s) URL')).default([]),
    /** History rows kept; older ones are pruned on write. */
    historyLimit: z.number().int().positive().default(10_000),
    evaluateEveryMs: positiveMs.default(10_000),
    thresholds: z
      .object({
        bot: failureThresholdsSchema.optional(),
        stt: failureThresholdsSchema.optional(),
        tts: failureThresholdsSchema.optional(),
        carrier: failureThresholdsSchema.optional(),
        errorRate: z
          .object({ windowMs: positiveMs, minCalls: z.number().int().positive(), warningRate: z.number().gt(0).max(1), majorRate: z.number().gt(0).max(1) })
          .partial()
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

export type AlarmsConfig = z.infer<typeof alarmsConfigSchema>;

export { DEFAULT_ALARM_THRESHOLDS };

export interface AlarmsDeps {
  store: { db: Kysely<VoxgateDatabase> };
  /** The service bus (src/cluster/service-events.ts): every instance's events in a cluster. */
  bus: EventBus;
  /** With `cluster.enabled`: the cluster's channels, this instance's id and the lease timing. */
  cluster?: { fanout: RedisFanout; instanceId: string; heartbeatMs: number; leaseMs: number };
  /** The gateway's StatusNotifier (callback outbox): webhooks survive restarts and are retried. */
  notifier?: AlarmNotifier;
  /** The record writer: its failing writes raise the `store` alarm. */
  records?: StoreWriteHealthSource;
  clock?: Clock;
  logger?: Logger;
}

export interface Alarms {
  manager: AlarmManager;
  /** Undefined when alarms.enabled is false (the manager still serves the API and manual raises). */
  conditions: AlarmConditions | undefined;
  /** Every instance's severity changes (the alarm event stream). */
  changes: ServiceAlarmChanges;
  /** Whether this instance judges the conditions for the service (always, for one process alone). */
  leadership: Leadership;
  stop(): Promise<void>;
}

/** The alarm manager and bus-driven conditions, from the parsed `alarms` section. */
export function createAlarms(config: AlarmsConfig, deps: AlarmsDeps): Alarms {
  const manager = new AlarmManager({
    repository: new AlarmRepository(deps.store.db),
    webhookUrls: config.webhookUrls,
    notifier: deps.notifier,
    historyLimit: config.historyLimit,
    clock: deps.clock,
    logger: deps.logger,
  });
  const { cluster } = deps;
  const changes = new ServiceAlarmChanges(manager, cluster?.fanout, deps.logger);
  const leadership: Leadership = cluster
    ? new RedisLeaderLease({ redis: cluster.fanout.commands, key: cluster.fanout.key('leader:alarms'), instanceId: cluster.instanceId, heartbeatMs: cluster.heartbeatMs, leaseMs: cluster.leaseMs, clock: deps.clock, logger: deps.logger ?? silentLogger() })
    : soleLeadership();
  const conditions = config.enabled
    ? new AlarmConditions({
        alarms: { raise: manager.raise.bind(manager), clear: manager.clear.bind(manager), onChange: changes.onChange.bind(changes) },
        isLeader: () => leadership.isLeader,
        thresholds: config.thresholds,
        evaluateEveryMs: config.evaluateEveryMs,
        clock: deps.clock,
        logger: deps.logger,
      }).attach(deps.bus)
    : undefined;
  const offLeadership = leadership.onChange((leader) => leader && conditions?.takeOver());
  if (conditions) leadership.start();
  const storeAlarm = config.enabled && deps.records ? new StoreWriteAlarm({ alarms: manager, records: deps.records, instanceId: cluster?.instanceId, clock: deps.clock, logger: deps.logger }) : undefined;
  return {
    manager,
    conditions,
    changes,
    leadership,
    async stop() {
      conditions?.stop();
      storeAlarm?.stop();
      offLeadership();
      await leadership.stop();
      await manager.idle();
      changes.close();
    },
  };
}
