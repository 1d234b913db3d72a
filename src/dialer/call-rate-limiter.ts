/**
 * Paces call starts at a fixed rate (calls per second), first come first served. Requests beyond the
 * rate wait their turn instead of being refused, as carriers queue them. One timer drives the queue:
 * a late timer (a busy event loop) never releases a catch-up burst, since the carrier would count
 * a burst against its own per-second limit; at most one start is made up for.
 */
import type { Clock, TimerHandle } from '../runtime/clock.js';

/** Paces call starts; this process alone (CallRateLimiter) or with every instance of a cluster (src/cluster/shared-rate-limiter.ts). */
export interface CallPacer {
  /** Runs `start` in the next free slot (at once when one is free). */
  schedule(start: () => void): void;
  /** Calls still waiting for their slot. */
  readonly waiting: number;
  /** Drops every waiting call (shutdown). */
  close(): void;
}

export class CallRateLimiter implements CallPacer {
  private readonly intervalMs: number;
  /** When the next call may start. */
  private nextSlot = Number.NEGATIVE_INFINITY;
  private readonly queue: (() => void)[] = [];
  private timer: TimerHandle | undefined;

  constructor(
    callsPerSecond: number,
    private readonly clock: Clock,
  ) {
    if (!(callsPerSecond > 0 && Number.isFinite(callsPerSecond))) throw new RangeError(`callsPerSecond must be a positive number, got ${String(callsPerSecond)}`);
    this.intervalMs = 1000 / callsPerSecond;
  }

  /** Runs `start` in the next free slot (at once when one is free). */
  schedule(start: () => void): void {
    this.queue.push(start);
    this.pump();
  }

  /** Calls still waiting for their slot. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Drops every waiting call (shutdown). */
  close(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.queue.length = 0;
  }

  /** `late`: woken by the slot timer, which may fire late; then one missed slot is made up, no more. */
  private pump(late = false): void {
    if (this.timer) return;
    while (this.queue.length > 0) {
      const now = this.clock.now();
      if (now < this.nextSlot) {
        this.timer = this.clock.setTimeout(() => {
          this.timer = undefined;
          this.pump(true);
        }, this.nextSlot - now);
        return;
      }
      // Idle time and slots missed by more than one interval are gone, not owed: no bursts.
      this.nextSlot = Math.max(this.nextSlot, now - (late ? this.intervalMs : 0)) + this.intervalMs;
      late = false;
      this.queue.shift()!();
    }
  }
}
