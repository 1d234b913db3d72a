/**
 * Calls-per-second pacing on a fixed grid of start slots, one every 1/callsPerSecond. A start that
 * comes late (timer jitter, a slow store, a busy event loop) keeps the grid, so the long-run rate is
 * the configured one; lateness is made up for at most MAX_CATCH_UP_MS (or one slot, if longer), and
 * a start after an idle gap re-anchors, so idle time never banks a burst. At most about
 * callsPerSecond * 1.1 + 1 calls start in any one second.
 */
const MAX_CATCH_UP_MS = 100;

export class CallPacer {
  private readonly intervalMs: number;
  private nextSlotAt = Number.NEGATIVE_INFINITY;

  constructor(callsPerSecond: number) {
    if (!(callsPerSecond > 0)) throw new RangeError(`callsPerSecond must be positive, got ${callsPerSecond}`);
    this.intervalMs = 1000 / callsPerSecond;
  }

  canStart(now: number): boolean {
    return now >= this.nextSlotAt;
  }

  /** Takes the slot for a call starting at `now`; call only when canStart(now). */
  start(now: number): void {
    const lateBy = now - this.nextSlotAt;
    this.nextSlotAt = lateBy < Math.max(this.intervalMs, MAX_CATCH_UP_MS) ? this.nextSlotAt + this.intervalMs : now + this.intervalMs;
  }

  /** When the next call may start. */
  nextStartAt(): number {
    return this.nextSlotAt;
  }
}
