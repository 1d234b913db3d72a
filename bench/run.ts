/**
 * `npm run bench [-- --quick] [-- --only=capacity,turn,greeting,vad,cluster,webrtc] [-- --carrier twilio|sip]`: runs the
 * figures of BENCHMARKS.md and writes bench/results/latest-<mode>[-<carrier>].json and .md. The
 * gateway, the bare relay and the load generator run as separate processes (bench/lib/ipc.ts) and all
 * speak the chosen carrier's protocol (Plivo's stream by default); this process only orchestrates.
 * Over SIP the figure is capacity (RTP calls against a bare UDP echo floor): at 100, 250 and 500 calls,
 * or 100 with --quick. The cluster figure (bench/cluster.ts: one process alone vs three behind HAProxy,
 * and the shared registry's cost per call) always speaks Plivo, needs haproxy, redis-server and PostgreSQL, and
 * writes its own bench/results/latest-cluster[-quick].json and .md. The webrtc figure (bench/webrtc.ts: browser
 * calls over WebRTC, gateway CPU and RSS per call beside a werift echo floor) writes latest-webrtc[-quick].
 *
 * `npm run bench -- --only=soak [--soak-minutes=10]` runs the soak instead (never part of the default
 * run): 200 calls with turnover for 10 minutes, written to bench/results/latest-soak.json and .md.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem, release } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { runCapacityCell, type CapacityCell, type ServerKind } from './capacity.js';
import { runGreeting, runTurnAndBargeIn, type GreetingResult, type TurnResult } from './conversation.js';
import { round } from './lib/stats.js';
import { renderSummary, evaluateTargets } from './summary.js';
import { runVadQuality, type VadQualityResult } from './vad-quality.js';
import { benchCarrier, type BenchCarrier } from './lib/bench-carrier.js';
import { renderSoak, runSoak } from './soak.js';
import { renderCluster, runClusterBench, type ClusterBenchResult } from './cluster.js';
import { renderWebRtc, runWebRtcBench } from './webrtc.js';

export interface BenchResults {
  mode: 'full' | 'quick';
  /** Whose protocol the calls spoke. */
  carrier: BenchCarrier;
  startedAt: string;
  durationSec: number;
  machine: { cpu: string; cores: number; memoryGB: number; node: string; kernel: string; loadAvgBefore: number[]; loadAvgAfter: number[] };
  capacity: CapacityCell[];
  turns: TurnResult[];
  greetings: GreetingResult[];
  vad?: VadQualityResult;
  targets: ReturnType<typeof evaluateTargets>;
  /** Seconds each figure took. */
  timings: Record<string, number>;
  errors: string[];
}

const FIGURES = ['capacity', 'turn', 'greeting', 'vad', 'cluster', 'webrtc'] as const;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      calls: { type: 'string' },
      servers: { type: 'string' },
      profile: { type: 'boolean', default: false },
      carrier: { type: 'string', default: 'plivo' },
      'soak-minutes': { type: 'string', default: '10' },
      'soak-calls': { type: 'string', default: '200' },
    }, allowPositionals: true });
  // Every benchmark process started from here reads it (bench/lib/bench-carrier.ts).
  process.env.BENCH_CARRIER = values.carrier;
  const carrier = benchCarrier();
  const quick = values.quick ?? false;
  const sip = carrier === 'sip';
  const only = new Set(values.only ? values.only.split(',') : sip ? ['capacity'] : FIGURES);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  if (only.has('soak')) {
    await soakRun({ minutes: Number(values['soak-minutes']), concurrent: Number(values['soak-calls']), carrier, log });
    only.delete('soak');
    if (only.size === 0) return;
  }
  if (only.has('cluster')) {
    await clusterRun({ quick, log });
    only.delete('cluster');
    if (only.size === 0) return;
  }
  if (only.has('webrtc')) {
    await webrtcRun({ quick, log });
    only.delete('webrtc');
    if (only.size === 0) return;
  }
  const t0 = performance.now();
  const results: BenchResults = {
    mode: quick ? 'quick' : 'full',
    carrier,
    startedAt: new Date().toISOString(),
    durationSec: 0,
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGB: round(totalmem() / 2 ** 30, 1), node: process.version, kernel: release(), loadAvgBefore: loadavg().map((l) => round(l, 2)), loadAvgAfter: [] },
    capacity: [],
    turns: [],
    greetings: [],
    targets: [],
    timings: {},
    errors: [],
  };
  const attempt = async (label: string, fn: () => Promise<void>) => {
    const started = performance.now();
    try {
      await fn();
      results.timings[label] = round((performance.now() - started) / 1000, 1);
    } catch (err) {
      const message = `${label}: ${err instanceof Error ? err.message : String(err)}`;
      results.errors.push(message);
      log(`  FAILED ${message}`);
    }
  };

  if (sip) {
    // The turn, barge-in and greeting probes time WebSocket stream messages; over SIP only capacity is measured.
    for (const figure of ['turn', 'greeting'].filter((f) => only.has(f))) {
      results.errors.push(`${figure}: not measured over SIP (its probes time stream messages); run it with --carrier plivo or twilio`);
      only.delete(figure);
    }
  }
  if (only.has('vad')) {
    log('figure 6: VAD quality');
    await attempt('vad', async () => {
      results.vad = await runVadQuality({ quick, runs: quick ? 2 : 3, log });
    });
  }
  if (only.has('greeting')) {
    log('figure 5: first greeting');
    // Quick mode leaves out the uncached greeting (it is the local TTS's speed, not the gateway's).
    for (const cached of quick ? [true] : [true, false]) {
      await attempt(`greeting ${cached ? 'cached' : 'uncached'}`, async () => {
        // 120 cached calls, so the p99 is more than the second-largest of a handful.
        results.greetings.push(await runGreeting({ cached, calls: quick ? (cached ? 3 : 2) : cached ? 120 : 30, warmup: quick ? 1 : 2, log }));
      });
    }
  }
  if (only.has('turn')) {
    log('figures 3 and 4: turn overhead and barge-in reaction');
    for (const calls of quick ? [1] : [1, 500]) {
      await attempt(`turn ${calls}`, async () => {
        results.turns.push(await runTurnAndBargeIn({ calls, probeCalls: 100, durationSec: quick ? 6 : calls === 1 ? 50 : 25, log }));
      });
    }
  }
  if (only.has('capacity')) {
    log('figures 1 and 2: capacity and floor ratio');
    const counts = values.calls ? values.calls.split(',').map(Number) : sip ? (quick ? [100] : [100, 250, 500]) : quick ? [250] : [100, 250, 500, 1000];
    for (const calls of counts) {
      const servers = (values.servers ? values.servers.split(',') : quick || sip ? ['relay', 'gateway'] : ['sink', 'relay', 'gateway']) as ServerKind[];
      for (const server of servers) {
        await attempt(`capacity ${server} ${calls}`, async () => {
          results.capacity.push(
            await runCapacityCell({
              server,
              calls,
              rampPerSec: 250,
              settleSec: quick ? 0.5 : 2,
              windows: quick ? 2 : 3,
              windowSec: quick ? 1.5 : 4,
              log,
              profileDir: values.profile ? `bench/results/profiles/${carrier === 'plivo' ? '' : `${carrier}-`}${server}-${calls}` : undefined,
            }),
          );
        });
      }
    }
  }

  results.machine.loadAvgAfter = loadavg().map((l) => round(l, 2));
  results.durationSec = round((performance.now() - t0) / 1000, 1);
  results.targets = evaluateTargets(results);
  const summary = renderSummary(results);
  await mkdir('bench/results', { recursive: true });
  const name = `bench/results/latest-${results.mode}${carrier === 'plivo' ? '' : `-${carrier}`}`;
  await writeFile(`${name}.json`, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(`${name}.md`, summary);
  log(`\n${summary}`);
  log(`wrote ${name}.json and .md in ${results.durationSec} s`);
}

/** The WebRTC figure writes its own result files: bench/results/latest-webrtc[-quick].json and .md. */
async function webrtcRun(opts: { quick: boolean; log: (line: string) => void }): Promise<void> {
  opts.log(`webrtc: browser calls (Opus and PCMU) against the gateway and the werift echo floor${opts.quick ? ' (quick)' : ''}`);
  const t0 = performance.now();
  const result = await runWebRtcBench(opts);
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGB: round(totalmem() / 2 ** 30, 1), node: process.version, kernel: release() };
  const durationSec = round((performance.now() - t0) / 1000, 1);
  await mkdir('bench/results', { recursive: true });
  const name = `bench/results/latest-webrtc${opts.quick ? '-quick' : ''}`;
  const summary = renderWebRtc(result, machine);
  await writeFile(`${name}.json`, `${JSON.stringify({ startedAt: new Date(Date.now() - durationSec * 1000).toISOString(), durationSec, machine, ...result }, null, 2)}\n`);
  await writeFile(`${name}.md`, summary);
  opts.log(`\n${summary}`);
  opts.log(`wrote ${name}.json and .md in ${durationSec} s`);
}

/** The soak runs on its own and writes its own result files (the other figures' files are left alone). */
async function soakRun(opts: { minutes: number; concurrent: number; carrier: BenchCarrier; log: (line: string) => void }): Promise<void> {
  if (!(opts.minutes > 0) || !(opts.concurrent >= 1)) throw new Error(`--soak-minutes and --soak-calls must be positive numbers, got ${opts.minutes} and ${opts.concurrent}`);
  opts.log(`soak: ${opts.concurrent} calls, ${opts.minutes} min, carrier ${opts.carrier}`);
  const result = await runSoak({ concurrent: opts.concurrent, minutes: opts.minutes, sampleEverySec: 5, log: opts.log });
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGB: round(totalmem() / 2 ** 30, 1), node: process.version, kernel: release() };
  await mkdir('bench/results', { recursive: true });
  const name = `bench/results/latest-soak${opts.carrier === 'plivo' ? '' : `-${opts.carrier}`}`;
  const summary = renderSoak(result);
  await writeFile(`${name}.json`, `${JSON.stringify({ startedAt: new Date(Date.now() - opts.minutes * 60_000).toISOString(), carrier: opts.carrier, machine, ...result }, null, 2)}\n`);
  await writeFile(`${name}.md`, summary);
  opts.log(`\n${summary}`);
  opts.log(`wrote ${name}.json and .md`);
}

/**
 * Several instances (one process alone, the shared registry, three behind HAProxy): its own result
 * files, so `--only=cluster` leaves the other figures' files alone.
 */
async function clusterRun(opts: { quick: boolean; log: (line: string) => void }): Promise<void> {
  opts.log('figure 7: several instances (one process alone, the shared registry, three behind HAProxy)');
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGB: round(totalmem() / 2 ** 30, 1), node: process.version, kernel: release(), loadAvgBefore: loadavg().map((l) => round(l, 2)) };
  const started = performance.now();
  let result: ClusterBenchResult;
  try {
    result = await runClusterBench({ runs: opts.quick ? 2 : 5, calls: opts.quick ? 60 : 200, offeredPerSec: 100, log: opts.log });
  } catch (err) {
    opts.log(`  FAILED cluster: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
    return;
  }
  await mkdir('bench/results', { recursive: true });
  const name = `bench/results/latest-cluster${opts.quick ? '-quick' : ''}`;
  const summary = renderCluster(result);
  const durationSec = round((performance.now() - started) / 1000, 1);
  await writeFile(`${name}.json`, `${JSON.stringify({ startedAt: new Date(Date.now() - durationSec * 1000).toISOString(), durationSec, machine: { ...machine, loadAvgAfter: loadavg().map((l) => round(l, 2)) }, ...result }, null, 2)}\n`);
  await writeFile(`${name}.md`, summary);
  opts.log(`\n${summary}`);
  opts.log(`wrote ${name}.json and .md in ${durationSec} s`);
}

await main();
