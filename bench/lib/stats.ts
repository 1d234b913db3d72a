/** Small statistics helpers for benchmark results (the hot paths record into LatenessHistogram instead). */

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of raw samples. */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Median of each numeric field across runs (non-numeric fields are taken from the first run). */
export function medianOfRuns<T extends Record<string, unknown>>(runs: T[]): T {
  const out: Record<string, unknown> = { ...runs[0] };
  for (const key of Object.keys(runs[0])) {
    if (typeof runs[0][key] === 'number') out[key] = median(runs.map((r) => r[key] as number));
  }
  return out as T;
}

/**
 * A fixed-bucket latency histogram (0.01 ms resolution up to 10 s) that merges across processes:
 * children send `toJSON()`, the parent `merge`s, so percentiles are over every sample, not a median of medians.
 */
export class LatencyHistogram {
  static readonly BUCKETS = 1_000_000;
  private readonly counts = new Uint32Array(LatencyHistogram.BUCKETS + 1);
  count = 0;
  maxMs = 0;

  record(ms: number): void {
    const v = ms < 0 ? 0 : ms;
    const bucket = Math.min(LatencyHistogram.BUCKETS, Math.floor(v * 100));
    this.counts[bucket]++;
    this.count++;
    if (v > this.maxMs) this.maxMs = v;
  }

  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const target = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= target) return i / 100;
    }
    return this.maxMs;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.maxMs = 0;
  }

  /** Sparse form: [bucket, count] pairs. */
  toJSON(): { buckets: [number, number][]; maxMs: number } {
    const buckets: [number, number][] = [];
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i]) buckets.push([i, this.counts[i]]);
    return { buckets, maxMs: this.maxMs };
  }

  merge(data: { buckets: [number, number][]; maxMs: number }): void {
    for (const [bucket, n] of data.buckets) {
      this.counts[bucket] += n;
      this.count += n;
    }
    if (data.maxMs > this.maxMs) this.maxMs = data.maxMs;
  }
}
