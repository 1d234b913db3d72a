/**
 * Remembers the signed carrier requests already seen, for a window, so a captured request cannot be
 * sent again: in this process by default, in Redis (SET NX PX) when REDIS_URL is configured so every
 * Voxgate process behind one public URL shares what it has seen.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import { RateLimitedWarnings } from '../runtime/rate-limited-warnings.js';

export interface ReplayGuard {
  /** How long a request is remembered. */
  readonly windowMs: number;
  /** True the first time `key` is presented within the window; false for a repeat. */
  firstSeen(key: string): Promise<boolean>;
  close(): Promise<void>;
}

/** Bounds memory under a flood of validly signed requests: about 20 MB. Evicting the oldest only reopens a window for those. */
const MAX_REMEMBERED = 100_000;

/** Keys are hashed: signature headers are long and the stored form needs no secrets. */
const digest = (key: string) => createHash('sha256').update(key).digest('base64url');

export class MemoryReplayGuard implements ReplayGuard {
  private readonly seen: LRUCache<string, true>;

  constructor(
    readonly windowMs: number,
    clock: Clock = systemClock,
    max = MAX_REMEMBERED,
  ) {
    // ttlResolution 0: staleness is read from the clock on every check (the fake clock in tests, no cached time).
    this.seen = new LRUCache<string, true>({ max, ttl: windowMs, ttlResolution: 0, perf: { now: () => clock.now() } });
  }

  firstSeen(key: string): Promise<boolean> {
    const k = digest(key);
    if (this.seen.has(k)) return Promise.resolve(false);
    this.seen.set(k, true);
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    this.seen.clear();
    return Promise.resolve();
  }
}

export interface RedisReplayGuardOptions {
  /** redis:// or rediss:// URL. */
  url: string;
  windowMs: number;
  logger: Logger;
  clock?: Clock;
  /** Key prefix in Redis; default "voxgate:replay:". */
  prefix?: string;
  /** How long one check may wait for Redis before this process's own memory answers; default 500 ms. */
  commandTimeoutMs?: number;
}

/**
 * Shared across processes through Redis. When Redis does not answer, the check falls back to this
 * process's memory (logged): callbacks keep working, and replays are still refused where they land.
 */
export class RedisReplayGuard implements ReplayGuard {
  readonly windowMs: number;
  private readonly redis: Redis;
  private readonly local: MemoryReplayGuard;
  private readonly prefix: string;
  private readonly warnings: RateLimitedWarnings;

  constructor(opts: RedisReplayGuardOptions) {
    this.windowMs = opts.windowMs;
    this.prefix = opts.prefix ?? 'voxgate:replay:';
    this.local = new MemoryReplayGuard(opts.windowMs, opts.clock);
    this.warnings = new RateLimitedWarnings(opts.logger, opts.clock);
    this.redis = new Redis(opts.url, { commandTimeout: opts.commandTimeoutMs ?? 500, maxRetriesPerRequest: 1 });
    this.redis.on('error', (err: Error) => this.warnings.warn('redis-error', `replay guard: Redis error (${err.message}); checking replays in this process only`));
  }

  async firstSeen(key: string): Promise<boolean> {
    try {
      const set = await this.redis.set(this.prefix + digest(key), '1', 'PX', this.windowMs, 'NX');
      return set === 'OK';
    } catch (err) {
      this.warnings.warn('redis-unavailable', `replay guard: Redis did not answer (${(err as Error).message}); checking replays in this process only`);
      return this.local.firstSeen(key);
    }
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
    await this.local.close();
  }
}

export function createReplayGuard(opts: { windowMs: number; redisUrl?: string; logger: Logger; clock?: Clock }): ReplayGuard {
  return opts.redisUrl
    ? new RedisReplayGuard({ url: opts.redisUrl, windowMs: opts.windowMs, logger: opts.logger, clock: opts.clock })
    : new MemoryReplayGuard(opts.windowMs, opts.clock);
}
