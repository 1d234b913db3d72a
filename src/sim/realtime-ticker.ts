/**
 * One shared 20 ms timer for every simulated call (and any load generator), so a thousand calls cost one
 * timer instead of a thousand drifting setIntervals. Ticks are scheduled against absolute times
 * (start + n * period) so timer jitter never accumulates; subscribers read `now` and emit every frame
 * that has fallen due since their last tick, recording how late each one was.
 */
import type { Clock, TimerHandle } from '../runtime/clock.js';
import { FRAME_MS } from '../media/audio.js';

/** `due` is when the tick was scheduled: work due by then belongs to this tick even if the ms clock reads a little earlier. */
export type TickSubscriber = (now: number, due: number) => void;

/** Fixed-bucket histogram of lateness in ms (0.1 ms resolution up to 10 s); recording never allocates. */
export class LatenessHistogram {
  private static readonly BUCKETS = 100_000;
  private readonly counts = new Uint32Array(LatenessHistogram.BUCKETS + 1);
  count = 0;
  maxMs = 0;

  record(lateMs: number): void {
    const ms = lateMs < 0 ? 0 : lateMs;
    const bucket = Math.min(LatenessHistogram.BUCKETS, Math.floor(ms * 10));
    this.counts[bucket]++;
    this.count++;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /** The lateness (ms) at or below which `p` percent (0-100) of the recorded frames fall. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const target = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= target) return i / 10;
    }
    return this.maxMs;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.maxMs = 0;
  }
}

export class RealtimeTicker {
  private readonly subscribers = new Set<TickSubscriber>();
  private timer: TimerHandle | undefined;
  private startedAt = 0;
  private tickIndex = 0;
  /** How late each tick fired against its schedule: the ticker's own health, separate from per-frame lateness. */
  readonly tickLateness = new LatenessHistogram();

  constructor(
    private readonly clock: Clock,
    readonly periodMs: number = FRAME_MS,
  ) {}

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Runs `fn` on every tick until the returned function is called. The timer runs only while someone listens. */
  subscribe(fn: TickSubscriber): () => void {
    this.subscribers.add(fn);
    if (!this.timer) {
      this.startedAt = this.clock.now();
      this.tickIndex = 0;
      this.schedule();
    }
    return () => {
      this.subscribers.delete(fn);
      if (this.subscribers.size === 0) this.stop();
    };
  }

  /** The first tick at or after `t`, so a new subscriber can put its own schedule on the ticker's grid. */
  nextTickAt(t: number): number {
    if (!this.timer) return t;
    const k = Math.max(0, Math.ceil((t - this.startedAt) / this.periodMs));
    return this.startedAt + k * this.periodMs;
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private schedule(): void {
    const due = this.startedAt + (this.tickIndex + 1) * this.periodMs;
    this.timer = this.clock.setTimeout(() => this.tick(due), Math.max(0, due - this.clock.now()));
  }

  private tick(due: number): void {
    const now = this.clock.now();
    this.tickLateness.record(now - due);
    this.tickIndex++;
    // After a long stall (GC, blocked loop) skip the missed ticks: subscribers catch up from `now` themselves.
    const behind = Math.floor((now - this.startedAt) / this.periodMs);
    if (behind > this.tickIndex + 5) this.tickIndex = behind;
    for (const fn of this.subscribers) {
      try {
        fn(now, due);
      } catch {
        // A subscriber's bug must not stop every other call's media; subscribers log their own errors.
      }
    }
    if (this.subscribers.size > 0) this.schedule();
    else this.timer = undefined;
  }
}
