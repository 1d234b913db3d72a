/**
 * Lateness of caller frames as the server receives them: frame k of a stream is due at
 * t0 + 20k, where t0 is the earliest the stream has shown it can deliver (the minimum over frames so
 * far of arrival_k - 20k). A frame arriving 20 ms or more after its due time is late: a real-time
 * consumer (STT, VAD endpointing) would have waited a whole frame for it.
 */
import { performance } from 'node:perf_hooks';
import { LatencyHistogram } from './stats.js';

export const LATE_FRAME_MS = 20;

/** Shared by all streams of one process; streams hold a `FrameArrivals` each. */
export class ArrivalStats {
  readonly lateness = new LatencyHistogram();
  frames = 0;
  lateFrames = 0;
  /** Counting is on between measure-start and measure-stop; totals count always. */
  measuring = false;
  totalFrames = 0;

  reset(): void {
    this.lateness.reset();
    this.frames = 0;
    this.lateFrames = 0;
  }
}

export class FrameArrivals {
  private index = 0;
  private origin = Infinity;

  constructor(private readonly stats: ArrivalStats) {}

  onFrame(now = performance.now()): void {
    const shifted = now - this.index * 20;
    if (shifted < this.origin) this.origin = shifted;
    this.index++;
    const s = this.stats;
    s.totalFrames++;
    if (!s.measuring) return;
    const late = shifted - this.origin;
    s.lateness.record(late);
    s.frames++;
    if (late >= LATE_FRAME_MS) s.lateFrames++;
  }
}
