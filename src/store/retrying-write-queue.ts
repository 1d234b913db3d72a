/**
 * The record writer's queue: writes run one batch at a time in the order they were queued, and a
 * write the store cannot take right now (disk full, I/O error, connection lost; see store-errors.ts)
 * stays at the head of the queue and is retried with backoff on the Clock until the store takes it.
 *
 * While the head write waits, everything behind it waits too, other calls' writes included. Store
 * outages are store-wide (one disk, one connection pool), so letting other writes past would only
 * spend retries on writes that fail the same way, and holding the whole queue keeps publish order:
 * a call's end never lands before its start, a transcript line never before its call's row.
 *
 * A write the store refuses on its merits (a constraint, a bad value) fails the same way every
 * time: it is logged with its call id and dropped, and the queue moves on.
 *
 * The queue is bounded. Once full, new writes are refused (what is already queued is kept, since
 * dropping it would break the order above) and every refused write is reported: an error line at
 * the first one, then a summary with the count and the call ids, oldest first.
 */
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { Logger } from '../logger.js';
import { isStoreUnavailable, storeErrorText } from './store-errors.js';

export interface QueuedWrite {
  callId: string;
  event: string;
}

export interface WriteQueueHealth {
  /** The last write the store was asked to take failed for want of the store (not of the write). */
  failing: boolean;
  /** Writes accepted and not yet written. */
  waiting: number;
  /** When the current outage began (epoch ms), null when not failing. */
  failingSince: number | null;
  /** The store's last error, e.g. "SQLITE_FULL: database or disk is full"; null when not failing. */
  lastError: string | null;
  /** Writes refused because the queue was full, since start. */
  dropped: number;
}

export interface FlushResult {
  /** Writes still queued when flush() gave up (0 when everything was written). */
  unwritten: number;
}

export interface RetryingWriteQueueOptions<T extends QueuedWrite> {
  /** Writes a batch all or nothing (one transaction); throws when any write fails. */
  writeAll(items: T[]): Promise<void>;
  writeOne(item: T): Promise<void>;
  clock: Clock;
  logger: Logger;
  /** Writes held at most; beyond it new writes are refused and reported. */
  maxQueued: number;
  /** Backoff of the retries: the first wait, doubled per failed retry up to the last. */
  retryDelayMs: { first: number; max: number };
  /** How long flush() waits by default before giving up and reporting what is left. */
  flushTimeoutMs: number;
}

/** Writes per transaction: a backlog after an outage is written in steps, so one commit never holds the event loop long. */
const MAX_BATCH = 500;
/** How often refused writes are summed up while the queue stays full. */
const DROP_REPORT_MS = 10_000;
/** Call ids listed in one log line; the count says how many more there were. */
const MAX_IDS_LOGGED = 100;

export class RetryingWriteQueue<T extends QueuedWrite> {
  private items: T[] = [];
  private pumping = false;
  private scheduled = false;
  private stopped = false;
  private retryTimer: TimerHandle | undefined;
  private failure: { since: number; error: string; attempts: number } | undefined;
  private droppedTotal = 0;
  /** Refused writes not yet reported, per call in the order first refused. */
  private droppedUnreported = new Map<string, number>();
  private dropReportTimer: TimerHandle | undefined;
  private readonly idleWaiters = new Set<() => void>();
  private readonly listeners = new Set<(health: WriteQueueHealth) => void>();

  constructor(private readonly opts: RetryingWriteQueueOptions<T>) {}

  push(item: T): void {
    if (this.items.length >= this.opts.maxQueued || this.stopped) {
      this.refuse(item);
      return;
    }
    this.items.push(item);
    // While failing, the retry timer drives the queue; everything queued meanwhile waits its turn.
    if (!this.failure && !this.scheduled) {
      this.scheduled = true;
      // Everything queued in this event-loop turn goes into one batch.
      setImmediate(() => {
        this.scheduled = false;
        void this.pump();
      });
    }
  }

  health(): WriteQueueHealth {
    return {
      failing: this.failure !== undefined,
      waiting: this.items.length,
      failingSince: this.failure?.since ?? null,
      lastError: this.failure?.error ?? null,
      dropped: this.droppedTotal,
    };
  }

  /** Called when writes start failing and when they succeed again; returns the unsubscribe function. */
  onHealthChange(listener: (health: WriteQueueHealth) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /**
   * Resolves once every write queued so far (and any queued meanwhile) is written, or after
   * `timeoutMs` with what is still queued (logged with its call ids). A failing store is tried
   * again at once rather than at the next backoff step: flush() is what shutdown waits on.
   */
  flush(timeoutMs = this.opts.flushTimeoutMs): Promise<FlushResult> {
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    void this.pump();
    if (this.idle()) return Promise.resolve({ unwritten: 0 });
    return new Promise((resolve) => {
      const done = () => {
        timer.cancel();
        this.idleWaiters.delete(done);
        resolve({ unwritten: this.items.length });
      };
      const timer = this.opts.clock.setTimeout(() => {
        this.idleWaiters.delete(done);
        this.reportUnwritten(`flush gave up after ${timeoutMs} ms`);
        resolve({ unwritten: this.items.length });
      }, timeoutMs);
      this.idleWaiters.add(done);
    });
  }

  /** Stops retrying (shutdown, before the store closes); whatever is still queued is logged as lost. */
  stop(): FlushResult {
    if (this.stopped) return { unwritten: this.items.length };
    this.stopped = true;
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.reportDrops();
    const unwritten = this.items.length;
    if (unwritten > 0) this.reportUnwritten('the record writer stopped');
    for (const wake of [...this.idleWaiters]) wake();
    return { unwritten };
  }

  private idle(): boolean {
    return this.items.length === 0 && !this.pumping;
  }

  private async pump(): Promise<void> {
    if (this.pumping || this.stopped) return;
    this.pumping = true;
    try {
      while (this.items.length > 0 && !this.stopped) {
        // While failing, only the head write is tried: one probe per retry, not the whole backlog.
        const probing = this.failure !== undefined;
        const batch = this.items.slice(0, probing ? 1 : MAX_BATCH);
        const { done, unavailable } = await this.write(batch);
        this.items.splice(0, done);
        if (unavailable) {
          this.failed(unavailable.err, unavailable.item);
          break;
        }
        if (probing) this.recovered();
      }
    } finally {
      this.pumping = false;
      if (this.items.length === 0 || this.stopped) for (const wake of [...this.idleWaiters]) wake();
    }
  }

  private async write(batch: T[]): Promise<{ done: number; unavailable?: { err: unknown; item: T } }> {
    if (batch.length > 1) {
      try {
        await this.opts.writeAll(batch);
        return { done: batch.length };
      } catch {
        // Rolled back: replay one by one, so a bad write loses only itself and a store failure stops at the right write.
      }
    }
    for (let i = 0; i < batch.length; i++) {
      const item = batch[i];
      try {
        await this.opts.writeOne(item);
      } catch (err) {
        if (isStoreUnavailable(err)) return { done: i, unavailable: { err, item } };
        this.opts.logger.error({ err, callId: item.callId, event: item.event }, 'call record write failed');
      }
    }
    return { done: batch.length };
  }

  private failed(err: unknown, item: T): void {
    const { clock, logger, retryDelayMs } = this.opts;
    const error = storeErrorText(err);
    if (!this.failure) {
      this.failure = { since: clock.now(), error, attempts: 1 };
      logger.error({ err, callId: item.callId, event: item.event, waiting: this.items.length }, `record store cannot take writes (${error}); keeping them queued in order and retrying`);
      this.emit();
    } else {
      this.failure.attempts += 1;
      this.failure.error = error;
      logger.warn({ err, callId: item.callId, event: item.event, waiting: this.items.length, attempts: this.failure.attempts }, 'record store still cannot take writes; retrying');
    }
    if (this.stopped) return;
    const delay = Math.min(retryDelayMs.max, retryDelayMs.first * 2 ** (this.failure.attempts - 1));
    this.retryTimer = clock.setTimeout(() => {
      this.retryTimer = undefined;
      void this.pump();
    }, delay);
  }

  private recovered(): void {
    const failure = this.failure!;
    this.failure = undefined;
    this.opts.logger.info({ waiting: this.items.length, outageMs: this.opts.clock.now() - failure.since, attempts: failure.attempts }, 'record store takes writes again; writing the queued ones');
    this.reportDrops();
    this.emit();
  }

  private refuse(item: T): void {
    this.droppedTotal += 1;
    if (this.droppedUnreported.size === 0 && !this.dropReportTimer) {
      this.opts.logger.error(
        { callId: item.callId, event: item.event, waiting: this.items.length, limit: this.opts.maxQueued },
        this.stopped ? 'record writer stopped: call record write dropped' : `record write queue full (${this.opts.maxQueued} writes waiting): dropping new writes until the store catches up`,
      );
      this.dropReportTimer = this.opts.clock.setTimeout(() => {
        this.dropReportTimer = undefined;
        this.reportDrops();
      }, DROP_REPORT_MS);
    }
    this.droppedUnreported.set(item.callId, (this.droppedUnreported.get(item.callId) ?? 0) + 1);
  }

  private reportDrops(): void {
    this.dropReportTimer?.cancel();
    this.dropReportTimer = undefined;
    if (this.droppedUnreported.size === 0) return;
    const perCall = [...this.droppedUnreported];
    this.droppedUnreported = new Map();
    const count = perCall.reduce((sum, [, n]) => sum + n, 0);
    this.opts.logger.error(
      { dropped: count, calls: perCall.length, callIds: perCall.slice(0, MAX_IDS_LOGGED).map(([id]) => id), droppedTotal: this.droppedTotal },
      `record write queue full: ${count} call record writes dropped for ${perCall.length} calls (oldest first: ${listIds(perCall.map(([id]) => id))})`,
    );
  }

  private reportUnwritten(why: string): void {
    const ids = [...new Set(this.items.map((i) => i.callId))];
    if (ids.length === 0) return;
    this.opts.logger.error(
      { unwritten: this.items.length, calls: ids.length, callIds: ids.slice(0, MAX_IDS_LOGGED), lastError: this.failure?.error },
      `${why}: ${this.items.length} call record writes left unwritten for ${ids.length} calls (oldest first: ${listIds(ids)})`,
    );
  }

  private emit(): void {
    const health = this.health();
    for (const listener of this.listeners) {
      try {
        listener(health);
      } catch (err) {
        this.opts.logger.error({ err }, 'record writer health listener threw');
      }
    }
  }
}

function listIds(ids: string[]): string {
  return ids.length <= MAX_IDS_LOGGED ? ids.join(', ') : `${ids.slice(0, MAX_IDS_LOGGED).join(', ')} and ${ids.length - MAX_IDS_LOGGED} more`;
}
