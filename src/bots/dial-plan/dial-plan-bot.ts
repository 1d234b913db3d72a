/**
 * The dial plan bot: runs a conversation-API style dial plan (PAUSE, SAY, PLAY, COLLECT) on a call
 * instead of a conversational bot, speaking only the bot-api activity vocabulary, like the flow bot.
 *
 * Each segment of the plan (the verbs up to and including a COLLECT) goes to the call in one batch:
 * the COLLECT's settings first (so a key during a bargeIn prompt is already collected), then its
 * prompts. The call session plays them, cuts interruptible ones on a key (dropping the rest of the
 * segment), gathers the digits and sends them as one DTMF event, or sends `noUserInput` when the
 * COLLECT's timeout passes in silence. The bot then records the input, POSTs it to the COLLECT's
 * eventUrl and hands over the next segment. After the last verb it hangs up (`dial-plan-completed`).
 *
 * Timing: activities are emitted after start()/send() has handed back its promise and before that
 * promise resolves, never synchronously inside the call (a listener attached right after start()
 * still sees them).
 */
import { EventEmitter } from 'node:events';
import type { Activity } from '../activity.js';
import type { BotConnector, BotConnectorEventMap, BotConversationInfo, BotDisconnectReason } from '../connector.js';
import { silentLogger, type Logger } from '../../logger.js';
import { systemClock, type Clock } from '../../runtime/clock.js';
import type { DialPlan, DialPlanInput } from './dial-plan.js';
import { postCollectEvent, type CollectEventPayload, type CollectStatus, type DialPlanCollectResult } from './collect-event.js';
import { preparePlan, type PlanCollect, type PlanSegment } from './plan-segments.js';
import {
  DEFAULT_GENDER_VOICES,
  collectConfig,
  collectLeadIn,
  hangupActivity,
  notCollectingConfig,
  pauseActivity,
  playActivity,
  sayActivity,
  type GenderVoices,
} from './verb-activities.js';

/** The hangup reason after the plan's last verb. */
export const DIAL_PLAN_COMPLETED = 'dial-plan-completed';

export interface DialPlanBotOptions {
  /** Values for `${name}` placeholders in SAY text, PLAY url and COLLECT eventUrl (e.g. a campaign contact's fields). */
  variables?: Readonly<Record<string, string | undefined>>;
  logger?: Logger;
  clock?: Clock;
  /** HTTP client for the eventUrl POSTs; Node's global fetch by default. */
  fetch?: typeof fetch;
  /** Deadline for each eventUrl POST. Default 5000 ms. */
  eventTimeoutMs?: number;
  /** voiceName for each SAY gender; default `male`/`female` (the local eSpeak voice's names). */
  voices?: Partial<GenderVoices>;
  /** Name in logs and call records. Default `dial-plan`. */
  name?: string;
}

export interface DialPlanResult {
  conversationId?: string;
  /** The call heard the plan to its end: every verb ran and the bot hung up after the last one. */
  completed: boolean;
  /** The conversation is over; the result will not change any more. */
  ended: boolean;
  /** How the conversation ended, as the call session told the bot. */
  endReason?: BotDisconnectReason;
  /** One entry per COLLECT reached, in plan order. */
  collects: DialPlanCollectResult[];
}

/** Events on `bot.outcome` (kept off the connector itself, whose events the call session owns). */
export interface DialPlanOutcomeEventMap {
  /** A COLLECT finished (digits, timeout or hangup); emitted before its eventUrl POST completes. */
  collect: [collect: DialPlanCollectResult];
  /** The conversation ended: the final result, once. */
  result: [result: DialPlanResult];
}

type BotState = 'idle' | 'playing' | 'collecting' | 'finished';

export class DialPlanBot extends EventEmitter<BotConnectorEventMap> implements BotConnector {
  readonly botName: string;
  /** `collect` per finished COLLECT, `result` once at the end. */
  readonly outcome = new EventEmitter<DialPlanOutcomeEventMap>();
  /** Resolves with the final result when the conversation ends. */
  readonly finished: Promise<DialPlanResult>;
  private resolveFinished!: (result: DialPlanResult) => void;
  readonly plan: DialPlan;
  private readonly segments: PlanSegment[];
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly fetchImpl: typeof fetch;
  private readonly eventTimeoutMs: number;
  private readonly voices: GenderVoices;
  private state: BotState = 'idle';
  private nextSegment = 0;
  private waitingFor: PlanCollect | undefined;
  private reachedEnd = false;
  private info: BotConversationInfo | undefined;
  private readonly collects: DialPlanCollectResult[] = [];
  private endReason: BotDisconnectReason | undefined;
  private readonly deliveries = new Set<Promise<void>>();

  /** Throws DialPlanError for an invalid plan and PlaceholderError for an unknown `${name}`. */
  constructor(plan: DialPlan | DialPlanInput, options: DialPlanBotOptions = {}) {
    super();
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    const prepared = preparePlan(plan, options.variables ?? {});
    this.plan = prepared.plan;
    this.segments = prepared.segments;
    this.botName = options.name ?? 'dial-plan';
    this.log = (options.logger ?? silentLogger()).child({ bot: this.botName });
    this.clock = options.clock ?? systemClock;
    this.fetchImpl = options.fetch ?? fetch;
    this.eventTimeoutMs = options.eventTimeoutMs ?? 5000;
    this.voices = { ...DEFAULT_GENDER_VOICES, ...options.voices };
    if (prepared.ignoredBargeIn.length) {
      this.log.warn({ verbs: prepared.ignoredBargeIn }, 'bargeIn on verbs with no COLLECT after them: a key has nothing to report to, so they are not interruptible');
    }
  }

  /** The outcome so far (final once `ended`). */
  get result(): DialPlanResult {
    return {
      conversationId: this.info?.conversationId,
      completed: this.reachedEnd && this.endReason === 'bot-disconnected',
      ended: this.state === 'finished',
      endReason: this.endReason,
      collects: [...this.collects],
    };
  }

  /** Resolves once every eventUrl POST started so far has finished (delivered or logged as failed). */
  async whenEventsDelivered(): Promise<void> {
    while (this.deliveries.size) await Promise.all([...this.deliveries]);
  }

  async start(info: BotConversationInfo): Promise<void> {
    if (this.state !== 'idle') throw new Error(`${this.botName}: start() called twice`);
    this.info = info;
    this.state = 'playing';
    const batch = this.runNextSegment();
    await Promise.resolve(); // see the module comment: emit after start() has returned
    this.emitBatch(batch);
  }

  async send(activity: Activity): Promise<void> {
    if (this.state === 'idle') throw new Error(`${this.botName}: send() before start()`);
    const batch = this.react(activity);
    await Promise.resolve();
    this.emitBatch(batch);
  }

  async end(reasonCode: BotDisconnectReason, reason?: string): Promise<void> {
    if (this.state === 'finished') return;
    if (this.waitingFor) this.finishCollect(this.waitingFor, 'hangup', '');
    this.state = 'finished';
    this.endReason = reasonCode;
    this.log.debug({ conversationId: this.info?.conversationId, reasonCode, reason, completed: this.reachedEnd }, 'dial plan conversation ended');
    const result = this.result;
    this.resolveFinished(result);
    this.notify('result', result);
  }

  // -- input ---------------------------------------------------------------------------------------

  private react(activity: Activity): Activity[] {
    const collect = this.waitingFor;
    if (this.state !== 'collecting' || !collect) return []; // keys outside a COLLECT have nowhere to go
    const name = activity.type === 'event' ? activity.name?.toLowerCase() : undefined;
    if (name === 'dtmf') {
      const digits = keysOf(activity.value);
      if (digits === undefined) {
        this.log.warn({ value: activity.value }, 'DTMF event without digits; ignored');
        return [];
      }
      this.finishCollect(collect, 'collected', digits);
    } else if (name === 'nouserinput') {
      this.finishCollect(collect, 'timeout', '');
    } else {
      return []; // speech, playFinished...: a dial plan listens for keys only
    }
    this.state = 'playing';
    return this.runNextSegment();
  }

  private finishCollect(collect: PlanCollect, status: CollectStatus, digits: string): void {
    this.waitingFor = undefined;
    const record: DialPlanCollectResult = { verbIndex: collect.index, status, digits, at: new Date(this.clock.now()).toISOString() };
    this.collects.push(record);
    this.log.info({ verbIndex: collect.index, status, digits }, 'dial plan COLLECT finished');
    this.notify('collect', { ...record });
    const url = collect.verb.eventUrl;
    if (!url) return;
    const info = this.info!;
    const payload: CollectEventPayload = {
      type: 'dial-plan.collect',
      callId: info.conversationId,
      conversationId: info.conversationId,
      to: info.callee,
      from: info.caller,
      collectIndex: collect.collectIndex,
      ...record,
    };
    const delivery = postCollectEvent(url, payload, { fetch: this.fetchImpl, timeoutMs: this.eventTimeoutMs, log: this.log });
    this.deliveries.add(delivery);
    void delivery.finally(() => this.deliveries.delete(delivery));
  }

  // -- output --------------------------------------------------------------------------------------

  /** The next segment's activities; the hangup after the last one. */
  private runNextSegment(): Activity[] {
    const index = this.nextSegment++;
    const segment = this.segments[index];
    const now = this.clock.now();
    const out: Activity[] = [];
    if (segment.collect) out.push(collectConfig(segment.collect.verb, now));
    else if (index > 0) out.push(notCollectingConfig(now));
    for (const { verb, interruptible } of segment.prompts) {
      if (verb.type === 'SAY') out.push(sayActivity(verb, interruptible, this.voices, now));
      else if (verb.type === 'PLAY') out.push(playActivity(verb, interruptible, now));
      else {
        const pause = pauseActivity(verb, interruptible, now);
        if (pause) out.push(pause);
      }
    }
    if (segment.collect) {
      if (out.length === 1) out.push(collectLeadIn(now));
      this.waitingFor = segment.collect;
      this.state = 'collecting';
      return out;
    }
    out.push(hangupActivity(DIAL_PLAN_COMPLETED, now));
    this.reachedEnd = true;
    return out;
  }

  /** A listener's bug must not end the call (the session treats a throwing send() as a bot failure). */
  private notify<K extends keyof DialPlanOutcomeEventMap>(event: K, ...args: DialPlanOutcomeEventMap[K]): void {
    try {
      (this.outcome.emit as (e: K, ...a: DialPlanOutcomeEventMap[K]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error({ err, event }, 'dial plan outcome listener threw; ignored');
    }
  }

  private emitBatch(batch: Activity[]): void {
    if (batch.length > 0 && this.state !== 'finished') this.emit('activities', batch);
  }
}

/** The keys of a DTMF event; the session sends them without the submit digit. */
function keysOf(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') return undefined;
  return value.replace(/[^0-9*#A-D]/gi, '').toUpperCase();
}
