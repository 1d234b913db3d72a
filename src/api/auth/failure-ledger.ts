/**
 * Failed-authentication counters with lockout and backoff, per key (a source address or a client
 * id), in this process's memory or in Redis so every Voxgate process sharing it enforces the same
 * lockouts. Both keep the same state machine:
 *
 *   - failures count up while they keep coming; once no failure (and no lockout) has been seen for
 *     `windowMs` the key is forgotten;
 *   - `maxFailures` failures start a lockout of `baseLockoutMs`; every further failure without a
 *     success in between starts the next lockout at once, twice as long, up to `maxLockoutMs`;
 *   - a success resets the key.
 *
 * Why not @fastify/rate-limit's stores: they count every request (this counts only failures), have
 * no reset on success, and their backoff is forgotten as soon as the lockout expires. The token
 * endpoint still uses @fastify/rate-limit for its plain per-source request cap.
 *
 * Time is the caller's `now` (the runtime Clock), in Redis too, so lockouts run on the fake clock
 * in tests; Redis expiry only collects keys nobody asks about any more.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../logger.js';
import { RateLimitedWarnings } from '../../runtime/rate-limited-warnings.js';

export interface LockoutPolicy {
  /** Failures that start the first lockout. */
  maxFailures: number;
  /** Quiet time (no failure, no lockout) after which a key's failures are forgotten. */
  windowMs: number;
  /** The first lockout; each one after it is twice as long. */
  baseLockoutMs: number;
  maxLockoutMs: number;
}

export interface LedgerPeek {
  /** Lockout left, 0 when the key may try. */
  retryAfterMs: number;
  /** The key holds failures, so a success has something to reset. */
  dirty: boolean;
}

export interface LedgerFailure {
  /** Failures counted since the key was last reset or forgotten. */
  failures: number;
  /** The lockout this failure started, 0 for none. */
  lockoutMs: number;
}

export interface FailureLedger {
  peek(key: string, now: number): Promise<LedgerPeek>;
  fail(key: string, policy: LockoutPolicy, now: number): Promise<LedgerFailure>;
  reset(key: string): Promise<void>;
  /** Remembers `key` until `until` (a source that authenticated a client). */
  mark(key: string, until: number, now: number): Promise<void>;
  isMarked(key: string, now: number): Promise<boolean>;
  close(): Promise<void>;
}

interface Entry {
  failures: number;
  lockouts: number;
  blockedUntil: number;
  lastFailureAt: number;
}

/** Backoff doublings stop here (2^20 x base is far beyond any sane maxLockoutMs anyway). */
const MAX_DOUBLINGS = 20;

function nextEntry(entry: Entry | undefined, policy: LockoutPolicy, now: number): { entry: Entry; lockoutMs: number } {
  const quiet = entry && now - Math.max(entry.lastFailureAt, entry.blockedUntil) >= policy.windowMs;
  const next: Entry = !entry || quiet ? { failures: 0, lockouts: 0, blockedUntil: 0, lastFailureAt: 0 } : { ...entry };
  next.failures++;
  next.lastFailureAt = now;
  let lockoutMs = 0;
  if (next.lockouts > 0 || next.failures >= policy.maxFailures) {
    lockoutMs = Math.min(policy.baseLockoutMs * 2 ** Math.min(next.lockouts, MAX_DOUBLINGS), policy.maxLockoutMs);
    next.lockouts++;
    next.blockedUntil = now + lockoutMs;
  }
  return { entry: next, lockoutMs };
}

/** Per process. Bounded: past `maxKeys` the oldest keys go first (an address spray cannot exhaust memory). */
export class MemoryFailureLedger implements FailureLedger {
  private readonly entries = new Map<string, { entry: Entry; expiresAt: number }>();
  private readonly marks = new Map<string, number>();

  constructor(private readonly maxKeys = 100_000) {}

  async peek(key: string, now: number): Promise<LedgerPeek> {
    const stored = this.live(key, now);
    return { retryAfterMs: stored ? Math.max(0, stored.blockedUntil - now) : 0, dirty: stored !== undefined };
  }

  async fail(key: string, policy: LockoutPolicy, now: number): Promise<LedgerFailure> {
    const { entry, lockoutMs } = nextEntry(this.live(key, now), policy, now);
    this.entries.delete(key);
    this.entries.set(key, { entry, expiresAt: Math.max(entry.lastFailureAt, entry.blockedUntil) + policy.windowMs });
    evictOldest(this.entries, this.maxKeys);
    return { failures: entry.failures, lockoutMs };
  }

  async reset(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async mark(key: string, until: number): Promise<void> {
    this.marks.delete(key);
    this.marks.set(key, until);
    evictOldest(this.marks, this.maxKeys);
  }

  async isMarked(key: string, now: number): Promise<boolean> {
    const until = this.marks.get(key);
    if (until !== undefined && until <= now) this.marks.delete(key);
    return until !== undefined && until > now;
  }

  async close(): Promise<void> {
    this.entries.clear();
    this.marks.clear();
  }

  private live(key: string, now: number): Entry | undefined {
    const stored = this.entries.get(key);
    if (stored && stored.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return stored?.entry;
  }
}

function evictOldest(map: Map<string, unknown>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) return;
    map.delete(key);
  }
}

/** nextEntry in Lua, applied atomically: two processes counting the same key never lose a failure. */
const FAIL_SCRIPT = `
local key = KEYS[1]
local now = tonumber(ARGV[1])
local maxFailures = tonumber(ARGV[2])
local windowMs = tonumber(ARGV[3])
local baseMs = tonumber(ARGV[4])
local maxMs = tonumber(ARGV[5])
local maxDoublings = tonumber(ARGV[6])
local v = redis.call('HMGET', key, 'failures', 'lockouts', 'blockedUntil', 'lastFailureAt')
local failures = tonumber(v[1]) or 0
local lockouts = tonumber(v[2]) or 0
local blockedUntil = tonumber(v[3]) or 0
local lastFailureAt = tonumber(v[4]) or 0
if v[1] and now - math.max(lastFailureAt, blockedUntil) >= windowMs then
  failures = 0; lockouts = 0; blockedUntil = 0
end
failures = failures + 1
lastFailureAt = now
local lockoutMs = 0
if lockouts > 0 or failures >= maxFailures then
  lockoutMs = math.min(baseMs * 2 ^ math.min(lockouts, maxDoublings), maxMs)
  lockouts = lockouts + 1
  blockedUntil = now + lockoutMs
end
redis.call('HSET', key, 'failures', failures, 'lockouts', lockouts, 'blockedUntil', string.format('%d', blockedUntil), 'lastFailureAt', string.format('%d', lastFailureAt))
redis.call('PEXPIRE', key, math.max(1, math.max(lastFailureAt, blockedUntil) + windowMs - now))
return {failures, lockoutMs}
`;

type FailCommand = (key: string, now: number, maxFailures: number, windowMs: number, baseMs: number, maxMs: number, maxDoublings: number) => Promise<[number, number]>;

export interface RedisFailureLedgerOptions {
  /** ioredis options (see redisConnectionOptions for a REDIS_URL). */
  connection: RedisOptions;
  /** Key namespace. Default `voxgate:auth`. */
  prefix?: string;
  /** A command Redis does not answer within this long falls back to memory. Default 500 ms. */
  commandTimeoutMs?: number;
  logger: Logger;
}

/**
 * Shared by every process on the same Redis. When Redis does not answer, each call falls back to
 * this process's memory (logged, rate-limited): limits get per-process, never off, and a Redis
 * outage never turns into refused or hanging API requests.
 */
export class RedisFailureLedger implements FailureLedger {
  readonly client: Redis;
  readonly prefix: string;
  private readonly fallback = new MemoryFailureLedger();
  private readonly warnings: RateLimitedWarnings;

  constructor(opts: RedisFailureLedgerOptions) {
    this.prefix = opts.prefix ?? 'voxgate:auth';
    this.client = new Redis({ ...opts.connection, commandTimeout: opts.commandTimeoutMs ?? 500, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    this.client.on('error', (err: Error) => this.warnings.warn('redis-error', 'auth failure counters: Redis connection error', { err: err.message }));
    this.client.defineCommand('voxgateAuthFail', { numberOfKeys: 1, lua: FAIL_SCRIPT });
    this.warnings = new RateLimitedWarnings(opts.logger);
  }

  async peek(key: string, now: number): Promise<LedgerPeek> {
    return this.orFallback('peek', async () => {
      const [blockedUntil, failures] = await this.client.hmget(this.k('f', key), 'blockedUntil', 'failures');
      if (failures === null) return { retryAfterMs: 0, dirty: false };
      return { retryAfterMs: Math.max(0, Number(blockedUntil) - now), dirty: true };
    }, () => this.fallback.peek(key, now));
  }

  async fail(key: string, policy: LockoutPolicy, now: number): Promise<LedgerFailure> {
    return this.orFallback('fail', async () => {
      const fail = (this.client as unknown as { voxgateAuthFail: FailCommand }).voxgateAuthFail;
      const [failures, lockoutMs] = await fail.call(this.client, this.k('f', key), now, policy.maxFailures, policy.windowMs, policy.baseLockoutMs, policy.maxLockoutMs, MAX_DOUBLINGS);
      return { failures: Number(failures), lockoutMs: Number(lockoutMs) };
    }, () => this.fallback.fail(key, policy, now));
  }

  async reset(key: string): Promise<void> {
    await this.fallback.reset(key);
    await this.orFallback('reset', async () => void (await this.client.del(this.k('f', key))), async () => undefined);
  }

  async mark(key: string, until: number, now: number): Promise<void> {
    // The value is the deadline on the caller's clock; the Redis expiry only collects the key.
    await this.orFallback('mark', async () => void (await this.client.set(this.k('m', key), String(until), 'PX', Math.max(1, until - now))), () => this.fallback.mark(key, until));
  }

  async isMarked(key: string, now: number): Promise<boolean> {
    return this.orFallback('isMarked', async () => Number((await this.client.get(this.k('m', key))) ?? 0) > now, () => this.fallback.isMarked(key, now));
  }

  async close(): Promise<void> {
    this.client.disconnect();
    await this.fallback.close();
  }

  private k(kind: 'f' | 'm', key: string): string {
    return `${this.prefix}:${kind}:${key}`;
  }

  private async orFallback<T>(operation: string, viaRedis: () => Promise<T>, inMemory: () => Promise<T>): Promise<T> {
    try {
      return await viaRedis();
    } catch (err) {
      this.warnings.warn(`redis-${operation}`, 'auth failure counters: Redis did not answer; counting in this process only', { operation, err: err instanceof Error ? err.message : String(err) });
      return inMemory();
    }
  }
}
