/**
 * Per-widget-key call limits: calls in progress (`maxConcurrentCalls`) and calls started in the last
 * minute (`callsPerMinute`). In this process's memory by default; with `redis.url`, in Redis, so every
 * instance behind one load balancer counts the same calls.
 *
 * In Redis each key has two sorted sets: its live slots (score = when the slot's lease ends) and the
 * calls it started (score = start time). One Lua script checks both limits and takes a slot atomically.
 * A slot's lease is renewed while the call lasts; a process that dies stops renewing, so its slots
 * free themselves within a lease instead of blocking the key for good. When Redis does not answer,
 * the limits are counted in this process (logged): per-process, never off, and no call waits on Redis
 * longer than the command timeout (500 ms).
 */
import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import { RateLimitedWarnings } from '../runtime/rate-limited-warnings.js';
import { redisConnectionOptions } from '../dialer/campaign-queue.js';

/** The rate limit's window. */
export const RATE_WINDOW_MS = 60_000;

export interface KeyLimits {
  maxConcurrentCalls: number;
  callsPerMinute: number;
}

export type SlotOutcome =
  | { ok: true; release(): void }
  | { ok: false; limit: 'concurrent'; live: number }
  | { ok: false; limit: 'rate'; started: number; retryAfterMs: number };

export interface WidgetCallLimits {
  /** Takes a call slot for `keyId` when both limits allow it (the start counts towards the rate). */
  take(keyId: string, limits: KeyLimits): Promise<SlotOutcome>;
  close(): Promise<void>;
}

/** Once-only release: a second call (the carrier's cleanup after a hangup, say) frees nothing more. */
function once(free: () => void): () => void {
  let freed = false;
  return () => {
    if (freed) return;
    freed = true;
    free();
  };
}

export class MemoryWidgetCallLimits implements WidgetCallLimits {
  private readonly keys = new Map<string, { live: number; starts: number[] }>();

  constructor(private readonly clock: Clock) {}

  async take(keyId: string, limits: KeyLimits): Promise<SlotOutcome> {
    return Promise.resolve(this.takeNow(keyId, limits));
  }

  takeNow(keyId: string, limits: KeyLimits): SlotOutcome {
    const now = this.clock.now();
    const state = this.keys.get(keyId) ?? { live: 0, starts: [] };
    this.keys.set(keyId, state);
    if (state.live >= limits.maxConcurrentCalls) return { ok: false, limit: 'concurrent', live: state.live };
    while (state.starts.length > 0 && state.starts[0] <= now - RATE_WINDOW_MS) state.starts.shift();
    if (state.starts.length >= limits.callsPerMinute) return { ok: false, limit: 'rate', started: state.starts.length, retryAfterMs: state.starts[0] + RATE_WINDOW_MS - now };
    state.live++;
    state.starts.push(now);
    return {
      ok: true,
      release: once(() => {
        state.live--;
        // Nothing left to remember: drop the entry so keys used once do not accumulate.
        if (state.live === 0 && state.starts.every((at) => at <= this.clock.now() - RATE_WINDOW_MS)) this.keys.delete(keyId);
      }),
    };
  }

  async close(): Promise<void> {
    this.keys.clear();
    return Promise.resolve();
  }
}

const TAKE_SCRIPT = `
local now = tonumber(ARGV[1])
local maxLive = tonumber(ARGV[2])
local perMinute = tonumber(ARGV[3])
local windowMs = tonumber(ARGV[4])
local slot = ARGV[5]
local leaseMs = tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local live = redis.call('ZCARD', KEYS[1])
if live >= maxLive then return {1, live, 0} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - windowMs)
local started = redis.call('ZCARD', KEYS[2])
if started >= perMinute then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {2, started, tonumber(oldest[2]) + windowMs - now}
end
redis.call('ZADD', KEYS[1], now + leaseMs, slot)
redis.call('ZADD', KEYS[2], now, slot)
redis.call('PEXPIRE', KEYS[1], leaseMs)
redis.call('PEXPIRE', KEYS[2], windowMs)
return {0, live + 1, 0}
`;

type TakeCommand = (liveKey: string, startsKey: string, now: number, maxLive: number, perMinute: number, windowMs: number, slot: string, leaseMs: number) => Promise<[number, number, number]>;

export interface RedisWidgetCallLimitsOptions {
  /** ioredis options (see redisConnectionOptions for a REDIS_URL). */
  connection: RedisOptions;
  /** Key namespace, e.g. `voxgate:widget`. */
  prefix: string;
  clock: Clock;
  logger: Logger;
  /** How long a slot holds without renewal (a dead process's calls free within it). Default 60 s. */
  leaseMs?: number;
  /** A command Redis does not answer within this long falls back to memory. Default 500 ms. */
  commandTimeoutMs?: number;
}

export class RedisWidgetCallLimits implements WidgetCallLimits {
  readonly client: Redis;
  private readonly fallback: MemoryWidgetCallLimits;
  private readonly warnings: RateLimitedWarnings;
  private readonly leaseMs: number;
  /** Slots this process holds in Redis: live key -> slot ids, renewed until released. */
  private readonly held = new Map<string, Set<string>>();
  private renewal: TimerHandle | undefined;
  private closed = false;
  /** Slot releases on their way to Redis. */
  private readonly releasing = new Set<Promise<unknown>>();

  constructor(private readonly opts: RedisWidgetCallLimitsOptions) {
    this.leaseMs = opts.leaseMs ?? 60_000;
    this.fallback = new MemoryWidgetCallLimits(opts.clock);
    this.warnings = new RateLimitedWarnings(opts.logger, opts.clock);
    // Commands wait for the connection (a call right after start is counted in Redis), never longer than the timeout.
    this.client = new Redis({ ...opts.connection, commandTimeout: opts.commandTimeoutMs ?? 500, maxRetriesPerRequest: 0 });
    this.client.on('error', (err: Error) => this.warnings.warn('redis-error', 'widget key limits: Redis connection error', { err: err.message }));
    this.client.defineCommand('voxgateWidgetTake', { numberOfKeys: 2, lua: TAKE_SCRIPT });
  }

  async take(keyId: string, limits: KeyLimits): Promise<SlotOutcome> {
    const liveKey = `${this.opts.prefix}:live:${keyId}`;
    const slot = randomBytes(9).toString('base64url');
    let answer: [number, number, number];
    try {
      const take = (this.client as unknown as { voxgateWidgetTake: TakeCommand }).voxgateWidgetTake;
      answer = await take.call(this.client, liveKey, `${this.opts.prefix}:starts:${keyId}`, this.opts.clock.now(), limits.maxConcurrentCalls, limits.callsPerMinute, RATE_WINDOW_MS, slot, this.leaseMs);
    } catch (err) {
      this.warnings.warn('redis-take', 'widget key limits: Redis did not answer; counting in this process only', { err: err instanceof Error ? err.message : String(err) });
      return this.fallback.take(keyId, limits);
    }
    const [verdict, count, retryAfterMs] = answer.map(Number);
    if (verdict === 1) return { ok: false, limit: 'concurrent', live: count };
    if (verdict === 2) return { ok: false, limit: 'rate', started: count, retryAfterMs };
    this.hold(liveKey, slot);
    return { ok: true, release: once(() => this.free(liveKey, slot)) };
  }

  /** Resolves once every slot released so far is freed in Redis (or given up on). */
  async settled(): Promise<void> {
    await Promise.all([...this.releasing]);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.renewal?.cancel();
    await this.settled();
    // Slots still held are left to their lease: their calls were ended or go on elsewhere.
    this.client.disconnect();
    await this.fallback.close();
  }

  private hold(liveKey: string, slot: string): void {
    const slots = this.held.get(liveKey) ?? new Set<string>();
    this.held.set(liveKey, slots.add(slot));
    this.renewal ??= this.opts.clock.setTimeout(() => void this.renew(), this.leaseMs / 3);
  }

  private free(liveKey: string, slot: string): void {
    const slots = this.held.get(liveKey);
    slots?.delete(slot);
    if (slots?.size === 0) this.held.delete(liveKey);
    const freeing = this.client
      .zrem(liveKey, slot)
      .catch((err: unknown) => this.warnings.warn('redis-release', 'widget key limits: a call slot not freed in Redis; it frees itself when its lease ends', { err: err instanceof Error ? err.message : String(err) }))
      .finally(() => this.releasing.delete(freeing));
    this.releasing.add(freeing);
  }

  /** Pushes every held slot's lease forward; runs while this process holds any. */
  private async renew(): Promise<void> {
    this.renewal = undefined;
    if (this.closed || this.held.size === 0) return;
    const until = this.opts.clock.now() + this.leaseMs;
    const batch = this.client.multi();
    for (const [liveKey, slots] of this.held) {
      // XX: a slot freed meanwhile is not brought back.
      for (const slot of slots) batch.zadd(liveKey, 'XX', until, slot);
      batch.pexpire(liveKey, this.leaseMs);
    }
    await batch.exec().catch((err: unknown) => this.warnings.warn('redis-renew', 'widget key limits: call slot leases not renewed in Redis', { err: err instanceof Error ? err.message : String(err) }));
    if (!this.closed && this.held.size > 0) this.renewal = this.opts.clock.setTimeout(() => void this.renew(), this.leaseMs / 3);
  }
}

/** Redis when `redis.url` is configured (every instance counts the same calls), this process's memory otherwise. */
export function widgetCallLimitsFor(opts: { redisUrl?: string; keyPrefix: string; clock: Clock; logger: Logger }): WidgetCallLimits {
  if (!opts.redisUrl) return new MemoryWidgetCallLimits(opts.clock);
  return new RedisWidgetCallLimits({ connection: redisConnectionOptions(opts.redisUrl), prefix: `${opts.keyPrefix}:widget`, clock: opts.clock, logger: opts.logger });
}
