/**
 * Figures 3, 4 and 5, timed on the wire by the load generator's probes (bench/load-generator.ts):
 * - turn overhead and barge-in reaction, from one script: the caller interrupts every prompt shortly
 *   after it starts (a barge-in sample), then falls silent, and the gateway's endpoint decision is
 *   followed by the zero-latency STT and bot and the cached answer (a turn sample);
 * - first greeting: one call at a time, greeting cached (after the first call filled the cache) or
 *   synthesized by the local TTS (cache disabled).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BARGE_IN_BOT, BENCH_BOT, VAD_SETTINGS, dialSpec, startPair } from './capacity.js';
import type { ProbeResults } from './load-generator.js';
import { percentile, round } from './lib/stats.js';

export interface LatencySummary {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function summarize(values: number[]): LatencySummary {
  return { samples: values.length, p50Ms: round(percentile(values, 50), 2), p99Ms: round(percentile(values, 99), 2), maxMs: round(values.length ? Math.max(...values) : NaN, 2) };
}

export interface TurnResult {
  calls: number;
  probedCalls: number;
  durationSec: number;
  turn: LatencySummary;
  bargeIn: LatencySummary;
  turnsUnanswered: number;
  bargeInsMissed: number;
  bargeInMinSpeechMs: number;
}

export async function runTurnAndBargeIn(opts: { calls: number; probeCalls: number; durationSec: number; log: (line: string) => void }): Promise<TurnResult> {
  const { loadGen, srv, urls } = await startPair('gateway', { bargeIn: true, bot: BARGE_IN_BOT });
  try {
    const spec = dialSpec(urls, { calls: opts.calls, probeCalls: opts.probeCalls, script: 'barge-in', rampPerSec: 200 });
    const dial = await loadGen.call<{ streaming: number; failed: number }>('dial', spec);
    opts.log(`  turn/barge-in ${opts.calls} calls: ${dial.streaming} streaming, ${dial.failed} failed`);
    await sleep(opts.durationSec * 1000);
    const probes = await loadGen.call<ProbeResults>('probes');
    await loadGen.call('hangup-all');
    return {
      calls: opts.calls,
      probedCalls: Math.min(opts.calls, opts.probeCalls),
      durationSec: opts.durationSec,
      turn: summarize(probes.turnMs),
      bargeIn: summarize(probes.bargeInMs),
      turnsUnanswered: probes.turnsUnanswered,
      bargeInsMissed: probes.bargeInsMissed,
      bargeInMinSpeechMs: VAD_SETTINGS.minSpeechMs,
    };
  } finally {
    await Promise.all([loadGen.stop(), srv.stop()]);
  }
}

export interface GreetingResult {
  cached: boolean;
  calls: number;
  warmupCalls: number;
  greeting: LatencySummary;
}

/** Calls placed one at a time (each hangs up after `holdSec`); the first `warmup` are not counted. */
export async function runGreeting(opts: { cached: boolean; calls: number; warmup: number; log: (line: string) => void }): Promise<GreetingResult> {
  const { loadGen, srv, urls } = await startPair('gateway', { ttsCache: opts.cached, bot: BENCH_BOT });
  try {
    const holdSec = 0.8;
    for (let i = 0; i < opts.calls + opts.warmup; i++) {
      await loadGen.call('dial', dialSpec(urls, { calls: 1, probeCalls: 1, script: 'greeting-only', scriptSec: holdSec }));
      // The scripted hangup ends the call; wait for it so calls never overlap.
      await sleep(holdSec * 1000 + 150);
    }
    const probes = await loadGen.call<ProbeResults>('probes');
    const counted = probes.greetingMs.slice(opts.warmup);
    opts.log(`  greeting ${opts.cached ? 'cached' : 'uncached'}: ${counted.length} calls, p50 ${round(percentile(counted, 50), 2)} ms`);
    return { cached: opts.cached, calls: counted.length, warmupCalls: opts.warmup, greeting: summarize(counted) };
  } finally {
    await Promise.all([loadGen.stop(), srv.stop()]);
  }
}
