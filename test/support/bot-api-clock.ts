import { FakeClock } from './fake-clock.js';
import type { TimerHandle } from '../../src/runtime/clock.js';

/** A FakeClock that lets a test wait until code under test has scheduled a timer of a given length. */
export class ObservedClock extends FakeClock {
  /** Every delay scheduled, in order. */
  readonly scheduled: number[] = [];
  private waiters: { match: (ms: number) => boolean; resolve: (ms: number) => void }[] = [];

  override setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = super.setTimeout(fn, ms);
    this.scheduled.push(ms);
    for (const w of this.waiters.filter((w) => w.match(ms))) w.resolve(ms);
    this.waiters = this.waiters.filter((w) => !w.match(ms));
    return handle;
  }

  /** Resolves at the next scheduling (from now on) of a timer whose delay matches. */
  nextTimer(match: (ms: number) => boolean): Promise<number> {
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
}
