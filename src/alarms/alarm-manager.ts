/**
 * Raises and clears alarms. One active alarm per (type, entity); every severity change is written
 * to the active table and the bounded history, announced to listeners (the console) and sent as a
 * webhook. The same severity again only refreshes the message: no history row, no webhook.
 *
 * Per-type rules: a disabled type raises nothing, and an allow-list limits which entities raise it.
 * Changing a rule clears the active alarms it now suppresses.
 *
 * Writes are serialized in call order, so callers (bus-driven conditions) may fire raise()/clear()
 * without waiting. Bad arguments reject with AlarmInputError.
 */
import type { Clock } from '../runtime/clock.js';
import { systemClock } from '../runtime/clock.js';
import { callbackUrlProblem } from '../dialer/callback-delivery.js';
import { silentLogger, type Logger } from '../logger.js';
import type { ActiveAlarmRecord, AlarmRepository, AlarmRuleRecord } from '../store/alarm-repository.js';
import { isAlarmSeverity, type AlarmSeverity } from './severity.js';

/** The webhook sender; StatusNotifier fits (durable outbox, signed, retried). */
export interface AlarmNotifier {
  notify(url: string, payload: object, idempotencyKey: string, options?: { orderKey?: string }): void;
}

export interface AlarmManagerOptions {
  repository: AlarmRepository;
  /** Webhook receivers of every severity change; none = no webhooks. */
  webhookUrls?: readonly string[];
  notifier?: AlarmNotifier;
  /** History rows kept (newest); older ones are pruned on write. Default 10000. */
  historyLimit?: number;
  clock?: Clock;
  logger?: Logger;
}

export interface ActiveAlarm {
  id: number;
  key: string;
  type: string;
  entity: string;
  severity: Exclude<AlarmSeverity, 'clear'>;
  message: string;
  raisedAt: number;
  updatedAt: number;
}

/** A severity change, as listeners and webhooks get it. */
export interface AlarmChange {
  event: 'alarm';
  key: string;
  type: string;
  entity: string;
  severity: AlarmSeverity;
  previousSeverity: AlarmSeverity;
  message: string;
  /** When the alarm was first raised (this episode). */
  raisedAt: number;
  at: number;
  /** The history row id: rises with every change, so receivers can order and de-duplicate. */
  sequence: number;
}

export interface AlarmRule {
  type: string;
  disabled: boolean;
  allowedEntities: string[] | null;
}

/** A bad argument to raise()/clear()/setRule(); the message names it. */
export class AlarmInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AlarmInputError';
  }
}

const DEFAULT_HISTORY_LIMIT = 10_000;

export function alarmKey(type: string, entity: string): string {
  return `${type}:${entity}`;
}

export class AlarmManager {
  private readonly repo: AlarmRepository;
  private readonly webhookUrls: readonly string[];
  private readonly notifier: AlarmNotifier | undefined;
  private readonly historyLimit: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly listeners = new Set<(change: AlarmChange) => void>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(opts: AlarmManagerOptions) {
    this.repo = opts.repository;
    this.webhookUrls = opts.webhookUrls ?? [];
    this.notifier = opts.notifier;
    if (this.webhookUrls.length > 0 && !this.notifier) throw new AlarmInputError('alarms: webhookUrls are set but no notifier was given to send them');
    this.webhookUrls.forEach((url, i) => {
      const problem = callbackUrlProblem(url);
      if (problem) throw new AlarmInputError(`alarms: webhookUrls[${i}]: ${problem}`);
    });
    this.historyLimit = opts.historyLimit ?? DEFAULT_HISTORY_LIMIT;
    if (!Number.isInteger(this.historyLimit) || this.historyLimit <= 0) throw new AlarmInputError(`alarms: historyLimit must be a positive integer, got ${String(opts.historyLimit)}`);
    this.clock = opts.clock ?? systemClock;
    this.logger = (opts.logger ?? silentLogger()).child({ component: 'alarms' });
  }

  /** Listens to severity changes (the console's live view); returns the unsubscribe function. */
  onChange(listener: (change: AlarmChange) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /**
   * Raises (or re-grades) the alarm. Resolves to the change made, or undefined when nothing
   * changed (same severity, type disabled, entity not allowed). `clear` clears.
   */
  async raise(type: string, entity: string, severity: AlarmSeverity, message: string): Promise<AlarmChange | undefined> {
    checkName('type', type);
    checkName('entity', entity);
    if (!isAlarmSeverity(severity)) throw new AlarmInputError(`alarm severity: expected one of clear, indeterminate, warning, minor, major, critical, got ${JSON.stringify(severity)}`);
    if (typeof message !== 'string' || message.length === 0) throw new AlarmInputError('alarm message: expected a non-empty string');
    if (severity === 'clear') return this.clear(type, entity, message);
    return this.serialized(async () => {
      const rule = await this.repo.getRule(type);
      if (rule && suppresses(rule, entity)) {
        this.logger.debug({ type, entity, severity }, 'alarm suppressed by its rule');
        return undefined;
      }
      const key = alarmKey(type, entity);
      const now = this.clock.now();
      const before = await this.repo.getActive(key);
      const active = await this.repo.upsertActive({ alarmKey: key, type, entity, severity, message }, now);
      if (before?.severity === severity) return undefined;
      return this.recordChange(active, severity, (before?.severity as AlarmSeverity | undefined) ?? 'clear', message, now);
    });
  }

  /** Clears the alarm if active: one history row, one `clear` webhook. Undefined when it was not active. */
  async clear(type: string, entity: string, message = 'condition ended'): Promise<AlarmChange | undefined> {
    checkName('type', type);
    checkName('entity', entity);
    return this.serialized(() => this.clearKey(alarmKey(type, entity), message));
  }

  /** The console's manual clear, by active alarm id. Undefined when no such active alarm. */
  clearById(id: number, message = 'cleared by an operator'): Promise<AlarmChange | undefined> {
    return this.serialized(async () => {
      const active = await this.repo.getActiveById(id);
      return active ? this.clearKey(active.alarmKey, message) : undefined;
    });
  }

  async active(): Promise<ActiveAlarm[]> {
    await this.queue;
    return (await this.repo.listActive()).map(toActiveAlarm);
  }

  async history(page: { limit: number; before?: number }): Promise<{ entries: (Omit<AlarmChange, 'event' | 'previousSeverity' | 'raisedAt' | 'sequence'> & { id: number })[]; nextBefore: number | null }> {
    await this.queue;
    const rows = await this.repo.history(page);
    return {
      entries: rows.map((r) => ({ id: r.id, key: r.alarmKey, type: r.type, entity: r.entity, severity: r.severity as AlarmSeverity, message: r.message, at: r.at })),
      nextBefore: rows.length === page.limit && rows.length > 0 ? rows[rows.length - 1].id : null,
    };
  }

  async rule(type: string): Promise<AlarmRule> {
    checkName('type', type);
    const rule = await this.repo.getRule(type);
    return { type, disabled: rule?.disabled ?? false, allowedEntities: rule?.allowedEntities ?? null };
  }

  async rules(): Promise<AlarmRule[]> {
    return (await this.repo.listRules()).map((r) => ({ type: r.type, disabled: r.disabled, allowedEntities: r.allowedEntities }));
  }

  /** Disables a type or limits it to some entities; clears its active alarms the rule now suppresses. */
  async setRule(type: string, change: { disabled?: boolean; allowedEntities?: string[] | null }): Promise<AlarmRule> {
    checkName('type', type);
    if (change.allowedEntities) change.allowedEntities.forEach((e, i) => checkName(`allowedEntities[${i}]`, e));
    return this.serialized(async () => {
      const current = await this.repo.getRule(type);
      const next: AlarmRuleRecord = {
        type,
        disabled: change.disabled ?? current?.disabled ?? false,
        allowedEntities: change.allowedEntities === undefined ? (current?.allowedEntities ?? null) : change.allowedEntities && [...new Set(change.allowedEntities)],
        updatedAt: this.clock.now(),
      };
      await this.repo.putRule(next);
      for (const active of await this.repo.listActive()) {
        if (active.type === type && suppresses(next, active.entity)) {
          await this.clearKey(active.alarmKey, next.disabled ? 'alarm type disabled' : 'entity no longer in the alarm allow-list');
        }
      }
      return { type, disabled: next.disabled, allowedEntities: next.allowedEntities };
    });
  }

  /** Resolves once every raise/clear queued so far is written (tests, shutdown). */
  async idle(): Promise<void> {
    await this.queue;
  }

  private async clearKey(key: string, message: string): Promise<AlarmChange | undefined> {
    const removed = await this.repo.deleteActive(key);
    if (!removed) return undefined;
    return this.recordChange(removed, 'clear', removed.severity as AlarmSeverity, message, this.clock.now());
  }

  private async recordChange(alarm: ActiveAlarmRecord, severity: AlarmSeverity, previousSeverity: AlarmSeverity, message: string, at: number): Promise<AlarmChange> {
    const sequence = await this.repo.appendHistory({ alarmKey: alarm.alarmKey, type: alarm.type, entity: alarm.entity, severity, message, at }, this.historyLimit);
    const change: AlarmChange = { event: 'alarm', key: alarm.alarmKey, type: alarm.type, entity: alarm.entity, severity, previousSeverity, message, raisedAt: alarm.raisedAt, at, sequence };
    const log = severity === 'clear' ? this.logger.info.bind(this.logger) : this.logger.warn.bind(this.logger);
    log({ alarm: change.key, severity, previousSeverity }, `alarm ${severity}: ${message}`);
    for (const url of this.webhookUrls) {
      // Header-safe key: entities are names from config, but may hold any character.
      this.notifier?.notify(url, change, `alarm:${encodeURIComponent(change.key).slice(0, 200)}:${sequence}`, { orderKey: `alarm:${change.key}` });
    }
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (err) {
        this.logger.error({ err, alarm: change.key }, 'alarm listener threw');
      }
    }
    return change;
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch((err: unknown) => this.logger.error({ err }, 'alarm write failed'));
    return result;
  }
}

function suppresses(rule: Pick<AlarmRuleRecord, 'disabled' | 'allowedEntities'>, entity: string): boolean {
  return rule.disabled || (rule.allowedEntities !== null && !rule.allowedEntities.includes(entity));
}

function checkName(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > 200) {
    throw new AlarmInputError(`alarm ${field}: expected a non-empty string of at most 200 characters, got ${JSON.stringify(value)?.slice(0, 60)}`);
  }
}

function toActiveAlarm(r: ActiveAlarmRecord): ActiveAlarm {
  return { id: r.id, key: r.alarmKey, type: r.type, entity: r.entity, severity: r.severity as ActiveAlarm['severity'], message: r.message, raisedAt: r.raisedAt, updatedAt: r.updatedAt };
}
