/**
 * Alarm severity changes of the whole service: this process's (from its AlarmManager) and, in a
 * cluster, every other instance's (Redis channel `<cluster.keyPrefix>:alarms`), each once. The alarm
 * event stream shows them, and the alarm conditions learn from them that an operator cleared an
 * alarm by hand on any instance. Webhooks are not sent again here: the instance that made a change
 * sent them.
 */
import type { FanoutChannel, RedisFanout } from '../cluster/fanout-channel.js';
import { silentLogger, type Logger } from '../logger.js';
import type { AlarmChange, AlarmManager } from './alarm-manager.js';
import { isAlarmSeverity } from './severity.js';

/** Where alarm severity changes can be heard. */
export interface AlarmChangeSource {
  onChange(listener: (change: AlarmChange) => void): () => void;
}

export class ServiceAlarmChanges implements AlarmChangeSource {
  private readonly listeners = new Set<(change: AlarmChange) => void>();
  private readonly logger: Logger;
  private readonly channel: FanoutChannel<AlarmChange> | undefined;
  private readonly offLocal: () => void;

  constructor(manager: Pick<AlarmManager, 'onChange'>, fanout: RedisFanout | undefined, logger?: Logger) {
    this.logger = (logger ?? silentLogger()).child({ component: 'service-alarm-changes' });
    this.channel = fanout?.channel('alarms', readAlarmChange, (change) => this.emit(change));
    this.offLocal = manager.onChange((change) => {
      this.emit(change);
      this.channel?.publish(change);
    });
  }

  /** Resolves once other instances' changes are heard (at once for one process alone). */
  get subscribed(): Promise<void> {
    return this.channel?.subscribed ?? Promise.resolve();
  }

  onChange(listener: (change: AlarmChange) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  close(): void {
    this.offLocal();
    this.channel?.close();
    this.listeners.clear();
  }

  private emit(change: AlarmChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (err) {
        this.logger.error({ err, alarm: change.key }, 'alarm change listener threw');
      }
    }
  }
}

/** Checks an alarm change received from another instance; throws naming the field that is wrong. */
export function readAlarmChange(body: unknown): AlarmChange {
  if (typeof body !== 'object' || body === null) throw new Error('alarm change: expected an object');
  const c = body as Record<string, unknown>;
  if (c.event !== 'alarm') throw new Error('alarm change: event: expected "alarm"');
  for (const field of ['key', 'type', 'entity', 'message'] as const) {
    if (typeof c[field] !== 'string') throw new Error(`alarm change: ${field}: expected a string`);
  }
  for (const field of ['severity', 'previousSeverity'] as const) {
    if (!isAlarmSeverity(c[field])) throw new Error(`alarm change: ${field}: expected an alarm severity`);
  }
  for (const field of ['raisedAt', 'at', 'sequence'] as const) {
    if (typeof c[field] !== 'number' || !Number.isFinite(c[field])) throw new Error(`alarm change: ${field}: expected a number`);
  }
  const { key, type, entity, severity, previousSeverity, message, raisedAt, at, sequence } = c as unknown as AlarmChange;
  return { event: 'alarm', key, type, entity, severity, previousSeverity, message, raisedAt, at, sequence };
}
