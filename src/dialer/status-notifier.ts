/**
 * Delivers status callbacks (dialout notifyUrl, conversation API, campaigns) through the callback
 * outbox: `notify()` only queues a row and returns; a background pump claims due rows and POSTs
 * them, signed, with retries and backoff, at least once per idempotency key, across restarts.
 *
 * What is guaranteed:
 * - At least once: a row is written before any attempt and is only closed (delivered / failed)
 *   after the receiver's answer, so a crash mid-send means a redelivery (same Idempotency-Key,
 *   fresh timestamp and signature) once the claim's lease lapses.
 * - Rows are written in notify() order and started in due order (then enqueue order).
 * - With an `orderKey` (e.g. the conversation id), at most one callback per key is in flight in
 *   this process at a time, so a call's statuses leave in order. A callback waiting for a retry
 *   does not hold back later ones, and after a restart (or across processes) order is best effort:
 *   receivers should order by the payload's own timestamp, and de-duplicate by Idempotency-Key.
 * - Nothing throws out of notify(), and nothing here awaits the network on the caller's path.
 */
import type { Clock, TimerHandle } from '../runtime/clock.js';
import { systemClock } from '../runtime/clock.js';
import { silentLogger, type Logger } from '../logger.js';
import { CallbackOutboxRepository, type CallbackRecord } from '../store/callback-outbox-repository.js';
import type { VoxgateDatabase } from '../store/schema.js';
import type { Kysely } from 'kysely';
import { callbackUrlProblem, deliverCallback, type DeliveryOutcome } from './callback-delivery.js';
import { CallbackRetryPolicy, type CallbackRetryOptions } from './callback-retry-policy.js';

export { verifyVoxgateSignature, signVoxgateCallback, SIGNATURE_HEADER, TIMESTAMP_HEADER, IDEMPOTENCY_KEY_HEADER } from './callback-signature.js';

export interface StatusNotifierOptions {
  outbox: CallbackOutboxRepository;
  /** HMAC-SHA256 key for X-Voxgate-Signature; share it with the receivers. */
  secret: string;
  clock?: Clock;
  logger?: Logger;
  /** Deliveries in flight at once. Default 8. */
  maxConcurrent?: number;
  /** Per attempt, until the receiver's status line. Default 10000 ms. */
  requestTimeoutMs?: number;
  /** Rows claimed per pump pass. Default 20. */
  claimBatchSize?: number;
  /** How often the outbox is looked at when nothing is due sooner (rows from other processes, lapsed leases). Default 5000 ms. */
  pollIntervalMs?: number;
  /** How long a claimed row is reserved for this process; must exceed requestTimeoutMs. Default requestTimeoutMs + 30000. */
  leaseMs?: number;
  /** close() waits this long for deliveries in flight before cutting them off (they are retried by the next start). Default 5000 ms. */
  closeTimeoutMs?: number;
  retry?: CallbackRetryOptions;
  userAgent?: string;
}

export interface NotifyOptions {
  /** Callbacks sharing this key (e.g. the conversation id) are sent one at a time, in order. */
  orderKey?: string;
}

export type StatusNotifierEvent =
  | { type: 'queued'; idempotencyKey: string; url: string }
  | { type: 'duplicate'; idempotencyKey: string; url: string }
  /** Never sent: bad URL, key or payload (a bad URL is still recorded as a failed row). */
  | { type: 'rejected'; idempotencyKey: string; url: string; error: string }
  | { type: 'delivered'; idempotencyKey: string; url: string; attempts: number; status: number }
  | { type: 'retry-scheduled'; idempotencyKey: string; url: string; attempts: number; error: string; nextAttemptAt: number }
  | { type: 'failed'; idempotencyKey: string; url: string; attempts: number; error: string };

/** Idempotency keys travel as an HTTP header: printable ASCII only, bounded length. */
const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e][\x20-\x7e]{0,254}$/;
/** Larger payloads are refused: a status callback is a small JSON document, and every attempt resends it. */
const MAX_BODY_BYTES = 256 * 1024;
/** Order keys remembered for queued callbacks; beyond this the oldest are dropped (order becomes best effort). */
const MAX_REMEMBERED_ORDER_KEYS = 10_000;

export class StatusNotifier {
  private readonly outbox: CallbackOutboxRepository;
  private readonly secret: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly policy: CallbackRetryPolicy;
  private readonly maxConcurrent: number;
  private readonly requestTimeoutMs: number;
  private readonly claimBatchSize: number;
  private readonly pollIntervalMs: number;
  private readonly leaseMs: number;
  private readonly closeTimeoutMs: number;
  private readonly userAgent: string;

  private readonly shutdownController = new AbortController();
  private readonly inFlight = new Map<number, { orderKey: string | undefined }>();
  private readonly orderKeys = new Map<string, string>();
  private readonly listeners = new Set<(event: StatusNotifierEvent) => void>();
  private idleWaiters: (() => void)[] = [];
  private writes: Promise<void> = Promise.resolve();
  private pendingWrites = 0;
  private pumping = false;
  private pumpAgain = false;
  private wake: TimerHandle | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(opts: StatusNotifierOptions) {
    if (!(opts.outbox instanceof CallbackOutboxRepository)) throw new TypeError('status notifier: outbox (a CallbackOutboxRepository) is required');
    if (typeof opts.secret !== 'string' || opts.secret.length === 0) throw new TypeError('status notifier: secret must be a non-empty string (it signs X-Voxgate-Signature)');
    this.outbox = opts.outbox;
    this.secret = opts.secret;
    this.clock = opts.clock ?? systemClock;
    this.logger = (opts.logger ?? silentLogger()).child({ component: 'status-notifier' });
    this.policy = new CallbackRetryPolicy(opts.retry);
    this.maxConcurrent = positiveInt('maxConcurrent', opts.maxConcurrent ?? 8);
    this.requestTimeoutMs = positiveInt('requestTimeoutMs', opts.requestTimeoutMs ?? 10_000);
    this.claimBatchSize = positiveInt('claimBatchSize', opts.claimBatchSize ?? 20);
    this.pollIntervalMs = positiveInt('pollIntervalMs', opts.pollIntervalMs ?? 5000);
    this.leaseMs = positiveInt('leaseMs', opts.leaseMs ?? this.requestTimeoutMs + 30_000);
    if (this.leaseMs <= this.requestTimeoutMs) {
      throw new RangeError(`status notifier: leaseMs (${this.leaseMs}) must exceed requestTimeoutMs (${this.requestTimeoutMs}), or a slow delivery would be sent twice`);
    }
    this.closeTimeoutMs = positiveInt('closeTimeoutMs', opts.closeTimeoutMs ?? 5000);
    this.userAgent = opts.userAgent ?? 'Voxgate-Callbacks/1';
  }

  /**
   * Starts the pump: callbacks left pending by a previous process are sent as they fall due. (A
   * notify() starts it too; call start() at boot so old callbacks do not wait for a new one.)
   */
  start(): void {
    this.kick();
  }

  /**
   * Queues `payload` (sent as JSON) for `url`. Returns at once and never throws: the row is
   * written in the background, then delivered. Queuing the same idempotency key again is a no-op.
   */
  notify(url: string, payload: object, idempotencyKey: string, options: NotifyOptions = {}): void {
    try {
      const key = typeof idempotencyKey === 'string' ? idempotencyKey : '';
      const urlText = typeof url === 'string' ? url : String(url);
      if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
        this.reject(key, urlText, `idempotency key must be 1 to 255 printable ASCII characters, got ${JSON.stringify(String(idempotencyKey)).slice(0, 80)}`);
        return;
      }
      let body: string | undefined;
      try {
        body = payload !== null && typeof payload === 'object' ? JSON.stringify(payload) : undefined;
      } catch (err) {
        this.reject(key, urlText, `payload cannot be sent as JSON: ${errorText(err)}`);
        return;
      }
      if (body === undefined) {
        this.reject(key, urlText, `payload must be a JSON object or array, got ${payload === null ? 'null' : typeof payload}`);
        return;
      }
      if (Buffer.byteLength(body) > MAX_BODY_BYTES) {
        this.reject(key, urlText, `payload is ${Buffer.byteLength(body)} bytes as JSON; the limit is ${MAX_BODY_BYTES}`);
        return;
      }
      const urlProblem = callbackUrlProblem(url);
      if (urlProblem) this.reject(key, urlText, urlProblem);
      else if (options.orderKey !== undefined) this.rememberOrderKey(key, String(options.orderKey));
      if (this.closed) this.logger.warn({ idempotencyKey: key }, 'status callback queued after close: the next start sends it');
      this.queueWrite(key, urlText, body, urlProblem);
    } catch (err) {
      this.logger.error({ err, url }, 'status callback could not be queued');
    }
  }

  /** Resolves once nothing is being written, claimed or delivered (the next wake-up is armed). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Listens to delivery events (metrics, tests); returns the unsubscribe function. */
  onEvent(listener: (event: StatusNotifierEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /**
   * Stops the pump and timers and waits for queued writes and deliveries in flight, up to
   * closeTimeoutMs; deliveries still running then are cut off and left pending for the next start.
   */
  close(): Promise<void> {
    return (this.closing ??= this.shutDown());
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    this.wake?.cancel();
    this.wake = undefined;
    if (await this.idleWithin(this.closeTimeoutMs)) return;
    this.logger.warn({ inFlight: this.inFlight.size }, 'status notifier closing: cutting off deliveries still in flight; they stay pending');
    this.shutdownController.abort();
    if (!(await this.idleWithin(this.closeTimeoutMs))) this.logger.error('status notifier closed with outbox writes still running');
  }

  private async idleWithin(ms: number): Promise<boolean> {
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = this.clock.setTimeout(() => resolve(false), ms)));
    try {
      return await Promise.race([this.idle().then(() => true as const), timedOut]);
    } finally {
      timer?.cancel();
    }
  }

  private reject(key: string, url: string, error: string): void {
    this.logger.error({ idempotencyKey: key, url }, `status callback not sent: ${error}`);
    this.emit({ type: 'rejected', idempotencyKey: key, url, error });
  }

  /** Writes are chained so rows get ids in notify() order (a PostgreSQL pool would otherwise interleave them). */
  private queueWrite(key: string, url: string, body: string, failedReason: string | undefined): void {
    this.pendingWrites++;
    this.writes = this.writes.then(async () => {
      try {
        const { inserted } = await this.outbox.enqueue({ idempotencyKey: key, url, body, createdAt: this.clock.now(), failedReason });
        if (failedReason !== undefined) return;
        if (inserted) {
          this.emit({ type: 'queued', idempotencyKey: key, url });
        } else {
          this.logger.debug({ idempotencyKey: key, url }, 'status callback already queued under this idempotency key');
          this.emit({ type: 'duplicate', idempotencyKey: key, url });
        }
      } catch (err) {
        this.logger.error({ err, idempotencyKey: key, url }, 'status callback lost: the outbox write failed');
      } finally {
        this.pendingWrites--;
        this.kick();
        this.checkIdle();
      }
    });
  }

  private rememberOrderKey(key: string, orderKey: string): void {
    if (this.orderKeys.has(key)) return;
    if (this.orderKeys.size >= MAX_REMEMBERED_ORDER_KEYS) {
      const oldest = this.orderKeys.keys().next().value;
      if (oldest !== undefined) this.orderKeys.delete(oldest);
    }
    this.orderKeys.set(key, orderKey);
  }

  private kick(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.pump().finally(() => {
      this.pumping = false;
      if (this.pumpAgain) this.kick();
      this.checkIdle();
    });
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.pumpAgain = false;
        const wanted = Math.min(this.claimBatchSize, this.maxConcurrent - this.inFlight.size);
        if (wanted <= 0) break;
        const now = this.clock.now();
        const busy = new Set<string>();
        for (const { orderKey } of this.inFlight.values()) if (orderKey !== undefined) busy.add(orderKey);
        const claimed = await this.outbox.claimDue(now, now + this.leaseMs, wanted, (row) => {
          const orderKey = this.orderKeys.get(row.idempotencyKey);
          if (orderKey === undefined) return false;
          if (busy.has(orderKey)) return true;
          busy.add(orderKey);
          return false;
        });
        for (const row of claimed) this.startDelivery(row);
        // A full batch may mean more rows are due.
        if (claimed.length === wanted) this.pumpAgain = true;
      } while (this.pumpAgain && !this.closed);
      this.pumpAgain = false;
      await this.armWake();
    } catch (err) {
      this.logger.error({ err }, 'status notifier could not read the callback outbox; trying again later');
      this.setWake(this.pollIntervalMs);
    }
  }

  /** Sleeps until the next row falls due, or the poll interval (rows other processes queue, lapsed leases). */
  private async armWake(): Promise<void> {
    const next = await this.outbox.nextDueAt();
    const now = this.clock.now();
    // A row already due waits for a free slot or its order turn: the delivery that frees it kicks the pump.
    this.setWake(next !== undefined && next > now ? Math.min(next - now, this.pollIntervalMs) : this.pollIntervalMs);
  }

  private setWake(ms: number): void {
    this.wake?.cancel();
    this.wake = undefined;
    if (this.closed) return;
    this.wake = this.clock.setTimeout(() => {
      this.wake = undefined;
      this.kick();
    }, ms);
  }

  private startDelivery(row: CallbackRecord): void {
    this.inFlight.set(row.id, { orderKey: this.orderKeys.get(row.idempotencyKey) });
    void this.deliver(row)
      .catch((err: unknown) => this.logger.error({ err, idempotencyKey: row.idempotencyKey }, 'status callback delivery crashed; it is retried when its lease lapses'))
      .finally(() => {
        this.inFlight.delete(row.id);
        this.kick();
        this.checkIdle();
      });
  }

  private async deliver(row: CallbackRecord): Promise<void> {
    const tooLate = this.policy.tooLate(row.attempts, row.createdAt, this.clock.now());
    if (tooLate) {
      // Left pending by a process that was down (or crashed mid-send) too long.
      await this.outbox.markFailed(row.id, row.lastError ? `${row.lastError} (${tooLate})` : tooLate);
      this.orderKeys.delete(row.idempotencyKey);
      this.logger.error({ idempotencyKey: row.idempotencyKey, url: row.url }, `status callback failed: ${tooLate}`);
      this.emit({ type: 'failed', idempotencyKey: row.idempotencyKey, url: row.url, attempts: row.attempts - 1, error: tooLate });
      return;
    }
    const outcome = await deliverCallback({
      url: row.url,
      body: row.body,
      idempotencyKey: row.idempotencyKey,
      secret: this.secret,
      clock: this.clock,
      timeoutMs: this.requestTimeoutMs,
      userAgent: this.userAgent,
      shutdown: this.shutdownController.signal,
    });
    await this.record(row, outcome);
  }

  private async record(row: CallbackRecord, outcome: DeliveryOutcome): Promise<void> {
    const now = this.clock.now();
    const base = { idempotencyKey: row.idempotencyKey, url: row.url, attempts: row.attempts };
    const log = this.logger.child({ idempotencyKey: row.idempotencyKey, url: row.url, attempt: row.attempts });
    if (outcome.kind === 'delivered') {
      await this.outbox.markDelivered(row.id, now);
      this.orderKeys.delete(row.idempotencyKey);
      log.debug({ status: outcome.status }, 'status callback delivered');
      this.emit({ type: 'delivered', ...base, status: outcome.status });
      return;
    }
    if (outcome.kind === 'permanent') {
      await this.outbox.markFailed(row.id, outcome.error);
      this.orderKeys.delete(row.idempotencyKey);
      log.error(`status callback failed permanently, not retried: ${outcome.error}`);
      this.emit({ type: 'failed', ...base, error: outcome.error });
      return;
    }
    if (this.shutdownController.signal.aborted) {
      // Cut off by close(): due again at once for whichever process starts next.
      await this.outbox.scheduleRetry(row.id, now, outcome.error);
      return;
    }
    const decision = this.policy.next(row.attempts, row.createdAt, now, outcome.retryAfterMs);
    if ('giveUp' in decision) {
      const error = `${outcome.error} (${decision.giveUp})`;
      await this.outbox.markFailed(row.id, error);
      this.orderKeys.delete(row.idempotencyKey);
      log.error(`status callback failed: ${error}`);
      this.emit({ type: 'failed', ...base, error });
      return;
    }
    await this.outbox.scheduleRetry(row.id, decision.retryAt, outcome.error);
    log.warn({ retryInMs: decision.retryAt - now }, `status callback attempt failed, retrying: ${outcome.error}`);
    this.emit({ type: 'retry-scheduled', ...base, error: outcome.error, nextAttemptAt: decision.retryAt });
  }

  private emit(event: StatusNotifierEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.error({ err, event: event.type }, 'status notifier event listener threw');
      }
    }
  }

  private isIdle(): boolean {
    return this.pendingWrites === 0 && this.inFlight.size === 0 && !this.pumping;
  }

  private checkIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** The one-line wiring for the composition root: the notifier over the store's callback outbox. */
export function createStatusNotifier(store: { db: Kysely<VoxgateDatabase> }, opts: Omit<StatusNotifierOptions, 'outbox'>): StatusNotifier {
  return new StatusNotifier({ ...opts, outbox: new CallbackOutboxRepository(store.db) });
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`status notifier: ${name} must be a positive integer, got ${String(value)}`);
  return value;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}
