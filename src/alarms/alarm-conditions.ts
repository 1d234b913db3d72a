/**
 * Watches the event bus and turns failures into alarms:
 *   bot-failure     per bot           calls/turns that failed with bot-error
 *   stt-failure     per STT provider  calls that ended with stt-error
 *   tts-failure     per TTS provider  turns/calls that failed with tts-error
 *   carrier-failure per carrier       outbound calls the carrier refused or could not place (reason code `error`)
 *   bot-error-rate  per bot           share of a bot's answered calls that ended in a failure, over a window
 *
 * Failure alarms count failures in a sliding window: majorCount -> major, criticalCount -> critical,
 * and failures still arriving persistentMs after the alarm went up -> critical. The severity only
 * rises during an episode; the alarm clears once no failure came for quietMs. The error-rate alarm
 * follows the rate both ways (warning, major, clear) once the window holds minCalls calls.
 *
 * Time comes from the Clock; a periodic evaluation (evaluateEveryMs) clears quiet alarms and lets
 * old failures fall out of the windows even when no event arrives.
 *
 * In a cluster the conditions listen to the service bus (every instance's events) on every instance,
 * but only the leader (`isLeader`) writes alarm changes, so each alarm is raised once for the
 * service. The others keep the same windows, so an instance taking the lead over starts warm and
 * re-asserts what it judges active (`takeOver`).
 */
import type { Clock, TimerHandle } from '../runtime/clock.js';
import { systemClock } from '../runtime/clock.js';
import type { EventBus } from '../events/bus.js';
import type { ProviderErrorEvent, TurnEvent } from '../events/call-events.js';
import { silentLogger, type Logger } from '../logger.js';
import type { AlarmManager } from './alarm-manager.js';
import type { AlarmSeverity } from './severity.js';

export type FailureAlarmType = 'bot-failure' | 'stt-failure' | 'tts-failure' | 'carrier-failure';
export const BOT_ERROR_RATE = 'bot-error-rate';

export interface FailureThresholds {
  /** Sliding window the failures are counted in. */
  windowMs: number;
  /** Failures in the window that raise a major alarm. */
  majorCount: number;
  /** Failures in the window that raise a critical alarm. */
  criticalCount: number;
  /** A major alarm still seeing failures this long after it was raised becomes critical. */
  persistentMs: number;
  /** No failure for this long clears the alarm. */
  quietMs: number;
}

export interface ErrorRateThresholds {
  windowMs: number;
  /** Fewer calls than this in the window: the rate is not judged (one failed call out of two is not a trend). */
  minCalls: number;
  /** Failed share (0..1) that raises a warning. */
  warningRate: number;
  /** Failed share (0..1) that raises a major alarm. */
  majorRate: number;
}

export interface AlarmThresholds {
  bot: FailureThresholds;
  stt: FailureThresholds;
  tts: FailureThresholds;
  carrier: FailureThresholds;
  errorRate: ErrorRateThresholds;
}

const FAILURE_DEFAULTS: FailureThresholds = { windowMs: 5 * 60_000, majorCount: 3, criticalCount: 10, persistentMs: 15 * 60_000, quietMs: 10 * 60_000 };

export const DEFAULT_ALARM_THRESHOLDS: AlarmThresholds = {
  bot: FAILURE_DEFAULTS,
  stt: FAILURE_DEFAULTS,
  tts: FAILURE_DEFAULTS,
  carrier: FAILURE_DEFAULTS,
  errorRate: { windowMs: 15 * 60_000, minCalls: 10, warningRate: 0.1, majorRate: 0.25 },
};

/** Call end reasons that count as a failed call for the error rate. */
const FAILED_END_REASONS = new Set(['bot-error', 'stt-error', 'tts-error', 'bot-no-response', 'config-error']);

export interface AlarmConditionsOptions {
  /** `onChange` should hear every instance's changes (an operator's manual clear may come through any instance). */
  alarms: Pick<AlarmManager, 'raise' | 'clear' | 'onChange'>;
  /** Whether this process writes alarm changes now (the cluster's leader). Default: always. */
  isLeader?: () => boolean;
  /** Overrides of the defaults, per group and field. */
  thresholds?: { [K in keyof AlarmThresholds]?: Partial<AlarmThresholds[K]> };
  /** Default 10000 ms. */
  evaluateEveryMs?: number;
  clock?: Clock;
  logger?: Logger;
}

interface FailureState {
  type: FailureAlarmType;
  entity: string;
  times: number[];
  severity: AlarmSeverity;
  raisedAt: number;
  lastAt: number;
  /** The message of the last severity change, re-sent on a takeover. */
  message: string;
}

/**
 * A call whose end was never heard (another instance's `call.ended` lost while Redis was away) is
 * forgotten after this long, so the per-call state stays bounded.
 */
const FORGET_UNENDED_CALL_MS = 24 * 3_600_000;

interface CallState {
  bot: string;
  startedAt: number;
  answered: boolean;
  sttProvider?: string;
  ttsProvider?: string;
  /** Failure kinds already counted from this call's turns. */
  counted: Set<FailureAlarmType>;
}

export class AlarmConditions {
  readonly thresholds: AlarmThresholds;
  private readonly alarms: AlarmConditionsOptions['alarms'];
  private readonly evaluateEveryMs: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly failures = new Map<string, FailureState>();
  /** Per bot: ended calls in the error-rate window. */
  private readonly callOutcomes = new Map<string, { at: number; failed: boolean }[]>();
  private readonly rateSeverity = new Map<string, { severity: AlarmSeverity; message: string }>();
  private readonly isLeader: () => boolean;
  private readonly calls = new Map<string, CallState>();
  private readonly offs: (() => void)[] = [];
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(opts: AlarmConditionsOptions) {
    this.alarms = opts.alarms;
    const t = opts.thresholds ?? {};
    this.thresholds = {
      bot: checkFailure('bot', { ...DEFAULT_ALARM_THRESHOLDS.bot, ...t.bot }),
      stt: checkFailure('stt', { ...DEFAULT_ALARM_THRESHOLDS.stt, ...t.stt }),
      tts: checkFailure('tts', { ...DEFAULT_ALARM_THRESHOLDS.tts, ...t.tts }),
      carrier: checkFailure('carrier', { ...DEFAULT_ALARM_THRESHOLDS.carrier, ...t.carrier }),
      errorRate: checkRate({ ...DEFAULT_ALARM_THRESHOLDS.errorRate, ...t.errorRate }),
    };
    this.isLeader = opts.isLeader ?? (() => true);
    this.evaluateEveryMs = opts.evaluateEveryMs ?? 10_000;
    if (!(this.evaluateEveryMs > 0)) throw new RangeError(`alarm conditions: evaluateEveryMs must be positive, got ${String(opts.evaluateEveryMs)}`);
    this.clock = opts.clock ?? systemClock;
    this.logger = (opts.logger ?? silentLogger()).child({ component: 'alarm-conditions' });
    // An operator's manual clear starts a new episode: the next failure raises again.
    this.offs.push(
      this.alarms.onChange((c) => {
        if (c.severity !== 'clear') return;
        const failure = this.failures.get(c.key);
        if (failure) failure.severity = 'clear';
        if (c.type === BOT_ERROR_RATE) this.rateSeverity.set(c.entity, { severity: 'clear', message: c.message });
      }),
    );
  }

  /** Subscribes to the bus and starts the periodic evaluation. */
  attach(bus: EventBus): this {
    this.offs.push(
      bus.subscribe('call.started', (e) => this.guard(() => void this.calls.set(e.callId, { bot: e.bot, startedAt: this.clock.now(), answered: false, counted: new Set() }))),
      bus.subscribe('call.answered', (e) => this.guard(() => {
        const call = this.calls.get(e.callId);
        if (call) call.answered = true;
      })),
      bus.subscribe('turn', (e) => this.guard(() => this.turn(e))),
      bus.subscribe('call.ended', (e) => this.guard(() => this.callEnded(e.callId, e.reason))),
      bus.subscribe('provider.error', (e) => this.guard(() => this.coveredFailure(e))),
      bus.subscribe('outbound.status', (e) => this.guard(() => {
        if (e.status === 'failed' && e.reasonCode === 'error') this.failure('carrier-failure', e.carrier ?? 'unknown', e.reason ?? 'carrier error');
      })),
    );
    this.schedule();
    return this;
  }

  /** Records a failure that does not show on the bus (e.g. from a future `provider.error` event). */
  failure(type: FailureAlarmType, entity: string, detail: string): void {
    const key = `${type}:${entity}`;
    const now = this.clock.now();
    let state = this.failures.get(key);
    if (!state) this.failures.set(key, (state = { type, entity, times: [], severity: 'clear', raisedAt: now, lastAt: now, message: '' }));
    state.times.push(now);
    state.lastAt = now;
    this.evaluateFailure(state, detail);
  }

  /** Re-judges every condition now (the timer does this every evaluateEveryMs). */
  evaluate(): void {
    for (const state of this.failures.values()) this.evaluateFailure(state);
    for (const bot of this.callOutcomes.keys()) this.evaluateRate(bot);
    const now = this.clock.now();
    for (const [callId, call] of this.calls) if (now - call.startedAt > FORGET_UNENDED_CALL_MS) this.calls.delete(callId);
  }

  /**
   * This process just took the lead: writes the severity it judges for every active condition (the
   * previous leader may have died before writing its last change). The same severity again only
   * refreshes the message: no history row, no webhook.
   */
  takeOver(): void {
    for (const state of this.failures.values()) {
      if (state.severity !== 'clear') this.send(() => this.alarms.raise(state.type, state.entity, state.severity, state.message));
    }
    for (const [bot, rate] of this.rateSeverity) {
      if (rate.severity !== 'clear') this.send(() => this.alarms.raise(BOT_ERROR_RATE, bot, rate.severity, rate.message));
    }
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    for (const off of this.offs.splice(0)) off();
  }

  private turn(t: TurnEvent): void {
    const call = this.calls.get(t.callId);
    if (call) {
      if (t.sttProvider) call.sttProvider = t.sttProvider;
      if (t.ttsProvider) call.ttsProvider = t.ttsProvider;
    }
    if (t.outcome === 'bot-error') {
      this.failure('bot-failure', t.bot, t.error ?? 'bot error');
      call?.counted.add('bot-failure');
    } else if (t.outcome === 'tts-error') {
      this.failure('tts-failure', t.ttsProvider ?? call?.ttsProvider ?? 'unknown', t.error ?? 'TTS error');
      call?.counted.add('tts-failure');
    }
  }

  /** A failure a fallback covered (the call went on) shows in no turn or call outcome: it counts from its provider.error. */
  private coveredFailure(e: ProviderErrorEvent): void {
    if (e.fallback === undefined) return; // counted from the turn's or the call's outcome
    const type: FailureAlarmType = e.kind === 'tts' ? 'tts-failure' : e.kind === 'stt' ? 'stt-failure' : e.kind === 'bot' ? 'bot-failure' : 'carrier-failure';
    this.failure(type, e.provider, `${e.error} (${e.fallback} took over)`);
  }

  private callEnded(callId: string, reason: string): void {
    const call = this.calls.get(callId);
    this.calls.delete(callId);
    if (!call) return;
    const type = reason === 'bot-error' ? 'bot-failure' : reason === 'stt-error' ? 'stt-failure' : reason === 'tts-error' ? 'tts-failure' : undefined;
    if (type && !call.counted.has(type)) {
      const entity = type === 'bot-failure' ? call.bot : ((type === 'stt-failure' ? call.sttProvider : call.ttsProvider) ?? 'unknown');
      this.failure(type, entity, `a call ended with ${reason}`);
    }
    const failed = FAILED_END_REASONS.has(reason);
    // An outbound call nobody picked up (busy, no-answer) says nothing about the bot.
    if (!call.answered && !failed) return;
    let outcomes = this.callOutcomes.get(call.bot);
    if (!outcomes) this.callOutcomes.set(call.bot, (outcomes = []));
    outcomes.push({ at: this.clock.now(), failed });
    this.evaluateRate(call.bot);
  }

  private evaluateFailure(state: FailureState, detail?: string): void {
    const limits = this.limitsOf(state.type);
    const now = this.clock.now();
    state.times = state.times.filter((at) => now - at < limits.windowMs);
    const count = state.times.length;
    if (state.severity !== 'clear' && now - state.lastAt >= limits.quietMs) {
      // The episode is over: failures older than the quiet period do not start the next one.
      this.failures.delete(`${state.type}:${state.entity}`);
      this.send(() => this.alarms.clear(state.type, state.entity, `no ${describe(state.type)} for ${minutes(limits.quietMs)}`));
      return;
    }
    if (state.severity === 'clear' && count === 0) {
      this.failures.delete(`${state.type}:${state.entity}`);
      return;
    }
    let target: AlarmSeverity = state.severity;
    if (count >= limits.majorCount && state.severity === 'clear') state.raisedAt = now;
    if (count >= limits.criticalCount) target = 'critical';
    else if (count >= limits.majorCount && target !== 'critical') target = 'major';
    if (target === 'major' && count > 0 && now - state.raisedAt >= limits.persistentMs) target = 'critical';
    if (target === state.severity) return;
    state.severity = target;
    const persistent = target === 'critical' && count < limits.criticalCount;
    const message =
      `${count} ${describe(state.type)}${count === 1 ? '' : 's'} for ${state.entity} in the last ${minutes(limits.windowMs)}` +
      (persistent ? `, failing for ${minutes(now - state.raisedAt)}` : '') +
      (detail ? `; last: ${detail.slice(0, 300)}` : '');
    state.message = message;
    this.send(() => this.alarms.raise(state.type, state.entity, target, message));
  }

  private evaluateRate(bot: string): void {
    const limits = this.thresholds.errorRate;
    const now = this.clock.now();
    const outcomes = (this.callOutcomes.get(bot) ?? []).filter((o) => now - o.at < limits.windowMs);
    const failed = outcomes.filter((o) => o.failed).length;
    const current = this.rateSeverity.get(bot)?.severity ?? 'clear';
    let target: AlarmSeverity = current;
    if (failed === 0) target = 'clear';
    else if (outcomes.length >= limits.minCalls) {
      const rate = failed / outcomes.length;
      target = rate >= limits.majorRate ? 'major' : rate >= limits.warningRate ? 'warning' : 'clear';
    }
    if (outcomes.length === 0) this.callOutcomes.delete(bot);
    else this.callOutcomes.set(bot, outcomes);
    if (target === current) return;
    const percent = outcomes.length ? Math.round((failed / outcomes.length) * 1000) / 10 : 0;
    const message = `${failed} of ${outcomes.length} calls to ${bot} failed (${percent}%) in the last ${minutes(limits.windowMs)}`;
    this.rateSeverity.set(bot, { severity: target, message });
    this.send(() => (target === 'clear' ? this.alarms.clear(BOT_ERROR_RATE, bot, message) : this.alarms.raise(BOT_ERROR_RATE, bot, target, message)));
  }

  private limitsOf(type: FailureAlarmType): FailureThresholds {
    return type === 'bot-failure' ? this.thresholds.bot : type === 'stt-failure' ? this.thresholds.stt : type === 'tts-failure' ? this.thresholds.tts : this.thresholds.carrier;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      this.guard(() => this.evaluate());
      this.schedule();
    }, this.evaluateEveryMs);
  }

  /** Writes an alarm change, on the leader only (the others judged the same and stay silent). */
  private send(write: () => Promise<unknown>): void {
    if (!this.isLeader()) return;
    write().catch((err: unknown) => this.logger.error({ err }, 'alarm not written'));
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger.error({ err }, 'alarm condition failed');
    }
  }
}

function describe(type: FailureAlarmType): string {
  return { 'bot-failure': 'bot failure', 'stt-failure': 'STT failure', 'tts-failure': 'TTS failure', 'carrier-failure': 'carrier failure' }[type];
}

function minutes(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`;
}

function checkFailure(group: string, t: FailureThresholds): FailureThresholds {
  for (const field of ['windowMs', 'majorCount', 'criticalCount', 'persistentMs', 'quietMs'] as const) {
    if (!Number.isFinite(t[field]) || t[field] <= 0) throw new RangeError(`alarm thresholds ${group}.${field}: expected a positive number, got ${String(t[field])}`);
  }
  if (t.criticalCount < t.majorCount) throw new RangeError(`alarm thresholds ${group}.criticalCount: expected at least majorCount (${t.majorCount}), got ${t.criticalCount}`);
  return t;
}

function checkRate(t: ErrorRateThresholds): ErrorRateThresholds {
  if (!(t.windowMs > 0)) throw new RangeError(`alarm thresholds errorRate.windowMs: expected a positive number, got ${String(t.windowMs)}`);
  if (!(t.minCalls >= 1)) throw new RangeError(`alarm thresholds errorRate.minCalls: expected at least 1, got ${String(t.minCalls)}`);
  for (const field of ['warningRate', 'majorRate'] as const) {
    if (!(t[field] > 0 && t[field] <= 1)) throw new RangeError(`alarm thresholds errorRate.${field}: expected a share between 0 and 1, got ${String(t[field])}`);
  }
  if (t.majorRate < t.warningRate) throw new RangeError(`alarm thresholds errorRate.majorRate: expected at least warningRate (${t.warningRate}), got ${t.majorRate}`);
  return t;
}
