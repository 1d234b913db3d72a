/**
 * Runs campaigns from the store: a clock-driven loop that claims due attempts (paced, within
 * maxConcurrent and each contact's calling window), places them through the CallPlacer, and turns
 * each call's outbound.status events into attempt outcomes and contact transitions. All state is in
 * the store, so several runners (processes) can share campaigns and a restarted one carries on;
 * attempts a dead process left in flight are marked interrupted (used up, never dialed again).
 * By default each runner paces its own calls (one process). With `queue` (REDIS_URL) claims are
 * stored `queued` and handed to a BullMQ queue whose Redis-side rate limiter all processes share;
 * the process whose worker takes a job dials it (see campaign-queue.ts).
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { stringify } from 'csv-stringify/sync';
import { systemClock, type Clock, type TimerHandle } from '../runtime/clock.js';
import { silentLogger, type Logger } from '../logger.js';
import type { Kysely } from 'kysely';
import type { VoxgateDatabase } from '../store/schema.js';
import {
  CampaignRepository,
  type CampaignAttemptRecord,
  type CampaignContactRecord,
  type CampaignExportRow,
  type CampaignHistoryEntry,
  type CampaignListQuery,
  type CampaignPolicy,
  type CampaignProgress,
  type CampaignRecord,
  type CampaignStatus,
  type AttemptResult,
  type FinishedAttempt,
} from '../store/campaign-repository.js';
import {
  CampaignDefinitionError,
  normalizePhone,
  outcomeFromDtmf,
  parseCampaignDefinition,
  type AttemptOutcome,
  type CampaignContact,
  type CampaignDefinition,
} from './campaign-definition.js';
import { CallPacer } from './campaign-pacer.js';
import { CampaignJobQueue, type CampaignQueueOptions, type DialJobData } from './campaign-queue.js';
import { CallingWindow } from './campaign-window.js';
import { OutboundRequestError, type CallPlacer, type OutboundCallRequest } from './outbound.js';
import type { OutboundReasonCode, OutboundStatusEvent } from '../events/outbound-events.js';

/** Delivers status callbacks (the StatusNotifier); must return at once. */
export interface CampaignNotifier {
  notify(url: string, payload: object, idempotencyKey: string): void | Promise<void>;
}

export interface CampaignRunnerOptions {
  repository: CampaignRepository;
  placer: CallPlacer;
  /** Subscribes to the dialer's status events: `(l) => bus.subscribe('outbound.status', l)`. Returns the unsubscribe. */
  subscribe: (listener: (event: OutboundStatusEvent) => void) => () => void;
  notifier?: CampaignNotifier;
  clock?: Clock;
  logger?: Logger;
  /** Identifies this runner on the attempts it claims. Default host#pid#random. */
  owner?: string;
  /** How often the store is looked at when nothing is due sooner (campaigns and pauses from other processes). Default 1000 ms. */
  pollIntervalMs?: number;
  /** How often attempts of dead processes are looked for after start. Default 60000 ms. */
  recoveryIntervalMs?: number;
  /** An attempt claimed on another host is taken as abandoned after this long. Default 6 h. */
  abandonedAfterMs?: number;
  /** A call of this runner with no final status after this long is failed as an error (the dialer lost it). Default 2 h. */
  attemptTimeoutMs?: number;
  /**
   * Absent (default): one process, paced in-process. Set (REDIS_URL): claims are queued in BullMQ on
   * Redis and dialed by whichever process's worker takes them, paced by a limiter shared by all processes.
   */
  queue?: CampaignQueueOptions | CampaignJobQueue;
}

export type CampaignRunnerEvent =
  | { type: 'attempt.started'; campaignId: string; attempt: CampaignAttemptRecord; contact: CampaignContactRecord }
  | { type: 'attempt.status'; campaignId: string; attemptId: number; status: 'ringing' | 'answered' }
  | { type: 'attempt.finished'; campaignId: string; attempt: CampaignAttemptRecord; contact: CampaignContactRecord }
  | { type: 'campaign.status'; campaignId: string; status: CampaignStatus };

/** Contacts fetched per campaign per pass. */
const DUE_BATCH = 50;
/** Status events kept for calls whose place() has not returned yet. */
const MAX_EARLY_EVENTS = 10_000;
const EARLY_EVENT_TTL_MS = 60_000;
const ACTIVE = new Set(['dialing', 'ringing', 'answered']);

/** Owners of runners alive in this process: a runner never interrupts a live sibling's calls. */
const liveOwners = new Set<string>();

interface CampaignState {
  pacer: CallPacer;
  window?: CallingWindow;
}

interface Flight {
  campaign: CampaignRecord;
  attempt: CampaignAttemptRecord;
  chain: Promise<void>;
}

export class CampaignRunner {
  readonly owner: string;
  private readonly repo: CampaignRepository;
  private readonly placer: CallPlacer;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly notifier?: CampaignNotifier;
  private readonly subscribeToStatus: CampaignRunnerOptions['subscribe'];
  private readonly pollIntervalMs: number;
  private readonly recoveryIntervalMs: number;
  private readonly abandonedAfterMs: number;
  private readonly attemptTimeoutMs: number;

  private readonly states = new Map<string, CampaignState>();
  private readonly flights = new Map<string, Flight>();
  private readonly earlyEvents = new Map<string, OutboundStatusEvent[]>();
  private readonly listeners = new Set<(event: CampaignRunnerEvent) => void>();
  private readonly tracked = new Set<Promise<unknown>>();
  private unsubscribe?: () => void;
  private timer?: { handle: TimerHandle; at: number };
  private ticking?: Promise<void>;
  private tickAgain = false;
  private placing = 0;
  private running = false;
  private lastRecoveryAt = Number.NEGATIVE_INFINITY;
  /** The shared queue (Redis mode); undefined: in-process pacing. */
  private readonly queue?: CampaignJobQueue;
  private readonly campaignCache = new Map<string, CampaignRecord>();

  constructor(opts: CampaignRunnerOptions) {
    this.repo = opts.repository;
    this.placer = opts.placer;
    this.subscribeToStatus = opts.subscribe;
    this.notifier = opts.notifier;
    this.clock = opts.clock ?? systemClock;
    this.logger = (opts.logger ?? silentLogger()).child({ component: 'campaign-runner' });
    this.owner = opts.owner ?? `${hostname()}#${process.pid}#${randomUUID().slice(0, 8)}`;
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
    this.recoveryIntervalMs = opts.recoveryIntervalMs ?? 60_000;
    this.abandonedAfterMs = opts.abandonedAfterMs ?? 6 * 3_600_000;
    this.attemptTimeoutMs = opts.attemptTimeoutMs ?? 2 * 3_600_000;
    if (opts.queue) this.queue = opts.queue instanceof CampaignJobQueue ? opts.queue : new CampaignJobQueue(opts.queue, this.logger);
  }

  /** `queue`: dialing goes through the shared Redis queue; `in-process`: this runner paces its own calls. */
  get mode(): 'queue' | 'in-process' {
    return this.queue ? 'queue' : 'in-process';
  }

  onEvent(listener: (event: CampaignRunnerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Validates and stores a campaign (contacts from the definition plus `contacts`, e.g. a CSV upload); it starts at once. */
  async create(definition: unknown, contacts?: CampaignContact[]): Promise<CampaignRecord> {
    const parsed = parseCampaignDefinition(definition);
    // A campaign whose every call would be refused (unknown carrier or bot) is refused itself.
    try {
      this.placer.check?.({ bot: parsed.bot, carrier: parsed.carrier, caller: parsed.caller, dialPlan: parsed.dialPlan });
    } catch (err) {
      if (err instanceof OutboundRequestError) throw new CampaignDefinitionError(`invalid campaign: ${err.message}`);
      throw err;
    }
    const record = await this.repo.create({ definition: parsed, contacts, now: this.clock.now() });
    this.logger.info({ campaignId: record.id, name: record.name }, 'campaign created');
    this.emit({ type: 'campaign.status', campaignId: record.id, status: 'running' });
    this.kick();
    return record;
  }

  /** Marks attempts left in flight by dead processes as interrupted, then runs every running campaign. */
  async start(): Promise<void> {
    if (this.running) return;
    // Redis down at start is a configuration problem: say so rather than hang on the first claim.
    await this.queue?.check();
    this.running = true;
    liveOwners.add(this.owner);
    this.unsubscribe = this.subscribeToStatus((event) => this.onStatus(event));
    await this.recoverAbandoned();
    this.kick();
  }

  /**
   * Stops placing calls and listening for results. Attempts still in flight stay in the store and
   * are marked interrupted by the next runner that starts.
   */
  async stop(): Promise<void> {
    this.running = false;
    liveOwners.delete(this.owner);
    this.timer?.handle.cancel();
    this.timer = undefined;
    // Workers finish the job in hand (its call is placed) and take no more; queued jobs stay in Redis for other processes.
    if (this.queue) {
      await this.leaveCampaigns(this.queue.workingOn()).catch((err: unknown) => this.logger.warn({ err }, 'leaving campaign queues failed'));
      await this.queue.close();
    }
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.settled();
  }

  async pause(campaignId: string): Promise<boolean> {
    return this.changeStatus(campaignId, ['running'], 'paused');
  }

  async resume(campaignId: string): Promise<boolean> {
    const resumed = await this.changeStatus(campaignId, ['paused'], 'running');
    if (resumed) this.kick();
    return resumed;
  }

  /** No new calls; contacts not yet settled become cancelled; calls in flight finish and are recorded. */
  async cancel(campaignId: string): Promise<boolean> {
    const cancelled = await this.repo.cancel(campaignId, this.clock.now());
    if (cancelled) {
      this.logger.info({ campaignId }, 'campaign cancelled');
      this.emit({ type: 'campaign.status', campaignId, status: 'cancelled' });
      // Not awaited: an unreachable Redis must not hold up the cancel (the store already has it).
      if (this.queue) this.track(this.queue.remove(campaignId));
      await this.notifyCampaignEnd(campaignId);
    }
    return cancelled;
  }

  progress(campaignId: string): Promise<CampaignProgress | undefined> {
    return this.repo.progress(campaignId);
  }

  list(query: CampaignListQuery): Promise<CampaignRecord[]> {
    return this.repo.list(query);
  }

  history(campaignId: string): Promise<CampaignHistoryEntry[]> {
    return this.repo.history(campaignId);
  }

  /** Results as CSV: one row per attempt (a contact never called has one row with empty attempt columns). */
  async exportCsv(campaignId: string): Promise<string> {
    return campaignResultsCsv(await this.repo.exportRows(campaignId));
  }

  /** Resolves once no pass, placement or status handling is under way (tests step a FakeClock with it). */
  async settled(): Promise<void> {
    while (this.tracked.size > 0 || this.ticking) {
      await Promise.allSettled([...this.tracked, this.ticking]);
    }
  }

  private async changeStatus(campaignId: string, from: CampaignStatus[], to: CampaignStatus): Promise<boolean> {
    const changed = await this.repo.transition(campaignId, from, to, this.clock.now());
    if (changed) {
      this.logger.info({ campaignId, status: to }, 'campaign status changed');
      this.emit({ type: 'campaign.status', campaignId, status: to });
    }
    return changed;
  }

  /** Runs a pass now (or right after the one under way). */
  private kick(): void {
    if (!this.running) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = this.track(this.loop()).finally(() => (this.ticking = undefined));
  }

  private async loop(): Promise<void> {
    do {
      this.tickAgain = false;
      let wakeAt: number;
      try {
        wakeAt = await this.pass();
      } catch (err) {
        this.logger.error({ err }, 'campaign pass failed; retrying at the next poll');
        wakeAt = this.clock.now() + this.pollIntervalMs;
      }
      this.scheduleAt(wakeAt);
    } while (this.tickAgain && this.running);
  }

  private scheduleAt(at: number): void {
    if (!this.running) return;
    if (this.timer && this.timer.at <= at) return;
    this.timer?.handle.cancel();
    const delay = Math.max(0, at - this.clock.now());
    const handle = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, delay);
    this.timer = { handle, at };
  }

  /** One look at every running campaign; returns when the next look is due. */
  private async pass(): Promise<number> {
    const now = this.clock.now();
    if (now - this.lastRecoveryAt >= this.recoveryIntervalMs) await this.recoverAbandoned();
    let wakeAt = now + this.pollIntervalMs;
    const campaigns = await this.repo.listByStatus(['running']);
    // Pacing state of campaigns no longer running is dropped (a resumed campaign starts a fresh grid).
    for (const id of this.states.keys()) if (!campaigns.some((c) => c.id === id)) this.states.delete(id);
    if (this.queue) await this.syncWorkers(campaigns);
    for (const campaign of campaigns) {
      if (!this.running) break;
      wakeAt = Math.min(wakeAt, await this.dialDue(campaign, now));
    }
    return wakeAt;
  }

  /** Claims and places what is due for one campaign; returns when it next needs a look. */
  private async dialDue(campaign: CampaignRecord, now: number): Promise<number> {
    const def = campaign.definition;
    const state = this.stateFor(campaign);
    let room = def.pacing.maxConcurrent - (await this.repo.countActiveAttempts(campaign.id));
    // At the limit: the next call to end starts a pass.
    if (room <= 0) return Number.POSITIVE_INFINITY;
    const due = await this.repo.dueContacts(campaign.id, def.escalation, now, Math.min(room, DUE_BATCH));
    let lostRace = false;
    for (const contact of due) {
      if (room <= 0 || !this.running) break;
      const zone = contact.timezone ?? state.window?.defaultTimeZone;
      if (state.window && !state.window.isOpen(now, zone)) {
        const opensAt = state.window.nextOpening(now, zone);
        await this.repo.deferContact(contact.id, opensAt, now);
        this.logger.debug({ campaignId: campaign.id, contact: contact.position, opensAt }, 'outside calling window');
        continue;
      }
      if (!this.queue && !state.pacer.canStart(now)) return state.pacer.nextStartAt();
      const attempt = await this.repo.claimAttempt({
        campaignId: campaign.id,
        contactId: contact.id,
        attemptNo: contact.attemptsMade + 1,
        attemptsPerContact: def.attemptsPerContact,
        owner: this.owner,
        now,
        onlyIfFirstOpen: def.escalation === 'sequential',
        ...(this.queue ? { status: 'queued' as const } : {}),
      });
      if (!attempt) {
        // Another runner claimed it (or the campaign stopped): its result will show up in the store.
        lostRace = true;
        continue;
      }
      room--;
      if (this.queue) {
        await this.queueAttempt(attempt);
        continue;
      }
      state.pacer.start(now);
      void this.place(campaign, contact, attempt);
    }
    // Redis mode: attempts finish in other processes too, unseen here; the poll notices the freed room.
    if (room <= 0 || lostRace) return now + this.pollIntervalMs;
    const next = await this.repo.nextDueAt(campaign.id, def.escalation);
    if (next === undefined) return this.queue ? now + this.pollIntervalMs : Number.POSITIVE_INFINITY;
    return Math.max(next, this.queue ? now + 1 : state.pacer.nextStartAt(), now + 1);
  }

  private stateFor(campaign: CampaignRecord): CampaignState {
    let state = this.states.get(campaign.id);
    if (!state) {
      const def = campaign.definition;
      state = { pacer: new CallPacer(def.pacing.callsPerSecond), window: def.window ? new CallingWindow(def.window) : undefined };
      this.states.set(campaign.id, state);
    }
    return state;
  }

  /** Places the call and follows it; the returned promise settles once the dialer took (or refused) the call. */
  private place(campaign: CampaignRecord, contact: CampaignContactRecord, attempt: CampaignAttemptRecord): Promise<void> {
    this.logger.info({ campaignId: campaign.id, contact: contact.position, attemptNo: attempt.attemptNo }, 'campaign attempt claimed');
    this.emit({ type: 'attempt.started', campaignId: campaign.id, attempt, contact });
    this.placing++;
    let placed!: () => void;
    const placedPromise = new Promise<void>((resolve) => (placed = resolve));
    this.track(
      (async () => {
        let conversationId: string;
        try {
          ({ conversationId } = await this.placer.place(callRequest(campaign.definition, contact, attempt)));
        } catch (err) {
          placed();
          const final = err instanceof OutboundRequestError;
          await this.finish(campaign, attempt, { status: 'failed', outcome: 'error', detail: errorText(err), final });
          return;
        } finally {
          this.placing--;
        }
        placed();
        const flight: Flight = { campaign, attempt, chain: this.repo.setConversation(attempt.id, conversationId) };
        this.flights.set(conversationId, flight);
        const early = this.earlyEvents.get(conversationId);
        this.earlyEvents.delete(conversationId);
        for (const event of early ?? []) this.enqueue(flight, event);
        await flight.chain;
      })()
        .catch((err: unknown) => this.logger.error({ err, campaignId: campaign.id, attemptId: attempt.id }, 'placing a campaign call failed'))
        .finally(() => placed()),
    );
    return placedPromise;
  }

  /** Redis mode: hands a claimed attempt to the shared queue; a failed add is retried by the next recovery. */
  private async queueAttempt(attempt: CampaignAttemptRecord): Promise<void> {
    try {
      await this.queue!.enqueue(attempt.campaignId, attempt.id, attempt.startedAt);
    } catch (err) {
      this.logger.error({ err, campaignId: attempt.campaignId, attemptId: attempt.id }, 'queueing a campaign attempt failed; retried at the next recovery');
    }
  }

  /** Redis mode: a worker per running campaign in this process; campaigns no longer running are left. */
  private async syncWorkers(campaigns: CampaignRecord[]): Promise<void> {
    const queue = this.queue!;
    const running = new Set(campaigns.map((c) => c.id));
    await this.leaveCampaigns(queue.workingOn().filter((id) => !running.has(id)));
    for (const id of this.campaignCache.keys()) if (!running.has(id)) this.campaignCache.delete(id);
    for (const campaign of campaigns) {
      if (!this.running) return;
      this.campaignCache.set(campaign.id, campaign);
      const { callsPerSecond, maxConcurrent } = campaign.definition.pacing;
      await queue.work(campaign.id, callsPerSecond, maxConcurrent, (job) => this.dialQueued(job));
    }
  }

  /**
   * Redis mode: closes this process's workers on these campaigns. An ended campaign's queue is removed
   * from Redis by every process as it leaves (after closing its own worker), so the last one out
   * leaves no keys behind even when the other's worker wrote after the first removal.
   */
  private async leaveCampaigns(ids: string[]): Promise<void> {
    for (const id of ids) {
      const status = (await this.repo.get(id))?.status;
      if (status === 'running' || status === 'paused') await this.queue!.leave(id);
      else await this.queue!.remove(id);
    }
  }

  /**
   * Redis mode, a job taken by this process's worker: the attempt becomes ours (`queued -> dialing`)
   * and is dialed here, where its status callbacks will arrive. A job whose attempt was taken already
   * (redelivered after a worker died) does nothing: recovery marks that attempt interrupted.
   */
  private async dialQueued(job: DialJobData): Promise<void> {
    if (!this.running) throw new Error('campaign runner stopped');
    const taken = await this.repo.takeQueuedAttempt(job.attemptId, this.owner, this.clock.now());
    if (taken.kind !== 'dial') {
      this.logger.debug({ campaignId: job.campaignId, attemptId: job.attemptId, result: taken.kind }, 'queued attempt not dialed');
      if (taken.kind === 'released') this.kick();
      return;
    }
    const attempt = taken.attempt;
    const campaign = this.campaignCache.get(attempt.campaignId) ?? (await this.repo.get(attempt.campaignId));
    const contact = await this.repo.contact(attempt.contactId);
    if (!campaign || !contact) throw new Error(`campaign attempt ${attempt.id}: campaign or contact missing`);
    await this.place(campaign, contact, attempt);
  }

  /**
   * The call of an attempt was lost with the instance running it (a survivor closes it): the attempt
   * ends `interrupted` (used up, never re-dialed, as after any process death) and its callback is sent.
   * False when the call was no campaign attempt or its attempt had already ended.
   */
  async interruptLostCall(conversationId: string, detail: string): Promise<boolean> {
    const attempt = await this.repo.attemptByConversation(conversationId);
    if (!attempt || !ACTIVE.has(attempt.status)) return false;
    const campaign = this.campaignCache.get(attempt.campaignId) ?? (await this.repo.get(attempt.campaignId));
    if (!campaign) return false;
    const finished = await this.repo.finishAttempt(attempt.id, { status: 'interrupted', outcome: 'interrupted', detail }, policyOf(campaign), this.clock.now());
    if (!finished) return false;
    this.flights.delete(conversationId);
    this.logger.warn({ campaignId: campaign.id, attemptId: attempt.id, conversationId }, detail);
    this.announce(campaign, finished);
    return true;
  }

  private onStatus(event: OutboundStatusEvent): void {
    try {
      const flight = this.flights.get(event.conversationId);
      if (flight) this.enqueue(flight, event);
      // place() has not returned yet: this may be one of ours, keep it for a while.
      else if (this.placing > 0) this.keepEarly(event);
    } catch (err) {
      this.logger.error({ err }, 'campaign status event failed');
    }
  }

  private keepEarly(event: OutboundStatusEvent): void {
    const now = this.clock.now();
    for (const [id, events] of this.earlyEvents) {
      if (this.earlyEvents.size < MAX_EARLY_EVENTS && now - (events[0]?.at ?? now) < EARLY_EVENT_TTL_MS) break;
      this.earlyEvents.delete(id);
    }
    const list = this.earlyEvents.get(event.conversationId) ?? [];
    list.push(event);
    this.earlyEvents.set(event.conversationId, list);
  }

  /** A call's events are handled one after another, in the order they came. */
  private enqueue(flight: Flight, event: OutboundStatusEvent): void {
    flight.chain = flight.chain
      .then(() => this.handleStatus(flight, event))
      .catch((err: unknown) => this.logger.error({ err, conversationId: event.conversationId }, 'campaign status handling failed'));
    this.track(flight.chain);
  }

  private async handleStatus(flight: Flight, event: OutboundStatusEvent): Promise<void> {
    const { campaign, attempt } = flight;
    if (event.status === 'ringing' || event.status === 'answered') {
      if (await this.repo.markProgress(attempt.id, event.status)) {
        this.emit({ type: 'attempt.status', campaignId: campaign.id, attemptId: attempt.id, status: event.status });
      }
      return;
    }
    if (event.status === 'completed') {
      const outcome = event.reasonCode === 'machine-detected' ? 'machine' : outcomeFromDtmf(event.dtmf, campaign.definition.outcomes);
      await this.finish(campaign, attempt, { status: 'completed', outcome, dtmf: event.dtmf, detail: event.endReason ?? event.reason });
    } else if (event.status === 'failed') {
      await this.finish(campaign, attempt, {
        status: 'failed',
        outcome: outcomeFromReason(event.reasonCode),
        detail: event.reason ?? event.reasonCode,
      });
    }
    if (event.status === 'completed' || event.status === 'failed') this.flights.delete(event.conversationId);
  }

  private async finish(campaign: CampaignRecord, attempt: CampaignAttemptRecord, result: AttemptResult): Promise<void> {
    const finished = await this.repo.finishAttempt(attempt.id, result, policyOf(campaign), this.clock.now());
    if (finished) this.announce(campaign, finished);
    this.kick();
  }

  private announce(campaign: CampaignRecord, finished: FinishedAttempt): void {
    const { attempt, contact } = finished;
    this.logger.info(
      { campaignId: campaign.id, contact: contact.position, attemptNo: attempt.attemptNo, outcome: attempt.outcome, contactOutcome: contact.outcome },
      'campaign attempt finished',
    );
    this.emit({ type: 'attempt.finished', campaignId: campaign.id, attempt, contact });
    const url = campaign.definition.callback?.url;
    if (url) {
      this.send(url, attemptPayload(campaign, attempt, contact), `campaign-attempt-${attempt.id}`);
    }
    if (finished.campaignFinished) {
      this.emit({ type: 'campaign.status', campaignId: campaign.id, status: 'completed' });
      if (this.queue) this.track(this.queue.remove(campaign.id));
      this.track(this.notifyCampaignEnd(campaign.id));
    }
  }

  private async notifyCampaignEnd(campaignId: string): Promise<void> {
    try {
      const campaign = await this.repo.get(campaignId);
      const url = campaign?.definition.callback?.url;
      if (!campaign || !url) return;
      const progress = await this.repo.progress(campaignId);
      this.send(url, { type: 'campaign.finished', campaignId, name: campaign.name, status: campaign.status, progress }, `campaign-finished-${campaignId}`);
    } catch (err) {
      this.logger.error({ err, campaignId }, 'campaign end callback not queued');
    }
  }

  /** Never awaited: a slow or failing receiver must not hold up the dialing. */
  private send(url: string, payload: object, idempotencyKey: string): void {
    if (!this.notifier) return;
    try {
      const result = this.notifier.notify(url, payload, idempotencyKey);
      if (result instanceof Promise) result.catch((err: unknown) => this.logger.error({ err, url, idempotencyKey }, 'campaign callback not queued'));
    } catch (err) {
      this.logger.error({ err, url, idempotencyKey }, 'campaign callback not queued');
    }
  }

  /**
   * Attempts in flight whose owner is gone: the attempt is used up (the call may have rung), never
   * re-dialed. Own attempts with no final status after attemptTimeoutMs are failed: the dialer lost them.
   */
  private async recoverAbandoned(): Promise<void> {
    const now = this.clock.now();
    this.lastRecoveryAt = now;
    const campaigns = new Map<string, CampaignRecord | undefined>();
    for (const attempt of await this.repo.activeAttempts()) {
      let result: AttemptResult;
      if (this.isAbandoned(attempt, now)) {
        result = { status: 'interrupted', outcome: 'interrupted', detail: `owner ${attempt.owner ?? 'unknown'} stopped before the call ended` };
      } else if (attempt.owner === this.owner && now - attempt.startedAt > this.attemptTimeoutMs) {
        result = { status: 'failed', outcome: 'error', detail: `no final status from the dialer within ${Math.round(this.attemptTimeoutMs / 1000)} s` };
      } else continue;
      if (!campaigns.has(attempt.campaignId)) campaigns.set(attempt.campaignId, await this.repo.get(attempt.campaignId));
      const campaign = campaigns.get(attempt.campaignId);
      if (!campaign) continue;
      const finished = await this.repo.finishAttempt(attempt.id, result, policyOf(campaign), now);
      if (!finished) continue;
      if (attempt.conversationId) this.flights.delete(attempt.conversationId);
      this.logger.warn({ campaignId: campaign.id, attemptId: attempt.id, owner: attempt.owner, outcome: result.outcome }, result.detail ?? 'attempt ended by recovery');
      this.announce(campaign, finished);
    }
    if (this.queue) await this.requeueQueued(campaigns);
  }

  /**
   * Redis mode: claims still `queued` are added again with their own jobId. BullMQ ignores the add
   * while the job exists; a job lost from Redis (flushed, failed too often) is recreated.
   */
  private async requeueQueued(campaigns: Map<string, CampaignRecord | undefined>): Promise<void> {
    for (const attempt of await this.repo.queuedAttempts()) {
      if (!campaigns.has(attempt.campaignId)) campaigns.set(attempt.campaignId, await this.repo.get(attempt.campaignId));
      if (campaigns.get(attempt.campaignId)?.status !== 'running') continue;
      await this.queueAttempt(attempt);
    }
  }

  private isAbandoned(attempt: CampaignAttemptRecord, now: number): boolean {
    if (!ACTIVE.has(attempt.status) || attempt.owner === this.owner) return false;
    const parts = attempt.owner?.split('#');
    if (!parts || parts.length < 3) return now - attempt.startedAt > this.abandonedAfterMs;
    const [host, pidText] = parts;
    const pid = Number(pidText);
    if (host !== hostname()) return now - attempt.startedAt > this.abandonedAfterMs;
    if (pid === process.pid) return !liveOwners.has(attempt.owner ?? '');
    return !processAlive(pid);
  }

  private emit(event: CampaignRunnerEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.error({ err, event: event.type }, 'campaign event listener failed');
      }
    }
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.tracked.add(promise);
    void promise.finally(() => this.tracked.delete(promise)).catch(() => undefined);
    return promise;
  }
}

/**
 * The runner on a store, for the composition root:
 * `createCampaignRunner(store, { placer: dialer, subscribe: (l) => bus.subscribe('outbound.status', l), notifier, logger })`.
 */
export function createCampaignRunner(store: { db: Kysely<VoxgateDatabase> }, opts: Omit<CampaignRunnerOptions, 'repository'>): CampaignRunner {
  return new CampaignRunner({ ...opts, repository: new CampaignRepository(store.db) });
}

function policyOf(campaign: CampaignRecord): CampaignPolicy {
  const def = campaign.definition;
  return { attemptsPerContact: def.attemptsPerContact, retrySpacingMs: Math.round(def.retrySpacingSec * 1000), escalation: def.escalation };
}

function callRequest(def: Omit<CampaignDefinition, 'contacts'>, contact: CampaignContactRecord, attempt: CampaignAttemptRecord): OutboundCallRequest {
  const variables: Record<string, string> = { ...def.variables, ...contact.variables, phone: contact.phone };
  if (contact.name) variables.name = contact.name;
  return {
    ...(def.bot ? { bot: def.bot } : {}),
    ...(def.dialPlan ? { dialPlan: def.dialPlan } : {}),
    target: contact.phone,
    caller: def.caller,
    ...(def.carrier ? { carrier: def.carrier } : {}),
    ...(def.callerDisplayName ? { callerDisplayName: def.callerDisplayName } : {}),
    ...(def.machineDetection ? { machineDetection: def.machineDetection } : {}),
    metadata: {
      campaignId: attempt.campaignId,
      campaignName: def.name,
      contactId: contact.id,
      contactPosition: contact.position,
      attemptNo: attempt.attemptNo,
      attemptId: attempt.id,
    },
    variables,
    source: 'campaign',
  };
}

function outcomeFromReason(reason: OutboundReasonCode | undefined): AttemptOutcome {
  switch (reason) {
    case 'no-answer':
    case 'busy':
    case 'declined':
      return reason;
    case 'machine-detected':
      return 'machine';
    default:
      return 'error';
  }
}

function attemptPayload(campaign: CampaignRecord, attempt: CampaignAttemptRecord, contact: CampaignContactRecord): object {
  return {
    type: 'campaign.attempt',
    campaignId: campaign.id,
    name: campaign.name,
    contact: { position: contact.position, phone: contact.phone, name: contact.name, status: contact.status, outcome: contact.outcome },
    attempt: {
      attemptNo: attempt.attemptNo,
      conversationId: attempt.conversationId,
      status: attempt.status,
      outcome: attempt.outcome,
      dtmf: attempt.dtmf,
      detail: attempt.detail,
      startedAt: attempt.startedAt,
      endedAt: attempt.endedAt,
    },
  };
}

export const CAMPAIGN_CSV_COLUMNS = [
  'position',
  'phone',
  'name',
  'timezone',
  'contact_status',
  'contact_outcome',
  'attempt_no',
  'attempt_status',
  'attempt_outcome',
  'dtmf',
  'detail',
  'conversation_id',
  'started_at',
  'ended_at',
  'variables',
] as const;

export function campaignResultsCsv(rows: CampaignExportRow[]): string {
  const iso = (ms: number | null | undefined) => (ms == null ? '' : new Date(ms).toISOString());
  return stringify(
    rows.map((r) => [
      r.position + 1,
      r.phone,
      r.name ?? '',
      r.timezone ?? '',
      r.contactStatus,
      r.contactOutcome ?? '',
      r.attempt?.attemptNo ?? '',
      r.attempt?.status ?? '',
      r.attempt?.outcome ?? '',
      r.attempt?.dtmf ?? '',
      r.attempt?.detail ?? '',
      r.attempt?.conversationId ?? '',
      iso(r.attempt?.startedAt),
      iso(r.attempt?.endedAt),
      Object.keys(r.variables).length ? JSON.stringify(r.variables) : '',
    ]),
    {
      header: true,
      columns: [...CAMPAIGN_CSV_COLUMNS],
      // Names, details and variables come from uploads and callees: a cell starting with = + - @ (tab, CR)
      // would run as a formula in a spreadsheet, so it gets a leading ' (OWASP CSV injection advice).
      escape_formulas: true,
      cast: { string: (value, context) => (context.column === PHONE_COLUMN && isE164(value) ? { value, escape_formulas: false } : value) },
    },
  );
}

const PHONE_COLUMN = CAMPAIGN_CSV_COLUMNS.indexOf('phone');

/**
 * Every contact phone was normalised to E.164 digits on the way in (campaign-definition's
 * normalizePhone), so "+4915..." carries no formula; a quote would only stop the export being
 * re-imported as a contact list. Anything else in that column is escaped like any other cell.
 */
function isE164(value: string): boolean {
  return normalizePhone(value) === value;
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}
