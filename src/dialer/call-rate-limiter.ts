/**
 * Paces call starts at a fixed rate (calls per second), first come first served. Requests beyond the
 * rate wait their turn instead of being refused, as carriers queue them; the pacing is driven by the
 * injected clock so tests can check the achieved rate exactly.
 */
import type { Clock, TimerHandle } from '../call/clock.js';

export class CallRateLimiter {
  private readonly intervalMs: number;
  /** When the next call may start. */
  private nextSlot = 0;
  private readonly timers = new Set<TimerHandle>();

  constructor(
    callsPerSecond: number,
    private readonly clock: Clock,
  ) {
    if (!(callsPerSecond > 0 && Number.isFinite(callsPerSecond))) throw new RangeError(`callsPerSecond must be a positive number, got ${String(callsPerSecond)}`);
    this.intervalMs = 1000 / callsPerSecond;
  }

  /** Runs `start` in the next free slot; returns how long it waits (ms). */
  schedule(start: () => void): number {
    const now = this.clock.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + this.intervalMs;
    const wait = slot - now;
    if (wait <= 0) {
      start();
      return 0;
    }
    const timer = this.clock.setTimeout(() => {
      this.timers.delete(timer);
      start();
    }, wait);
    this.timers.add(timer);
    return wait;
  }

  /** Calls still waiting for their slot. */
  get waiting(): number {
    return this.timers.size;
  }

  /** Drops every waiting call (shutdown). */
  close(): void {
    for (const t of this.timers) t.cancel();
    this.timers.clear();
  }
}
