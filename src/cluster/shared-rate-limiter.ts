/**
 * The dialout calls-per-second limit held by every instance together: each call start reserves the
 * next free slot of its carrier atomically in Redis (one key per carrier, `<keyPrefix>:pace:<carrier>`,
 * holding when the next start may happen), then waits for it. Three instances at 2 cps start at
 * most 2 calls a second between them, as the carrier's account limit wants.
 *
 * Times come from Redis (TIME inside the script), and only a relative wait leaves it, so clocks
 * that differ between hosts do not matter. Like the local limiter, idle time is not saved up as a
 * burst. Redis unreachable: starts fall back to this process's own pacing (the shared bound is then
 * the rate times the number of instances), with a rate-limited warning; Redis is tried again after
 * a short pause.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import { RateLimitedWarnings } from '../runtime/rate-limited-warnings.js';
import { CallRateLimiter, type CallPacer } from '../dialer/call-rate-limiter.js';

/**
 * KEYS[1]: the carrier's pace key. ARGV[1]: the interval between starts in microseconds.
 * Returns how many microseconds the caller waits for the slot it just reserved.
 */
const RESERVE_SLOT_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local nextSlot = slot + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.0f', nextSlot), 'PX', math.floor((nextSlot - now) / 1000) + 60000)
return slot - now
`;

export interface SharedCallPacingOptions {
  /** `redis.url`. */
  url: string;
  /** `cluster.keyPrefix`. */
  keyPrefix: string;
  clock: Clock;
  logger: Logger;
  /** How long a reservation may take before this start falls back to local pacing. Default 500 ms. */
  commandTimeoutMs?: number;
  /** After a Redis failure, local pacing only for this long before Redis is tried again. Default 5 s. */
  retryAfterMs?: number;
}

/** One Redis connection for the pacers of every carrier of this instance. */
export class SharedCallPacing {
  private readonly redis: Redis;
  private readonly warnings: RateLimitedWarnings;
  private readonly retryAfterMs: number;
  private downUntil = Number.NEGATIVE_INFINITY;
  private readonly pacers = new Set<SharedCallPacer>();

  constructor(private readonly opts: SharedCallPacingOptions) {
    this.warnings = new RateLimitedWarnings(opts.logger.child({ component: 'shared-pacing' }), opts.clock);
    this.retryAfterMs = opts.retryAfterMs ?? 5000;
    // Connects at the first reservation: a gateway that fails to start leaves no connection behind.
    this.redis = new Redis(opts.url, { lazyConnect: true, commandTimeout: opts.commandTimeoutMs ?? 500, maxRetriesPerRequest: 1 });
    this.redis.on('error', (err: Error) => this.warnings.warn('redis-error', `dialout pacing: Redis error (${err.message})`));
  }

  /** The pacer of `carrier`'s call starts, shared with every instance using the same key prefix. */
  pacer(carrier: string, callsPerSecond: number): CallPacer {
    const pacer = new SharedCallPacer(this, carrier, callsPerSecond, this.opts.clock);
    this.pacers.add(pacer);
    return pacer;
  }

  /**
   * Microseconds until the reserved slot; undefined when Redis is not usable now (the caller paces
   * locally), with a rate-limited warning naming the carrier.
   */
  async reserve(carrier: string, intervalMicros: number): Promise<number | undefined> {
    if (this.opts.clock.now() < this.downUntil) return undefined;
    try {
      return Number(await this.redis.eval(RESERVE_SLOT_SCRIPT, 1, `${this.opts.keyPrefix}:pace:${carrier}`, Math.round(intervalMicros)));
    } catch (err) {
      this.downUntil = this.opts.clock.now() + this.retryAfterMs;
      this.warnings.warn('reserve', `dialout pacing: Redis unusable (${(err as Error).message}); ${carrier} calls are paced by this instance alone for now (the rate is no longer shared)`, { carrier });
      return undefined;
    }
  }

  async close(): Promise<void> {
    for (const pacer of this.pacers) pacer.close();
    this.pacers.clear();
    this.redis.disconnect();
  }
}

/** One carrier's starts on this instance: first come first served, one reservation at a time. */
class SharedCallPacer implements CallPacer {
  private readonly queue: (() => void)[] = [];
  private readonly intervalMicros: number;
  /** Used while Redis is unusable. */
  private readonly local: CallRateLimiter;
  private pumping = false;
  private closed = false;
  private timer: TimerHandle | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly shared: SharedCallPacing,
    private readonly carrier: string,
    callsPerSecond: number,
    private readonly clock: Clock,
  ) {
    this.local = new CallRateLimiter(callsPerSecond, clock);
    this.intervalMicros = 1_000_000 / callsPerSecond;
  }

  schedule(start: () => void): void {
    if (this.closed) return;
    this.queue.push(start);
    void this.pump();
  }

  get waiting(): number {
    return this.queue.length + this.local.waiting;
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.timer?.cancel();
    this.timer = undefined;
    this.wake?.();
    this.local.close();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        // Only the head holds a reservation: a call dropped at shutdown wastes at most one slot.
        const waitMicros = await this.shared.reserve(this.carrier, this.intervalMicros);
        if (this.closed) return;
        if (waitMicros === undefined) {
          this.local.schedule(this.queue.shift()!);
          continue;
        }
        if (waitMicros > 0) await this.sleep(waitMicros / 1000);
        if (this.closed) return;
        this.queue.shift()!();
      }
    } finally {
      this.pumping = false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        this.wake = undefined;
        resolve();
      }, ms);
    });
  }
}
