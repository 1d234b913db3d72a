/**
 * The soak (`npm run bench -- --only=soak [--soak-minutes=10]`): 200 calls held for the duration with
 * turnover (each call a conversation of a random 20-60 s, replaced when its caller hangs up), the
 * gateway's memory scraped from its own /metrics (voxgate_process_resident_memory_bytes,
 * voxgate_nodejs_heap_size_used_bytes) every few seconds. The figures: the least-squares
 * slope of RSS and heap (MB/min) over the second half, when the turnover is steady; the heap after a
 * full GC at the half and at the end; abnormal ends (call records whose end reason is not the caller's
 * hangup, calls the load generator saw end early or never stream); and that nothing stays live after.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { loadavg } from 'node:os';
import { BENCH_BOT, dialSpec, startPair } from './capacity.js';
import type { SoakLoadResult, SoakSpec } from './load-generator.js';
import type { MemorySnapshot } from './lib/process-probe.js';
import { median, round } from './lib/stats.js';
import { parsePrometheusText } from '../test/support/prometheus-text.js';

export interface SoakSample {
  /** Seconds since the soak started. */
  atSec: number;
  rssMB: number;
  heapUsedMB: number;
  activeCalls: number;
  /** The gateway's event-loop delay p99 (ms), from prom-client's monitor. */
  loopLagP99Ms: number;
}

export interface SoakResult {
  concurrent: number;
  minutes: number;
  callSec: [number, number];
  sampleEverySec: number;
  samples: SoakSample[];
  /** /metrics scrapes that failed (no sample taken). */
  scrapeFailures: number;
  /** Least-squares slopes over the second half (MB per minute). */
  rssSlopeMBPerMin: number;
  heapSlopeMBPerMin: number;
  rssStartMB: number;
  rssEndMB: number;
  /** Heap after a full GC, at the half and at the end (before the last calls hang up). */
  heapAfterGcHalfMB: number;
  heapAfterGcEndMB: number;
  load: SoakLoadResult;
  /** The gateway's call records by end reason. */
  endReasons: Record<string, number>;
  /** Records that did not end with the caller's hangup, plus calls the load generator saw fail. */
  abnormalEnds: number;
  /** After every call hung up: calls the registry (and its reaper) still hold. */
  liveAfter: number;
  watchedByReaperAfter: number;
  gatewayLogProblems: Record<string, number>;
  loadAvg: { before: number[]; after: number[] };
}

/** Least-squares slope of y over x. */
export function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

const MB = 1024 * 1024;

async function scrape(gatewayUrl: string): Promise<Omit<SoakSample, 'atSec'>> {
  const res = await fetch(`${gatewayUrl}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  const samples = parsePrometheusText(await res.text());
  const value = (name: string) => samples.filter((s) => s.name === name).reduce((sum, s) => sum + s.value, 0);
  return {
    rssMB: round(value('voxgate_process_resident_memory_bytes') / MB, 2),
    heapUsedMB: round(value('voxgate_nodejs_heap_size_used_bytes') / MB, 2),
    activeCalls: value('voxgate_active_calls'),
    loopLagP99Ms: round(value('voxgate_nodejs_eventloop_lag_p99_seconds') * 1000, 1),
  };
}

export async function runSoak(opts: { concurrent: number; minutes: number; sampleEverySec: number; log: (line: string) => void }): Promise<SoakResult> {
  const before = loadavg().map((l) => round(l, 2));
  const { loadGen, srv, urls } = await startPair('gateway', { soak: true, bot: BENCH_BOT });
  try {
    const gatewayUrl = urls.gatewayUrl;
    if (!gatewayUrl) throw new Error('the gateway did not say where it listens');
    const durationSec = opts.minutes * 60;
    const spec: SoakSpec = { dial: dialSpec(urls, { calls: opts.concurrent }), concurrent: opts.concurrent, durationSec, minCallSec: 20, maxCallSec: 60 };
    opts.log(`  soak: ${opts.concurrent} calls for ${opts.minutes} min, each 20-60 s, memory every ${opts.sampleEverySec} s`);
    const started = Date.now();
    const running = loadGen.call<SoakLoadResult>('soak', spec);
    const samples: SoakSample[] = [];
    let heapAfterGcHalf: MemorySnapshot | undefined;
    let done = false;
    let scrapeFailures = 0;
    void running.finally(() => (done = true)).catch(() => undefined);
    while (!done && Date.now() - started < durationSec * 1000) {
      const atSec = (Date.now() - started) / 1000;
      try {
        samples.push({ atSec: round(atSec, 1), ...(await scrape(gatewayUrl)) });
      } catch (err) {
        // A scrape that fails under load is a finding, not a reason to lose the run.
        scrapeFailures++;
        opts.log(`  ${Math.round(atSec)} s: /metrics scrape failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (!heapAfterGcHalf && atSec >= durationSec / 2) heapAfterGcHalf = await srv.call<MemorySnapshot>('memory');
      const last = samples[samples.length - 1];
      if (last && samples.length % Math.max(1, Math.round(60 / opts.sampleEverySec)) === 0) {
        opts.log(`  ${Math.round(atSec)} s: ${last.activeCalls} calls, RSS ${last.rssMB} MB, heap ${last.heapUsedMB} MB, loop delay p99 ${last.loopLagP99Ms} ms`);
      }
      await sleep(opts.sampleEverySec * 1000);
    }
    // The end-of-run GC snapshot is taken while the last calls are still up, as the half one was.
    const heapAfterGcEnd = await srv.call<MemorySnapshot>('memory');
    const load = await running;
    // Let the hangup callbacks of the last calls land (and any reaping grace run out).
    await sleep(7000);
    const ends = await srv.call<{ endReasons: Record<string, number>; liveCalls: number; watchedByReaper: number }>('end-reasons');
    const gatewayLogProblems = await srv.call<Record<string, number>>('log-problems');
    const secondHalf = samples.filter((s) => s.atSec >= durationSec / 2);
    const perMinute = (key: 'rssMB' | 'heapUsedMB') => round(slope(secondHalf.map((s) => ({ x: s.atSec / 60, y: s[key] }))), 3);
    const recordsAbnormal = Object.entries(ends.endReasons).reduce((n, [reason, count]) => (reason === 'caller-hangup' ? n : n + count), 0);
    const loadAbnormal = Object.values(load.endedEarly).reduce((a, b) => a + b, 0) + load.neverStreamed;
    return {
      concurrent: opts.concurrent,
      minutes: opts.minutes,
      callSec: [spec.minCallSec, spec.maxCallSec],
      sampleEverySec: opts.sampleEverySec,
      samples,
      scrapeFailures,
      rssSlopeMBPerMin: perMinute('rssMB'),
      heapSlopeMBPerMin: perMinute('heapUsedMB'),
      rssStartMB: samples[0]?.rssMB ?? NaN,
      rssEndMB: samples[samples.length - 1]?.rssMB ?? NaN,
      heapAfterGcHalfMB: heapAfterGcHalf ? round(heapAfterGcHalf.heapUsedMB, 2) : NaN,
      heapAfterGcEndMB: round(heapAfterGcEnd.heapUsedMB, 2),
      load,
      endReasons: ends.endReasons,
      abnormalEnds: Math.max(recordsAbnormal, loadAbnormal),
      liveAfter: ends.liveCalls,
      watchedByReaperAfter: ends.watchedByReaper,
      gatewayLogProblems,
      loadAvg: { before, after: loadavg().map((l) => round(l, 2)) },
    };
  } finally {
    await Promise.all([loadGen.stop(), srv.stop()]);
  }
}

/** The soak as a short Markdown section (bench/results/latest-soak.md, BENCHMARKS.md). */
export function renderSoak(r: SoakResult): string {
  const reasons = Object.entries(r.endReasons)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  const early = Object.entries(r.load.endedEarly).map(([label, n]) => `${label} ${n}`).join(', ') || 'none';
  return [
    `## Soak: ${r.concurrent} calls for ${r.minutes} min with turnover`,
    '',
    `Each call a conversation of ${r.callSec[0]}-${r.callSec[1]} s, replaced when its caller hangs up; the gateway's /metrics scraped every ${r.sampleEverySec} s.`,
    '',
    '| figure | value |',
    '| --- | --- |',
    `| calls placed | ${r.load.callsPlaced} |`,
    `| least concurrent after the ramp | ${r.load.minConcurrentAfterRamp} |`,
    `| RSS slope, second half | ${r.rssSlopeMBPerMin} MB/min |`,
    `| heap-used slope, second half | ${r.heapSlopeMBPerMin} MB/min |`,
    `| RSS first / last sample | ${r.rssStartMB} / ${r.rssEndMB} MB |`,
    `| heap after full GC, half / end | ${r.heapAfterGcHalfMB} / ${r.heapAfterGcEndMB} MB |`,
    `| abnormal ends | ${r.abnormalEnds} |`,
    `| records by end reason | ${reasons} |`,
    `| calls ended before their caller hung up (load generator) | ${early} |`,
    `| calls that never streamed | ${r.load.neverStreamed} |`,
    `| live / reaper-watched calls after the last hangup | ${r.liveAfter} / ${r.watchedByReaperAfter} |`,
    `| gateway event-loop delay p99, median / max of samples | ${median(r.samples.map((s) => s.loopLagP99Ms))} / ${Math.max(...r.samples.map((s) => s.loopLagP99Ms))} ms |`,
    `| load average before / after | ${r.loadAvg.before.join(' ')} / ${r.loadAvg.after.join(' ')} |`,
    '',
  ].join('\n');
}
