/**
 * The `store` alarm (entity `record-writes`, critical): raised at the first call record write the
 * store cannot take, cleared once writes succeed again.
 *
 * The alarm manager keeps its alarms in that same store, so while the store fails the raise itself
 * fails. The wanted alarm changes are therefore kept here, in memory and in order, and retried on
 * the Clock until the manager has written them: once the store is back, the history shows the
 * outage (raised, then cleared) even if the raise could not be written while it lasted. Nothing
 * here writes call records, so a failing alarm write cannot feed back into the record writer.
 */
import type { Clock, TimerHandle } from '../runtime/clock.js';
import { systemClock } from '../runtime/clock.js';
import { silentLogger, type Logger } from '../logger.js';
import type { AlarmManager } from './alarm-manager.js';
import type { AlarmSeverity } from './severity.js';

export const STORE_ALARM = 'store';
export const STORE_ALARM_ENTITY = 'record-writes';
const SEVERITY: AlarmSeverity = 'critical';

/** What the alarm watches: the record writer's health (src/store/record-writer.ts). */
export interface StoreWriteHealthSource {
  health(): { failing: boolean; waiting: number; failingSince: number | null; lastError: string | null };
  onHealthChange(listener: (health: ReturnType<StoreWriteHealthSource['health']>) => void): () => void;
}

export interface StoreWriteAlarmOptions {
  alarms: Pick<AlarmManager, 'raise' | 'clear'>;
  records: StoreWriteHealthSource;
  /**
   * In a cluster: this instance's id. Each instance's record writes fail or not on their own, so the
   * alarm is per instance (entity `record-writes@<instanceId>`) and its message names the instance.
   */
  instanceId?: string;
  /** Wait before writing an alarm change again after the store refused it. Default 5000 ms. */
  retryMs?: number;
  clock?: Clock;
  logger?: Logger;
}

type Change = { severity: AlarmSeverity; message: string };

export class StoreWriteAlarm {
  private readonly alarms: StoreWriteAlarmOptions['alarms'];
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly retryMs: number;
  private readonly entity: string;
  private readonly where: string;
  /** Changes not yet written, oldest first. */
  private pending: Change[] = [];
  private writing = false;
  private retryTimer: TimerHandle | undefined;
  private off: (() => void) | undefined;
  private stopped = false;

  constructor(opts: StoreWriteAlarmOptions) {
    this.alarms = opts.alarms;
    this.clock = opts.clock ?? systemClock;
    this.logger = (opts.logger ?? silentLogger()).child({ component: 'store-alarm' });
    this.retryMs = opts.retryMs ?? 5000;
    this.entity = opts.instanceId === undefined ? STORE_ALARM_ENTITY : `${STORE_ALARM_ENTITY}@${opts.instanceId}`;
    this.where = opts.instanceId === undefined ? '' : ` (instance ${opts.instanceId})`;
    if (!(this.retryMs > 0)) throw new RangeError(`store alarm: retryMs must be positive, got ${String(opts.retryMs)}`);
    this.off = opts.records.onHealthChange((health) => this.changed(health));
    // Writes may already be failing when the alarm is wired up (a store that failed during start).
    const now = opts.records.health();
    if (now.failing) this.changed(now);
  }

  stop(): void {
    this.stopped = true;
    this.off?.();
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    if (this.pending.length > 0) this.logger.warn({ pending: this.pending.map((c) => c.severity) }, 'store alarm changes not written before shutdown');
  }

  private changed(health: ReturnType<StoreWriteHealthSource['health']>): void {
    const change: Change = health.failing
      ? { severity: SEVERITY, message: `record store cannot take writes since ${new Date(health.failingSince ?? this.clock.now()).toISOString()}: ${health.lastError ?? 'unknown error'}; ${health.waiting} writes waiting, retried until it does${this.where}` }
      : { severity: 'clear', message: `record store takes writes again${this.where}` };
    // A raise not yet written is still wanted after recovery, so the history shows the outage; a second raise or clear in a row adds nothing.
    if (this.pending.at(-1)?.severity === change.severity) return;
    this.pending.push(change);
    void this.writePending();
  }

  private async writePending(): Promise<void> {
    if (this.writing || this.stopped) return;
    this.writing = true;
    try {
      while (this.pending.length > 0 && !this.stopped) {
        const next = this.pending[0];
        try {
          await (next.severity === 'clear' ? this.alarms.clear(STORE_ALARM, this.entity, next.message) : this.alarms.raise(STORE_ALARM, this.entity, next.severity, next.message));
          this.pending.shift();
        } catch (err) {
          this.logger.warn({ err, severity: next.severity, retryInMs: this.retryMs }, 'store alarm not written (the store it reports on refused it); kept and retried');
          this.retryTimer ??= this.clock.setTimeout(() => {
            this.retryTimer = undefined;
            void this.writePending();
          }, this.retryMs);
          return;
        }
      }
    } finally {
      this.writing = false;
    }
  }
}
