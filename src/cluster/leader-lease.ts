/**
 * One instance of a cluster speaks for the service where something must be done once (judging
 * alarm conditions over every instance's calls): the holder of a lease in Redis, key
 * `<cluster.keyPrefix>:leader:<role>` = the holder's instance id, set only when absent (SET NX PX
 * leaseMs) and renewed every heartbeat by its holder. When the holder dies its key expires and
 * another instance takes it within leaseMs plus a heartbeat; a holder that stops gracefully hands
 * it over at once (it deletes its own key).
 *
 * A holder that cannot reach Redis steps down before its key can have expired (it counts leaseMs
 * from when it sent its last successful renewal), so two instances never both believe they lead,
 * unless one of them stalls for longer than a lease.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { systemClock, type Clock, type TimerHandle } from '../runtime/clock.js';
import { RateLimitedWarnings } from '../runtime/rate-limited-warnings.js';

/** Whether this process speaks for the service now. */
export interface Leadership {
  readonly isLeader: boolean;
  /** Told on every change (true: this process just took the lead); returns the unsubscribe function. */
  onChange(listener: (leader: boolean) => void): () => void;
  start(): void;
  stop(): Promise<void>;
}

/** One process alone always leads. */
export function soleLeadership(): Leadership {
  return { isLeader: true, onChange: () => () => undefined, start: () => undefined, stop: () => Promise.resolve() };
}

export interface RedisLeaderLeaseOptions {
  redis: Redis;
  /** The full key, e.g. `voxgate:leader:alarms`. */
  key: string;
  instanceId: string;
  heartbeatMs: number;
  leaseMs: number;
  clock?: Clock;
  logger: Logger;
}

/** KEYS[1] lease; ARGV holder id, lease ms. 1 when the caller holds it now. */
const TAKE_OR_RENEW = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX')
  return 1
end
return 0
`;

/** KEYS[1] lease; ARGV holder id. Deletes the lease only if the caller holds it. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export class RedisLeaderLease implements Leadership {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly warnings: RateLimitedWarnings;
  private readonly listeners = new Set<(leader: boolean) => void>();
  private leading = false;
  /** Until when (this process's clock) the key is surely still ours. */
  private heldUntil = 0;
  private timer: TimerHandle | undefined;
  private running = false;

  constructor(private readonly opts: RedisLeaderLeaseOptions) {
    if (!(opts.leaseMs > 2 * opts.heartbeatMs)) throw new RangeError(`leader lease: leaseMs (${opts.leaseMs}) must exceed two heartbeats (${opts.heartbeatMs} ms each)`);
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger.child({ component: 'leader-lease', lease: opts.key });
    this.warnings = new RateLimitedWarnings(this.logger, this.clock);
  }

  get isLeader(): boolean {
    return this.leading && this.clock.now() < this.heldUntil;
  }

  onChange(listener: (leader: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.beat();
  }

  /** Stops renewing and hands the lease over at once if held. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.timer?.cancel();
    const wasLeading = this.leading;
    this.set(false);
    if (!wasLeading) return;
    try {
      await this.opts.redis.eval(RELEASE, 1, this.opts.key, this.opts.instanceId);
    } catch (err) {
      this.logger.warn({ err }, 'leader lease not released; another instance takes over once it expires');
    }
  }

  private async beat(): Promise<void> {
    const sentAt = this.clock.now();
    try {
      const held = (await this.opts.redis.eval(TAKE_OR_RENEW, 1, this.opts.key, this.opts.instanceId, String(this.opts.leaseMs))) === 1;
      if (!this.running) return;
      if (held) this.heldUntil = sentAt + this.opts.leaseMs;
      this.set(held);
    } catch (err) {
      if (!this.running) return;
      // Still ours until the lease we last renewed runs out; step down a heartbeat before it can have.
      const keep = this.leading && this.clock.now() + this.opts.heartbeatMs < this.heldUntil;
      this.warnings.warn('renew', `leader lease: Redis did not answer (${(err as Error).message}); ${keep ? 'still leading until the lease runs out' : this.leading ? 'stepping down' : 'not leading'}`);
      if (!keep) this.set(false);
    } finally {
      if (this.running) this.timer = this.clock.setTimeout(() => void this.beat(), this.opts.heartbeatMs);
    }
  }

  private set(leader: boolean): void {
    if (leader === this.leading) return;
    this.leading = leader;
    this.logger.info({ instanceId: this.opts.instanceId }, leader ? 'this instance now leads' : 'this instance no longer leads');
    for (const listener of this.listeners) {
      try {
        listener(leader);
      } catch (err) {
        this.logger.error({ err }, 'leadership listener failed');
      }
    }
  }
}
