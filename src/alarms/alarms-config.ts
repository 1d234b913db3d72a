/**
 * The `alarms` configuration section and the one-call wiring for the composition root: the
 * AlarmManager over the store's alarm tables, webhooks through the status notifier, and the
 * conditions listening on the event bus.
 */
import { z } from 'zod';
import type { Clock } from '../runtime/clock.js';
import type { EventBus } from '../events/bus.js';
import type { Logger } from '../logger.js';
import { AlarmRepository } from '../store/alarm-repository.js';
import type { VoxgateDatabase } from '../store/schema.js';
import type { Kysely } from 'kysely';
import { AlarmConditions, DEFAULT_ALARM_THRESHOLDS } from './alarm-conditions.js';
import { AlarmManager, type AlarmNotifier } from './alarm-manager.js';
import { StoreWriteAlarm, type StoreWriteHealthSource } from './store-alarm.js';

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
  bus: EventBus;
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
  const conditions = config.enabled
    ? new AlarmConditions({ alarms: manager, thresholds: config.thresholds, evaluateEveryMs: config.evaluateEveryMs, clock: deps.clock, logger: deps.logger }).attach(deps.bus)
    : undefined;
  const storeAlarm = config.enabled && deps.records ? new StoreWriteAlarm({ alarms: manager, records: deps.records, clock: deps.clock, logger: deps.logger }) : undefined;
  return {
    manager,
    conditions,
    async stop() {
      conditions?.stop();
      storeAlarm?.stop();
      await manager.idle();
    },
  };
}
