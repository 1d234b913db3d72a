/**
 * The `auth-failure` alarm: someone is guessing credentials. Raised (major) when `threshold`
 * failed authentications come from one source address (entity `source:<ip>`), or name one
 * existing client (entity `client:<id>`), within `windowMs`; cleared once none came for `quietMs`.
 * Client ids nobody created are never entities: anyone can invent them, and each would be an alarm.
 *
 * Counts are per process (each process alarms on what it sees; in a cluster the message names the
 * instance). Tracked entities are bounded,
 * so an address spray costs bounded memory; the oldest quiet entities go first.
 */
import type { Clock, TimerHandle } from '../runtime/clock.js';
import { systemClock } from '../runtime/clock.js';
import { silentLogger, type Logger } from '../logger.js';
import type { AlarmManager } from './alarm-manager.js';

export const AUTH_FAILURE = 'auth-failure';

export interface AuthFailureAlarmOptions {
  alarms: Pick<AlarmManager, 'raise' | 'clear' | 'onChange'>;
  /** Failures within windowMs that raise the alarm. Default 20. */
  threshold?: number;
  /** Default 5 min. */
  windowMs?: number;
  /** No failure for this long clears it. Default 10 min. */
  quietMs?: number;
  /** In a cluster: this instance's id, named in the message. */
  instanceId?: string;
  /** Entities tracked at most. Default 10000. */
  maxTracked?: number;
  clock?: Clock;
  logger?: Logger;
}

/** What the alarm needs of a failed authentication (AuthThrottle's AuthFailure fits). */
export interface ObservedAuthFailure {
  source: string;
  clientId?: string;
  knownClient: boolean;
  reason: string;
}

interface EntityState {
  times: number[];
  raised: boolean;
  lastAt: number;
  quietTimer?: TimerHandle;
}

export class AuthFailureAlarm {
  private readonly threshold: number;
  private readonly windowMs: number;
  private readonly quietMs: number;
  private readonly maxTracked: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly entities = new Map<string, EntityState>();
  private readonly offChange: () => void;

  constructor(private readonly opts: AuthFailureAlarmOptions) {
    this.threshold = opts.threshold ?? 20;
    this.windowMs = opts.windowMs ?? 5 * 60_000;
    this.quietMs = opts.quietMs ?? 10 * 60_000;
    this.maxTracked = opts.maxTracked ?? 10_000;
    for (const [name, value] of [['threshold', this.threshold], ['windowMs', this.windowMs], ['quietMs', this.quietMs], ['maxTracked', this.maxTracked]] as const) {
      if (!Number.isInteger(value) || value <= 0) throw new RangeError(`auth-failure alarm: ${name} must be a positive integer, got ${String(value)}`);
    }
    this.clock = opts.clock ?? systemClock;
    this.logger = (opts.logger ?? silentLogger()).child({ component: 'auth-failure-alarm' });
    // An operator's manual clear starts a new episode: the next burst raises again.
    this.offChange = opts.alarms.onChange((change) => {
      const state = change.type === AUTH_FAILURE && change.severity === 'clear' ? this.entities.get(change.entity) : undefined;
      if (state) state.raised = false;
    });
  }

  record(failure: ObservedAuthFailure): void {
    this.count(`source:${failure.source}`, failure);
    if (failure.clientId !== undefined && failure.knownClient) this.count(`client:${failure.clientId}`, failure);
  }

  stop(): void {
    this.offChange();
    for (const state of this.entities.values()) state.quietTimer?.cancel();
    this.entities.clear();
  }

  private count(entity: string, failure: ObservedAuthFailure): void {
    const now = this.clock.now();
    let state = this.entities.get(entity);
    if (state) this.entities.delete(entity);
    else state = { times: [], raised: false, lastAt: now };
    // Re-inserted last: the map's first entries are the longest quiet, the first to evict.
    this.entities.set(entity, state);
    state.times = state.times.filter((at) => now - at < this.windowMs);
    state.times.push(now);
    state.lastAt = now;
    this.evictQuiet();
    if (state.raised || state.times.length < this.threshold) {
      if (!state.raised && state.times.length === 1) this.scheduleForget(entity, state);
      return;
    }
    state.raised = true;
    const what = failure.clientId !== undefined && entity.startsWith('client:') ? `for client ${failure.clientId}` : `from ${failure.source}`;
    const seenBy = this.opts.instanceId === undefined ? '' : ` (seen by instance ${this.opts.instanceId})`;
    const message = `${state.times.length} failed authentications ${what} in the last ${minutes(this.windowMs)}${seenBy}; last: ${failure.reason}`;
    this.send(this.opts.alarms.raise(AUTH_FAILURE, entity, 'major', message));
    this.scheduleQuietCheck(entity, state, this.quietMs);
  }

  /** A clear is due quietMs after the last failure; failures since then push it back. */
  private scheduleQuietCheck(entity: string, state: EntityState, inMs: number): void {
    state.quietTimer?.cancel();
    state.quietTimer = this.clock.setTimeout(() => {
      const quietFor = this.clock.now() - state.lastAt;
      if (quietFor < this.quietMs) return this.scheduleQuietCheck(entity, state, this.quietMs - quietFor);
      this.entities.delete(entity);
      if (state.raised) this.send(this.opts.alarms.clear(AUTH_FAILURE, entity, `no failed authentication for ${minutes(this.quietMs)}`));
    }, inMs);
  }

  /** An entity below the threshold is forgotten once its failures fall out of the window. */
  private scheduleForget(entity: string, state: EntityState): void {
    this.scheduleQuietCheck(entity, state, Math.max(this.windowMs, this.quietMs));
  }

  private evictQuiet(): void {
    for (const [entity, state] of this.entities) {
      if (this.entities.size <= this.maxTracked) return;
      // A raised alarm is kept until it clears: dropping it would leave it active for good.
      if (state.raised) continue;
      state.quietTimer?.cancel();
      this.entities.delete(entity);
    }
  }

  private send(write: Promise<unknown>): void {
    write.catch((err: unknown) => this.logger.error({ err }, 'auth-failure alarm not written'));
  }
}

function minutes(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`;
}
