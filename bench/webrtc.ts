/**
 * `npm run bench -- --only=webrtc [--quick]`: what a browser call costs the gateway.
 *
 * N concurrent browser-style calls (werift callers in a load-generator process, bench/webrtc-load.ts)
 * talk to Voxgate in its own process (bench/webrtc-servers.ts gateway: the webrtc carrier, a flow bot
 * that speaks without pause, VAD, records) and, in the same run, to the floor: the same WebRTC stack
 * answering the same offers and echoing the RTP back, with nothing behind it (webrtc-servers.ts floor).
 * For Opus and PCMU at 10, 25 and 50 calls (10 with --quick): the server's CPU over a steady window
 * (user + system, % of one core per call) and its RSS growth per call (after a full GC, against the same
 * process idle before the calls), medians over the runs. Gateway minus floor is what Voxgate adds to
 * werift's ICE/DTLS/SRTP: codecs, VAD, sessions, playout, records.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchChild } from './lib/ipc.js';
import type { CpuWindowResult, MemorySnapshot } from './lib/process-probe.js';
import { median, round } from './lib/stats.js';

export const BENCH_TOKEN = 'bench-static-token';
export const BENCH_BOT = 'talker';

/** What a server process (bench/webrtc-servers.ts) tells the orchestrator once it listens. */
export interface ServerReady {
  baseUrl: string;
}

type Codec = 'opus' | 'PCMU';
type Target = 'gateway' | 'floor';

export interface WebRtcCell {
  codec: Codec;
  calls: number;
  target: Target;
  /** Medians over the runs. */
  cpuPercentPerCall: number;
  rssMBPerCall: number;
  cpuPercentTotal: number;
  loopDelayP99Ms: number;
  runs: { cpuPercentTotal: number; rssMBPerCall: number; loopDelayP99Ms: number }[];
}

export interface WebRtcBenchResult {
  windowSec: number;
  runs: number;
  cells: WebRtcCell[];
}

const SETTLE_MS = 3000;

export async function runWebRtcBench(opts: { quick: boolean; log: (line: string) => void }): Promise<WebRtcBenchResult> {
  const sizes = opts.quick ? [10] : [10, 25, 50];
  const runs = opts.quick ? 1 : 2;
  const windowSec = opts.quick ? 5 : 6;
  const script = new URL('./webrtc-servers.ts', import.meta.url).pathname;
  const servers: Record<Target, BenchChild<ServerReady>> = {
    gateway: new BenchChild<ServerReady>('webrtc gateway', script, { args: ['gateway'] }),
    floor: new BenchChild<ServerReady>('webrtc floor', script, { args: ['floor'] }),
  };
  const load = new BenchChild('webrtc load generator', new URL('./webrtc-load.ts', import.meta.url).pathname);
  try {
    const urls = { gateway: (await servers.gateway.ready).baseUrl, floor: (await servers.floor.ready).baseUrl };
    await load.ready;
    const cells: WebRtcCell[] = [];
    for (const codec of ['opus', 'PCMU'] as const) {
      for (const calls of sizes) {
        const byTarget: Record<Target, WebRtcCell['runs']> = { gateway: [], floor: [] };
        for (let run = 0; run < runs; run++) {
          // Both targets in every run, one after the other: drift in the machine's load hits both alike.
          for (const target of ['gateway', 'floor'] as const) {
            const server = servers[target];
            const idle = await server.call<MemorySnapshot>('memory');
            const placed = await load.call<number>('place', { baseUrl: urls[target], token: BENCH_TOKEN, bot: BENCH_BOT, codec, calls });
            if (placed !== calls) throw new Error(`${target}: ${placed} of ${calls} calls connected`);
            await sleep(SETTLE_MS); // the greeting's TTS and the first prompts are start-up, not the steady state
            await server.call('measure-start');
            await sleep(windowSec * 1000);
            const cpu = await server.call<CpuWindowResult>('measure-stop');
            const busy = await server.call<MemorySnapshot>('memory');
            await load.call('hangup-all');
            const live = await waitForNoCalls(server);
            if (live > 0) opts.log(`  ${target}: ${live} calls still live after hang-up`);
            const sample = { cpuPercentTotal: round(cpu.cpuFraction * 100, 1), rssMBPerCall: round((busy.rssMB - idle.rssMB) / calls, 2), loopDelayP99Ms: round(cpu.loopDelayP99Ms, 1) };
            byTarget[target].push(sample);
            opts.log(`  ${codec} ${calls} calls, ${target}, run ${run + 1}: CPU ${sample.cpuPercentTotal}% (${round(sample.cpuPercentTotal / calls, 2)}% per call), RSS +${sample.rssMBPerCall} MB per call, loop delay p99 ${sample.loopDelayP99Ms} ms`);
          }
        }
        for (const target of ['gateway', 'floor'] as const) {
          const samples = byTarget[target];
          const cpuTotal = median(samples.map((s) => s.cpuPercentTotal));
          cells.push({
            codec,
            calls,
            target,
            cpuPercentTotal: round(cpuTotal, 1),
            cpuPercentPerCall: round(cpuTotal / calls, 2),
            rssMBPerCall: round(median(samples.map((s) => s.rssMBPerCall)), 2),
            loopDelayP99Ms: round(median(samples.map((s) => s.loopDelayP99Ms)), 1),
            runs: samples,
          });
        }
      }
    }
    return { windowSec, runs, cells };
  } finally {
    await Promise.all([load.stop(), servers.gateway.stop(), servers.floor.stop()]);
  }
}

/** Waits (up to 10 s) until the server has no live call; returns how many are left. */
async function waitForNoCalls(server: BenchChild<ServerReady>): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const live = await server.call<number>('live-calls');
    if (live === 0) return 0;
    await sleep(100);
  }
  return server.call<number>('live-calls');
}

export function renderWebRtc(result: WebRtcBenchResult, machine: { cpu: string; cores: number; node: string }): string {
  const lines = [
    '# WebRTC browser calls: gateway cost per call',
    '',
    `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}. Steady window ${result.windowSec} s, medians of ${result.runs} run(s).`,
    '',
    '| codec | calls | gateway CPU % of a core per call | floor CPU % per call | Voxgate beyond the floor | gateway RSS MB per call | floor RSS MB per call | gateway loop delay p99 ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const g of result.cells.filter((c) => c.target === 'gateway')) {
    const f = result.cells.find((c) => c.target === 'floor' && c.codec === g.codec && c.calls === g.calls)!;
    lines.push(`| ${g.codec} | ${g.calls} | ${g.cpuPercentPerCall} | ${f.cpuPercentPerCall} | ${round(g.cpuPercentPerCall - f.cpuPercentPerCall, 2)} | ${g.rssMBPerCall} | ${f.rssMBPerCall} | ${g.loopDelayP99Ms} |`);
  }
  lines.push('', 'Floor: the same werift stack and offer handling echoing each call\'s RTP, nothing behind it. Gateway: Voxgate with the webrtc carrier, a flow bot speaking without pause (TTS cached), VAD, records; callers send 20 ms of silence every 20 ms.');
  return `${lines.join('\n')}\n`;
}
