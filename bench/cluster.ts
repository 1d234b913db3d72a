/**
 * `npm run bench -- --only=cluster`: what running several instances costs and brings, in one run.
 *
 * Three set-ups, each Voxgate instance a separate process running the real CLI
 * (test/support/cluster-processes.ts), each set-up on a fresh PostgreSQL database, all on a private
 * Redis server started for the benchmark (so its command counters are this benchmark's alone):
 * - single: one process on its own (cluster off: its call directory is local), carriers call it directly;
 * - single-cluster: the same process with cluster mode on (the call registry in Redis), still called
 *   directly: the difference to `single` is what the cluster plane costs a call;
 * - three-behind-haproxy: three processes in cluster mode behind a real HAProxy (test/support/haproxy.ts).
 *
 * All three run side by side and each run measures them in turn: the load of a shared machine drifts,
 * and this way every set-up sees the drift alike. A simulator per set-up (in this process) offers
 * inbound Plivo calls. A call is accepted when its caller hears the greeting's first audio: the answer
 * callback was served, the stream reached the call's owner and the conversation started; the caller
 * then hangs up. Per run: calls accepted per second in a burst (accepted / (last acceptance - first
 * offer)), acceptance latency (offer to first audio: median and p95 in the burst, median unloaded with
 * calls 250 ms apart), failures, and Redis commands per call (INFO commandstats around the burst, less
 * the idle rate of every set-up's heartbeats measured just before). Reported: medians over the runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Redis } from 'ioredis';
import { PlivoSimulator, type PlivoCall } from '../src/sim/plivo-simulator.js';
import { silentLogger } from '../src/logger.js';
import { VoxgateCluster } from '../test/support/cluster-processes.js';
import { freePort, Haproxy, haproxyProbe } from '../test/support/haproxy.js';
import { median, percentile, round } from './lib/stats.js';

export type ClusterSetup = 'single' | 'single-cluster' | 'three-behind-haproxy';
const SETUPS: ClusterSetup[] = ['single', 'single-cluster', 'three-behind-haproxy'];

export interface ClusterRun {
  /** Offer to first audio with calls spaced out (no queue): what one call costs end to end. */
  unloadedAcceptMs: number;
  offered: number;
  accepted: number;
  failed: number;
  acceptedPerSec: number;
  medianAcceptMs: number;
  p95AcceptMs: number;
  redisCommandsPerCall: number;
  /** The same by command (EVALSHA, PUBLISH, HSET...), idle rate not subtracted; commands under 0.1 per call left out. */
  redisCommandsPerCallByName: Record<string, number>;
}

export interface ClusterSetupResult extends ClusterRun {
  setup: ClusterSetup;
  processes: number;
  /** Every run's figures; the fields above are their medians. */
  runs: ClusterRun[];
}

export interface ClusterBenchResult {
  callsPerRun: number;
  offeredPerSec: number;
  runs: number;
  setups: ClusterSetupResult[];
  /** three-behind-haproxy / single, and single-cluster / single. */
  ratios: { threeVsSingleAcceptedPerSec: number; registryAcceptedPerSec: number };
  /** What the shared registry adds to each call: single-cluster less single. */
  registryOverhead: { redisCommandsPerCall: number; addedMsPerCall: number };
}

const PG_ADMIN_URL = process.env.VOXGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const AUTH_ID = 'MACLUSTERBENCH';
const AUTH_TOKEN = 'cluster-bench-plivo-token';
const NUMBER = '+14155550100';
const GREETING = 'Welcome to the cluster benchmark.';
/** The unloaded latency probe: calls far enough apart that none waits for another. */
const UNLOADED_CALLS = 15;
const UNLOADED_PER_SEC = 4;
/** A call whose greeting is not heard within this is counted as failed. */
const ACCEPT_TIMEOUT_MS = 20_000;

export async function runClusterBench(opts: { runs: number; calls: number; offeredPerSec: number; log: (line: string) => void }): Promise<ClusterBenchResult> {
  if (!haproxyProbe.available) throw new Error(`cluster: ${haproxyProbe.reason}`);
  const redis = await PrivateRedis.start();
  const running: RunningSetup[] = [];
  const runs = new Map<ClusterSetup, ClusterRun[]>(SETUPS.map((s) => [s, []]));
  try {
    for (const setup of SETUPS) running.push(await startSetup(setup, redis, opts.log));
    // Run by run, each set-up in turn: the load of a shared machine drifts, and every set-up sees the drift alike.
    for (let r = 0; r < opts.runs; r++) {
      for (const setup of running) {
        const run = await measureRun(setup, redis, opts);
        runs.get(setup.setup)!.push(run);
        opts.log(`    run ${r + 1} ${setup.setup}: unloaded accept ${run.unloadedAcceptMs} ms; burst: ${run.accepted}/${run.offered} accepted, ${run.acceptedPerSec} calls/s, accept median ${run.medianAcceptMs} ms p95 ${run.p95AcceptMs} ms, ${run.redisCommandsPerCall} Redis commands per call`);
      }
    }
  } finally {
    for (const setup of running) await setup.stop();
    await redis.stop();
  }
  const setups = SETUPS.map((setup) => summarize(setup, running.find((r) => r.setup === setup)!.processes, opts.calls, runs.get(setup)!));
  const by = (s: ClusterSetup) => setups.find((r) => r.setup === s)!;
  const single = by('single');
  const registry = by('single-cluster');
  return {
    callsPerRun: opts.calls,
    offeredPerSec: opts.offeredPerSec,
    runs: opts.runs,
    setups,
    ratios: {
      threeVsSingleAcceptedPerSec: round(by('three-behind-haproxy').acceptedPerSec / single.acceptedPerSec, 2),
      registryAcceptedPerSec: round(registry.acceptedPerSec / single.acceptedPerSec, 2),
    },
    registryOverhead: {
      redisCommandsPerCall: round(registry.redisCommandsPerCall - single.redisCommandsPerCall, 1),
      addedMsPerCall: round(registry.unloadedAcceptMs - single.unloadedAcceptMs, 1),
    },
  };
}

interface RunningSetup {
  setup: ClusterSetup;
  processes: number;
  sim: PlivoSimulator;
  stop(): Promise<void>;
}

/** Starts one set-up's processes (and HAProxy), points a simulator of its own at it and warms it up. */
async function startSetup(setup: ClusterSetup, redis: PrivateRedis, log: (line: string) => void): Promise<RunningSetup> {
  const ids = setup === 'three-behind-haproxy' ? ['bench-a', 'bench-b', 'bench-c'] : ['bench-a'];
  log(`  cluster: starting ${setup} (${ids.length} process${ids.length > 1 ? 'es' : ''})`);
  const sim = new PlivoSimulator({ authId: AUTH_ID, authToken: AUTH_TOKEN, logger: silentLogger() });
  const { restBaseUrl } = await sim.listen();
  const db = await ScratchDatabase.create();
  const behindHaproxy = setup === 'three-behind-haproxy';
  const publicPort = behindHaproxy ? await freePort() : undefined;
  let cluster: VoxgateCluster | undefined;
  let haproxy: Haproxy | undefined;
  const stop = async () => {
    await sim.close().catch(() => undefined);
    await haproxy?.stop();
    await cluster?.close();
    await db.drop();
  };
  try {
    cluster = await VoxgateCluster.start({
      ids,
      cluster: setup !== 'single',
      publicUrl: publicPort ? `http://127.0.0.1:${publicPort}` : undefined,
      databaseUrl: db.url,
      redisUrl: redis.url,
      keyPrefix: `bench-${randomBytes(4).toString('hex')}`,
      config: {
        carriers: { plivo: { authId: AUTH_ID, authToken: AUTH_TOKEN, apiBaseUrl: restBaseUrl } },
        bots: [
          {
            name: 'bench',
            type: 'flow',
            flow: { name: 'bench', language: 'en-US', start: 'hi', steps: { hi: { collect: { prompt: GREETING, maxDigits: 1, timeoutMs: 60_000, branches: { '1': 'bye' }, noMatch: 'bye', timeout: 'bye' } }, bye: { say: 'Goodbye.', hangup: 'completed' } } },
          },
        ],
        routes: [{ number: '*', bot: 'bench' }],
        // The simulator is the carrier's servers: bursts from one address are its traffic, not an attack.
        server: { connections: { exemptSources: ['127.0.0.1'] } },
      },
    });
    let target = cluster.instances[0].url;
    if (behindHaproxy) {
      haproxy = await Haproxy.start({ port: publicPort, servers: cluster.instances.map((i) => ({ id: i.id, port: i.port })) });
      for (const i of cluster.instances) await haproxy.waitForServerState(i.id, 'UP');
      target = haproxy.url;
    }
    sim.addNumber(NUMBER, { answerUrl: `${target}/plivo/answer`, hangupUrl: `${target}/plivo/hangup` });
    // Every instance synthesizes and caches the greeting, and its hot paths are compiled, before anything is timed.
    await offerBurst(sim, ids.length * 10, 20);
    return { setup, processes: ids.length, sim, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** One run: the unloaded latency probe, then the burst with Redis's counters read around it. */
async function measureRun(setup: RunningSetup, redis: PrivateRedis, opts: { calls: number; offeredPerSec: number }): Promise<ClusterRun> {
  const unloaded = await offerBurst(setup.sim, UNLOADED_CALLS, UNLOADED_PER_SEC);
  // Every set-up's processes are up: their heartbeats are the idle rate, taken out of the count.
  const idlePerMs = await redis.idleRate(1500);
  const before = await redis.commandsByName();
  const startedAt = performance.now();
  const burst = await offerBurst(setup.sim, opts.calls, opts.offeredPerSec);
  const after = await redis.commandsByName();
  const elapsedMs = performance.now() - startedAt;
  const used = total(after) - total(before) - idlePerMs * elapsedMs;
  const byName: Record<string, number> = {};
  for (const [name, count] of after) {
    const perCall = round((count - (before.get(name) ?? 0)) / opts.calls, 1);
    if (perCall >= 0.1 && name !== 'info') byName[name] = perCall;
  }
  return {
    unloadedAcceptMs: unloaded.medianAcceptMs,
    ...burst,
    failed: burst.failed + unloaded.failed,
    redisCommandsPerCall: round(Math.max(0, used) / opts.calls, 1),
    redisCommandsPerCallByName: byName,
  };
}

function summarize(setup: ClusterSetup, processes: number, calls: number, runs: ClusterRun[]): ClusterSetupResult {
  const pick = (f: (r: ClusterRun) => number) => round(median(runs.map(f)), 1);
  return {
    setup,
    processes,
    unloadedAcceptMs: pick((r) => r.unloadedAcceptMs),
    offered: calls,
    accepted: pick((r) => r.accepted),
    failed: pick((r) => r.failed),
    acceptedPerSec: pick((r) => r.acceptedPerSec),
    medianAcceptMs: pick((r) => r.medianAcceptMs),
    p95AcceptMs: pick((r) => r.p95AcceptMs),
    redisCommandsPerCall: pick((r) => r.redisCommandsPerCall),
    redisCommandsPerCallByName: runs[runs.length - 1].redisCommandsPerCallByName,
    runs,
  };
}

/** Offers `calls` inbound calls at `perSec`; each caller hangs up as soon as it hears the greeting. */
async function offerBurst(sim: PlivoSimulator, calls: number, perSec: number): Promise<Omit<ClusterRun, 'redisCommandsPerCall' | 'redisCommandsPerCallByName' | 'unloadedAcceptMs'>> {
  const firstOffer = performance.now();
  const accepts: number[] = [];
  let lastAccept = firstOffer;
  const ended: Promise<unknown>[] = [];
  for (let i = 0; i < calls; i++) {
    const due = firstOffer + (i * 1000) / perSec;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const offeredAt = performance.now();
    const call: PlivoCall = sim.dialInbound({ from: `+1415558${String(i).padStart(4, '0')}`, to: NUMBER, script: { recordHeard: false, hangupAfterSec: ACCEPT_TIMEOUT_MS / 1000 } });
    call.once('heard-audio-start', () => {
      const now = performance.now();
      accepts.push(now - offeredAt);
      lastAccept = Math.max(lastAccept, now);
      call.party.hangUp();
    });
    ended.push(call.ended);
  }
  await Promise.all(ended);
  const seconds = (lastAccept - firstOffer) / 1000;
  return {
    offered: calls,
    accepted: accepts.length,
    failed: calls - accepts.length,
    acceptedPerSec: round(accepts.length / seconds, 1),
    medianAcceptMs: round(median(accepts), 1),
    p95AcceptMs: round(percentile(accepts, 95), 1),
  };
}

/** A redis-server of the benchmark's own on a free loopback port: its counters count this benchmark only. */
class PrivateRedis {
  private constructor(
    private readonly child: ChildProcess,
    private readonly client: Redis,
    readonly url: string,
  ) {}

  static async start(): Promise<PrivateRedis> {
    const port = await freePort();
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    let spawnError: Error | undefined;
    child.once('error', (err) => (spawnError = err));
    const url = `redis://127.0.0.1:${port}`;
    const deadline = performance.now() + 10_000;
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    for (;;) {
      try {
        await client.connect();
        await client.ping();
        return new PrivateRedis(child, client, url);
      } catch (err) {
        if (spawnError || child.exitCode !== null || performance.now() > deadline) {
          child.kill('SIGKILL');
          client.disconnect();
          throw new Error(`cluster: redis-server did not start on port ${port} (${(spawnError ?? (err as Error)).message})`);
        }
        client.disconnect();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** Commands the server has run since it started, by command name (INFO commandstats). */
  async commandsByName(): Promise<Map<string, number>> {
    const info = await this.client.info('commandstats');
    const counts = new Map<string, number>();
    for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) counts.set(match[1], Number(match[2]));
    return counts;
  }

  /** Every command the server has run since it started. */
  async commands(): Promise<number> {
    return total(await this.commandsByName());
  }

  /** Commands per ms while no call runs (the instances' heartbeats and polls). */
  async idleRate(sampleMs: number): Promise<number> {
    const before = await this.commands();
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, sampleMs));
    // Less the INFO the sample itself sent.
    return Math.max(0, (await this.commands()) - before - 1) / (performance.now() - started);
  }

  async stop(): Promise<void> {
    this.client.disconnect();
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    await gone;
  }
}

function total(counts: Map<string, number>): number {
  let sum = 0;
  for (const count of counts.values()) sum += count;
  return sum;
}

/** A fresh PostgreSQL database for one set-up, dropped afterwards. */
class ScratchDatabase {
  private constructor(
    readonly url: string,
    private readonly name: string,
  ) {}

  static async create(): Promise<ScratchDatabase> {
    const name = `voxgate_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
    await ScratchDatabase.admin(`create database ${name}`);
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${name}`;
    return new ScratchDatabase(url.toString(), name);
  }

  drop(): Promise<void> {
    return ScratchDatabase.admin(`drop database if exists ${this.name} with (force)`);
  }

  private static async admin(statement: string): Promise<void> {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  }
}

export function renderCluster(result: ClusterBenchResult): string {
  const rows = result.setups.map(
    (s) => `| ${s.setup} | ${s.processes} | ${s.acceptedPerSec} | ${s.medianAcceptMs} | ${s.p95AcceptMs} | ${s.unloadedAcceptMs} | ${s.failed} | ${s.redisCommandsPerCall} |`,
  );
  return [
    `### Several instances (${result.callsPerRun} calls offered at ${result.offeredPerSec}/s, median of ${result.runs} runs)`,
    '',
    '| set-up | processes | calls accepted /s | accept median, burst (ms) | accept p95, burst (ms) | accept median, unloaded (ms) | failed | Redis commands per call |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    ...result.setups.map((s) => `Redis commands per call by name, ${s.setup} (last run, every set-up's heartbeats included): ${Object.entries(s.redisCommandsPerCallByName).map(([name, n]) => `${name} ${n}`).join(', ') || 'none'}.`),
    '',
    `Three processes behind HAProxy vs one alone: ${result.ratios.threeVsSingleAcceptedPerSec}x the calls accepted per second. ` +
      `The shared registry (one process, cluster on vs off): ${result.ratios.registryAcceptedPerSec}x the calls per second, ` +
      `${result.registryOverhead.redisCommandsPerCall} Redis commands and ${result.registryOverhead.addedMsPerCall} ms added per call.`,
    '',
  ].join('\n');
}
