/**
 * The shared campaign queue on Redis (BullMQ), used when several Voxgate processes run the same
 * campaigns. Each running campaign has one BullMQ queue; every process runs one Worker on it whose
 * rate limiter (kept in Redis, so global across all workers of the queue) holds the campaign's
 * callsPerSecond for all processes together. A job only names an attempt already claimed `queued`
 * in the store; the worker that takes it moves the attempt to `dialing` in the store (one winner)
 * before dialing, so a job delivered twice never dials twice.
 */
import { Queue, Worker, type Job, type RateLimiterOptions, type RedisOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { silentLogger, type Logger } from '../logger.js';

export interface CampaignQueueOptions {
  /** `redis://[user:password@]host:port[/db]` (`rediss://` for TLS), or ioredis options. */
  connection: string | RedisOptions;
  /** Namespaces every key of these queues in Redis. Default `voxgate`. */
  prefix?: string;
  /** A job whose worker stopped renewing its lock (process died) is handed to another worker after this long. Default 30000 ms. */
  lockDurationMs?: number;
  /** How often workers look for such stalled jobs. Default 30000 ms. */
  stalledIntervalMs?: number;
  /** How long start() waits for Redis before failing, and any one add, removal or close waits before giving up. Default 5000 ms. */
  connectTimeoutMs?: number;
}

export class CampaignQueueError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CampaignQueueError';
  }
}

export interface DialJobData {
  campaignId: string;
  attemptId: number;
}

/** Takes one job: dials (or skips) the attempt it names; resolves once the dialer accepted the call. */
export type DialJobHandler = (job: DialJobData) => Promise<void>;

/** Redelivery of a job after a worker died: more than BullMQ's default 1, so two crashes in a row still lose no attempt. */
const MAX_STALLED = 5;
/** Shortest limiter window: see rateLimiter. */
const MIN_WINDOW_MS = 100;
/** Job tries when the handler throws (store unreachable...): then the attempt waits for the next re-enqueue. */
const JOB_TRIES = 3;

interface CampaignSlot {
  queue: Queue<DialJobData>;
  worker?: Worker<DialJobData>;
  callsPerSecond?: number;
}

export class CampaignJobQueue {
  private readonly connection: RedisOptions;
  private readonly prefix: string;
  private readonly logger: Logger;
  private readonly slots = new Map<string, CampaignSlot>();

  constructor(
    private readonly opts: CampaignQueueOptions,
    logger?: Logger,
  ) {
    this.connection = redisConnectionOptions(opts.connection);
    this.prefix = opts.prefix ?? 'voxgate';
    this.logger = (logger ?? silentLogger()).child({ component: 'campaign-queue' });
  }

  /** Where the queue lives, password hidden: for logs and errors. */
  get description(): string {
    return `redis://${this.connection.host ?? '127.0.0.1'}:${this.connection.port ?? 6379}/${this.connection.db ?? 0} (prefix ${this.prefix})`;
  }

  /** Fails with a CampaignQueueError naming Redis when it does not answer within connectTimeoutMs. */
  async check(): Promise<void> {
    const timeoutMs = this.opts.connectTimeoutMs ?? 5000;
    const client = new Redis({ ...this.connection, lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const pong = await client.ping();
      if (pong !== 'PONG') throw new Error(`unexpected PING reply ${JSON.stringify(pong)}`);
    } catch (err) {
      throw new CampaignQueueError(`campaign queue: Redis at ${this.description} is not reachable: ${errorText(err)}`, { cause: err });
    } finally {
      client.disconnect();
    }
  }

  /** Adds the job for a claimed attempt; a second add of the same attempt is ignored by BullMQ (same jobId). */
  async enqueue(campaignId: string, attemptId: number, claimedAt: number): Promise<void> {
    const added = this.slot(campaignId).queue.add('dial', { campaignId, attemptId }, {
      jobId: dialJobId(attemptId, claimedAt),
      attempts: JOB_TRIES,
      backoff: { type: 'fixed', delay: 1000 },
      // Finished jobs go at once: a released attempt row id reused by SQLite must be enqueueable again.
      removeOnComplete: true,
      removeOnFail: true,
    });
    // BullMQ keeps a command pending while Redis is down: bounded, so the claiming loop and stop() never hang.
    await this.bounded(added, `adding attempt ${attemptId}`);
  }

  /** Starts this process's worker on the campaign's queue (no-op when it runs at this rate already). */
  async work(campaignId: string, callsPerSecond: number, concurrency: number, handler: DialJobHandler): Promise<void> {
    const slot = this.slot(campaignId);
    if (slot.worker && slot.callsPerSecond === callsPerSecond) return;
    if (slot.worker) await this.closeWorker(slot);
    const worker = new Worker<DialJobData>(queueName(campaignId), (job: Job<DialJobData>) => handler(job.data), {
      connection: this.workerConnection(),
      prefix: this.prefix,
      concurrency: Math.max(1, concurrency),
      limiter: rateLimiter(callsPerSecond),
      lockDuration: this.opts.lockDurationMs ?? 30_000,
      stalledInterval: this.opts.stalledIntervalMs ?? 30_000,
      maxStalledCount: MAX_STALLED,
      // Idle workers look again within a second rather than BullMQ's 5 s, so a drained queue refills promptly.
      drainDelay: 1,
    });
    worker.on('error', (err) => this.logger.error({ err, campaignId }, 'campaign queue worker error'));
    worker.on('failed', (job, err) => this.logger.warn({ err, campaignId, jobId: job?.id }, 'campaign dial job failed'));
    slot.worker = worker;
    slot.callsPerSecond = callsPerSecond;
  }

  /** Campaigns this process has a worker on. */
  workingOn(): string[] {
    return [...this.slots].filter(([, slot]) => slot.worker).map(([id]) => id);
  }

  /** This process stops taking the campaign's jobs (paused, or ended elsewhere); jobs stay in Redis. */
  async leave(campaignId: string): Promise<void> {
    const slot = this.slots.get(campaignId);
    if (!slot) return;
    this.slots.delete(campaignId);
    await this.closeWorker(slot);
    await this.bounded(slot.queue.close(), 'closing a campaign queue').catch((err: unknown) => {
      this.logger.warn({ err, campaignId }, 'closing a campaign queue failed');
      void slot.queue.disconnect().catch(() => undefined);
    });
  }

  /** The campaign ended: its queue and every key of it are removed from Redis. */
  async remove(campaignId: string): Promise<void> {
    const slot = this.slot(campaignId);
    await this.closeWorker(slot);
    try {
      await this.bounded(slot.queue.obliterate({ force: true }), 'removing an ended campaign queue');
    } catch (err) {
      this.logger.warn({ err, campaignId }, 'removing an ended campaign queue failed');
    }
    await this.leave(campaignId);
  }

  async close(): Promise<void> {
    await Promise.all([...this.slots.keys()].map((id) => this.leave(id)));
  }

  private slot(campaignId: string): CampaignSlot {
    const existing = this.slots.get(campaignId);
    if (existing) return existing;
    const queue: Queue<DialJobData> = new Queue<DialJobData>(queueName(campaignId), { connection: this.connection, prefix: this.prefix });
    queue.on('error', (err: Error) => this.logger.error({ err, campaignId }, 'campaign queue error'));
    const slot: CampaignSlot = { queue };
    this.slots.set(campaignId, slot);
    return slot;
  }

  private workerConnection(): RedisOptions {
    // BullMQ's workers block on Redis and need requests that never give up while Redis restarts.
    return { ...this.connection, maxRetriesPerRequest: null };
  }

  private async closeWorker(slot: CampaignSlot): Promise<void> {
    const worker = slot.worker;
    slot.worker = undefined;
    slot.callsPerSecond = undefined;
    if (!worker) return;
    await this.bounded(worker.close(), 'closing a campaign queue worker').catch((err: unknown) => {
      this.logger.warn({ err }, 'closing a campaign queue worker failed');
      // Its blocking connection would otherwise keep reconnecting (and the process alive).
      void worker.disconnect().catch(() => undefined);
    });
  }

  /** `operation`, or a CampaignQueueError once connectTimeoutMs passed (the operation may still complete later). */
  private bounded<T>(operation: Promise<T>, what: string): Promise<T> {
    const timeoutMs = this.opts.connectTimeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CampaignQueueError(`campaign queue: ${what}: Redis at ${this.description} did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    operation.catch(() => undefined);
    return Promise.race([operation, timeout]).finally(() => clearTimeout(timer));
  }
}

export function queueName(campaignId: string): string {
  return `campaign-${campaignId}`;
}

/** The claim time is part of the id: SQLite may give a released attempt's row id to the next claim. */
export function dialJobId(attemptId: number, claimedAt: number): string {
  return `attempt-${attemptId}-${claimedAt}`;
}

/**
 * BullMQ's limiter is a fixed window (at most `max` job starts per `duration` ms, counted in Redis).
 * Each window costs the workers a Redis round trip before its first start, so windows shorter than
 * MIN_WINDOW_MS lose a few percent of the rate; within that, the smallest window that states the
 * rate exactly (to 0.2%) in whole milliseconds keeps starts spread instead of one burst per second.
 */
export function rateLimiter(callsPerSecond: number): RateLimiterOptions {
  if (!(callsPerSecond > 0 && Number.isFinite(callsPerSecond))) throw new RangeError(`callsPerSecond must be a positive number, got ${String(callsPerSecond)}`);
  const first = Math.max(1, Math.ceil((callsPerSecond * MIN_WINDOW_MS) / 1000));
  const last = Math.max(first, Math.ceil(callsPerSecond));
  for (let max = first; max <= last; max++) {
    const exact = (max * 1000) / callsPerSecond;
    const duration = Math.round(exact);
    if (duration >= 1 && Math.abs(duration - exact) / exact <= 0.002) return { max, duration };
  }
  return { max: last, duration: Math.round((last * 1000) / callsPerSecond) };
}

/** Parses a redis:// or rediss:// URL into ioredis options (user, password, db, TLS). */
export function redisConnectionOptions(connection: string | RedisOptions): RedisOptions {
  if (typeof connection !== 'string') return { ...connection };
  let url: URL;
  try {
    url = new URL(connection);
  } catch {
    throw new CampaignQueueError('campaign queue: REDIS_URL is not a URL (expected redis://host:port)');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new CampaignQueueError(`campaign queue: REDIS_URL must start with redis:// or rediss://, got ${url.protocol}//`);
  }
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new CampaignQueueError(`campaign queue: REDIS_URL database must be a number, got "${url.pathname.slice(1)}"`);
  return {
    host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: url.port ? Number(url.port) : 6379,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    db,
    ...(url.protocol === 'rediss:' ? { tls: { servername: url.hostname } } : {}),
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}
