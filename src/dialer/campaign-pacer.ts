/**
 * Calls-per-second pacing on a fixed grid of start slots, one every 1/callsPerSecond. A start that
 * comes a little late (timer jitter, a slow store) keeps the grid, so the long-run rate is exactly
 * the configured one; a start after an idle gap re-anchors, so idle time never banks a burst.
 * At most callsPerSecond + 1 calls start in any one second.
 */
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
    this.nextSlotAt = lateBy < this.intervalMs ? this.nextSlotAt + this.intervalMs : now + this.intervalMs;
  }

  /** When the next call may start. */
  nextStartAt(): number {
    return this.nextSlotAt;
  }
}
