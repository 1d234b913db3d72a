/**
 * Figures 3, 4 and 5, timed on the wire by the load generator's probes (bench/load-generator.ts):
 * - turn overhead and barge-in reaction, from one script: the caller interrupts every prompt shortly
 *   after it starts (a barge-in sample), then falls silent, and the gateway's endpoint decision is
 *   followed by the zero-latency STT and bot and the cached answer (a turn sample);
 * - first greeting: one call at a time, greeting cached (after the first call filled the cache) or
 *   synthesized by the local TTS (cache disabled).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { BARGE_IN_BOT, BENCH_BOT, VAD_SETTINGS, dialSpec, startPair } from './capacity.js';
import type { ProbeResults } from './load-generator.js';
import type { BenchChild } from './lib/ipc.js';
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
  /** Figure 3, the gateway's own part: endpoint decision -> first playAudio written to the socket. */
  turnInGateway: LatencySummary;
  /** Figure 3 as the caller's side sees it: endpoint decision -> first playAudio received. */
  turnFromDecision: LatencySummary;
  /** The caller frame that triggers the endpoint, sent -> the decision (inbound transit and queueing). */
  frameToDecision: LatencySummary;
  /** The two together: endpoint frame sent -> first playAudio received. */
  turn: LatencySummary;
  /** Largest disagreement between the two processes' clocks seen while estimating their offset (ms). */
  clockUncertaintyMs: number;
  bargeIn: LatencySummary;
  /** Barge-in split: trigger frame sent -> clearAudio written by the gateway (inbound trip, queueing, VAD). */
  bargeInToClearSent: LatencySummary;
  /** How long WebSocketLeg.play() held the event loop per prompt (it encodes and sends the whole prompt). */
  playBlocking: LatencySummary;
  turnsUnanswered: number;
  bargeInsMissed: number;
  bargeInMinSpeechMs: number;
}

export async function runTurnAndBargeIn(opts: {
  calls: number;
  probeCalls: number;
  durationSec: number;
  log: (line: string) => void;
  noRecords?: boolean;
}): Promise<TurnResult> {
  const { loadGen, srv, urls } = await startPair('gateway', { bargeIn: true, bot: BARGE_IN_BOT, noRecords: opts.noRecords });
  try {
    // Clock offsets are estimated while both processes are idle (round trips are short), before and after.
    const before = [await clockOffset(srv), await clockOffset(loadGen)];
    const spec = dialSpec(urls, { calls: opts.calls, probeCalls: opts.probeCalls, script: 'barge-in', rampPerSec: 200 });
    const dial = await loadGen.call<{ streaming: number; failed: number }>('dial', spec);
    opts.log(`  turn/barge-in ${opts.calls} calls: ${dial.streaming} streaming, ${dial.failed} failed`);
    await sleep(opts.durationSec * 1000);
    const probes = await loadGen.call<ProbeResults>('probes');
    const { decisions, plays, clears, playBlocking } = await srv.call<
      Record<'decisions' | 'plays' | 'clears', { carrierCallId: string; at: number }[]> & { playBlocking: number[] }
    >('decisions');
    await loadGen.call('hangup-all');
    await sleep(500);
    const after = [await clockOffset(srv), await clockOffset(loadGen)];
    const gwClock = before[0].rttMs <= after[0].rttMs ? before[0] : after[0];
    const lgClock = before[1].rttMs <= after[1].rttMs ? before[1] : after[1];
    // Gateway times moved onto the load generator's clock, per call.
    const perCall = (events: { carrierCallId: string; at: number }[]) => {
      const map = new Map<string, number[]>();
      for (const e of events) {
        const list = map.get(e.carrierCallId) ?? [];
        list.push(e.at - gwClock.offset + lgClock.offset);
        map.set(e.carrierCallId, list);
      }
      return map;
    };
    const byCall = perCall(decisions);
    const playsByCall = perCall(plays);
    const clearsByCall = perCall(clears);
    const fromDecision: number[] = [];
    const toDecision: number[] = [];
    const inGateway: number[] = [];
    probes.turnMs.forEach((total, i) => {
      const received = probes.turnReceivedAt[i];
      const sent = received - total;
      // The decision this answer followed: the call's last one before the playAudio arrived.
      const candidates = (byCall.get(probes.turnCalls[i]) ?? []).filter((t) => t >= sent - 1 && t <= received + 1);
      if (!candidates.length) return;
      const decidedAt = Math.max(...candidates);
      fromDecision.push(Math.max(0, received - decidedAt));
      toDecision.push(Math.max(0, decidedAt - sent));
      const played = (playsByCall.get(probes.turnCalls[i]) ?? []).filter((t) => t >= decidedAt);
      if (played.length) inGateway.push(Math.min(...played) - decidedAt);
    });
    const toClear: number[] = [];
    probes.bargeInMs.forEach((total, i) => {
      const received = probes.bargeInReceivedAt[i];
      const sent = received - total;
      const cleared = (clearsByCall.get(probes.bargeInCalls[i]) ?? []).filter((t) => t >= sent - 1 && t <= received + 1);
      if (cleared.length) toClear.push(Math.max(0, Math.max(...cleared) - sent));
    });
    return {
      calls: opts.calls,
      probedCalls: Math.min(opts.calls, opts.probeCalls),
      durationSec: opts.durationSec,
      turnInGateway: summarize(inGateway),
      turnFromDecision: summarize(fromDecision),
      frameToDecision: summarize(toDecision),
      clockUncertaintyMs: round(gwClock.rttMs / 2 + lgClock.rttMs / 2, 3),
      turn: summarize(probes.turnMs),
      bargeIn: summarize(probes.bargeInMs),
      bargeInToClearSent: summarize(toClear),
      playBlocking: summarize(playBlocking),
      turnsUnanswered: probes.turnsUnanswered,
      bargeInsMissed: probes.bargeInsMissed,
      bargeInMinSpeechMs: VAD_SETTINGS.minSpeechMs,
    };
  } finally {
    await Promise.all([loadGen.stop(), srv.stop()]);
  }
}

/**
 * Offset of a child's clock (performance.timeOrigin + now) from this process's, from the round trip
 * with the smallest delay (NTP's rule): offset = child - midpoint, uncertain by half that round trip.
 */
async function clockOffset(child: BenchChild): Promise<{ offset: number; rttMs: number }> {
  let best = { offset: 0, rttMs: Infinity };
  for (let i = 0; i < 20; i++) {
    const t0 = performance.timeOrigin + performance.now();
    const remote = await child.call<number>('clock');
    const t1 = performance.timeOrigin + performance.now();
    if (t1 - t0 < best.rttMs) best = { offset: remote - (t0 + t1) / 2, rttMs: t1 - t0 };
  }
  return best;
}

export interface GreetingResult {
  cached: boolean;
  calls: number;
  warmupCalls: number;
  greeting: LatencySummary;
  /** Every counted call's time, in call order (where the tail falls: isolated stalls or a drift). */
  samplesMs: number[];
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
    return { cached: opts.cached, calls: counted.length, warmupCalls: opts.warmup, greeting: summarize(counted), samplesMs: counted.map((v) => round(v, 2)) };
  } finally {
    await Promise.all([loadGen.stop(), srv.stop()]);
  }
}
