/**
 * Figures 1 and 2: N concurrent calls against the gateway, and the same load against the bare relay.
 * For each (server, N): fresh server and load-generator processes; ramp the calls up; let them settle;
 * then `windows` back-to-back measurement windows (the figure is the median over windows). Memory per
 * call is the server's RSS (and JS heap) growth after a full GC, from before the first call to N
 * calls up. Lost frames: caller frames the simulator sent that never reached the server's media
 * handling, over the whole run.
 *
 * Over SIP (RTP both ways) the cell also has the server's send jitter as the load generator receives
 * its packets (how far each arrival strays from 20 ms per sequence step; the floor is a bare UDP echo)
 * and the packets lost each way, from RTP sequence numbers: on the way to the server (counted by the
 * server's RTP sessions, or the floor) and on the way back (counted by the simulated phones).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchChild } from './lib/ipc.js';
import type { CpuWindowResult, MemorySnapshot } from './lib/process-probe.js';
import { LatencyHistogram, median, round } from './lib/stats.js';
import type { DialSpec } from './load-generator.js';
import type { GatewayBenchOptions } from './gateway-server.js';
import type { BenchCarrier } from './lib/bench-carrier.js';

/**
 * relay: parses every frame and echoes one back (figure 2's floor); sink: parses only (a stricter
 * floor); gateway-bare: the gateway without its control plane's listeners and timers (what metrics,
 * alarms, campaign and outbox polls cost, measured beside the gateway as deployed).
 */
export type ServerKind = 'gateway' | 'gateway-bare' | 'relay' | 'sink';

export const BENCH_BOT = {
  greeting: 'Hello, thank you for calling. How can I help you today?',
  answers: ['Sure, let me look that up for you.', 'I can help with that. One moment please.', 'Thanks. Is there anything else?'],
};
/** Long prompts for the barge-in figure: the caller interrupts 1.5 s into each. */
export const BARGE_IN_BOT = {
  greeting:
    'Hello, and thank you for calling the Voxgate benchmark line. Please listen carefully, as our menu options have changed recently, and we want to help you as quickly as possible.',
  answers: [
    'Thank you. I am looking up your account now, which may take a moment, so please stay on the line while I check the details of your most recent order and its delivery status.',
    'I understand. Let me explain the options that are available to you today, starting with the most common ones that our callers choose when they have a question like yours.',
  ],
};
export const VAD_SETTINGS = { minSpeechMs: 200, silenceMs: 700 };

interface LoadGenReady {
  restBaseUrl: string;
  carrier: BenchCarrier;
}

interface ServerWindow {
  cpu: CpuWindowResult;
  /** Gateway only: events published on the bus in the window and the time their subscribers took, by type. */
  bus?: Record<string, { events: number; ms: number }>;
  frames: number;
  lateFrames: number;
  lateness: { buckets: [number, number][]; maxMs: number };
}

interface LoadGenWindow {
  cpu: CpuWindowResult;
  /** SIP: |arrival gap - 20 ms per sequence step| of the server's RTP packets, and how many were timed. */
  rtp?: { jitter: { buckets: [number, number][]; maxMs: number }; packets: number };
  liveCalls: number;
  framesSent: number;
  playFramesReceived: number;
  playFramesPlayed: number;
  sendLatenessP50Ms: number;
  sendLatenessP99Ms: number;
  sendLatenessMaxMs: number;
  tickLatenessP99Ms: number;
}

export interface CapacityCell {
  /** Whose stream protocol the calls spoke. */
  carrier: BenchCarrier;
  server: ServerKind;
  calls: number;
  streaming: number;
  windows: number;
  windowSec: number;
  /** Median over windows. */
  cpuFraction: number;
  cpuFractionPerWindow: number[];
  /** Share of that CPU spent in the kernel (socket reads and writes on loopback). */
  systemShare: number;
  elu: number;
  loopDelayP99Ms: number;
  rssMB: number;
  rssPerCallKB: number;
  heapPerCallKB: number;
  /** Caller frames: arrival lateness at the server against their 20 ms schedule (all windows). */
  arrivalP50Ms: number;
  arrivalP99Ms: number;
  arrivalMaxMs: number;
  lateFrames: number;
  framesInWindows: number;
  /** Over the whole run: sent by the simulator minus handled by the server. */
  framesSent: number;
  framesLost: number;
  /** The simulator's own send lateness (load-generator health). */
  simSendP50Ms: number;
  simSendP99Ms: number;
  loadGenCpuFraction: number;
  /** Gateway only, over all windows: bus events per second and the share of one core their subscribers took. */
  busEventsPerSec?: number;
  busCoreShare?: number;
  /** Per event type: events/s and mean µs in subscribers. */
  busByType?: Record<string, { perSec: number; meanUs: number }>;
  playFramesReceived: number;
  protocolErrors: number;
  problems: Record<string, number>;
  /** SIP only. */
  rtp?: RtpFigures;
}

/** A SIP cell's RTP figures. Send jitter over the windows; packets over the whole run. */
export interface RtpFigures {
  /** |arrival gap - 20 ms x sequence step| of the server's packets at the load generator. */
  sendJitterP50Ms: number;
  sendJitterP99Ms: number;
  sendJitterMaxMs: number;
  jitterSamples: number;
  /** Sent by the simulated phones; received and lost (sequence gaps) at the server. */
  sentToServer: number;
  receivedByServer: number;
  lostToServer: number;
  /** Sent by the server; received and lost (sequence gaps) at the simulated phones. */
  sentByServer: number;
  receivedFromServer: number;
  lostFromServer: number;
}

interface RtpCounters {
  packetsSent: number;
  packetsReceived: number;
  packetsLost: number;
}

export interface CapacityOptions {
  server: ServerKind;
  calls: number;
  rampPerSec: number;
  settleSec: number;
  windows: number;
  windowSec: number;
  log: (line: string) => void;
  /** Profile one extra steady-state window of the server and the load generator (inspector CPU profiles) into this directory. */
  profileDir?: string;
}

function gatewayOptions(lg: LoadGenReady, bot: typeof BENCH_BOT, extra: Partial<GatewayBenchOptions> = {}): GatewayBenchOptions {
  return {
    carrierApiBaseUrl: lg.restBaseUrl,
    ttsCache: true,
    bargeIn: false,
    bargeInMinSpeechMs: VAD_SETTINGS.minSpeechMs,
    vadSilenceMs: VAD_SETTINGS.silenceMs,
    bot,
    ...extra,
  };
}

/** Where the load generator calls the server: its answering and end-of-call webhooks, or (SIP) its SIP URI. */
export interface ServerUrls {
  answerUrl: string;
  hangupUrl: string;
  sipUri?: string;
  /** The gateway's own base URL (its /metrics), when the server is the gateway. */
  gatewayUrl?: string;
}

/** Starts a load generator and a server wired to each other. */
export async function startPair(
  server: ServerKind,
  gatewayExtra: Partial<GatewayBenchOptions> & { bot?: typeof BENCH_BOT } = {},
): Promise<{ loadGen: BenchChild<LoadGenReady>; srv: BenchChild; urls: ServerUrls }> {
  const loadGen = new BenchChild<LoadGenReady>('load generator', 'bench/load-generator.ts');
  const isGateway = server === 'gateway' || server === 'gateway-bare';
  const srv = new BenchChild(server, isGateway ? 'bench/gateway-server.ts' : 'bench/bare-relay-server.ts');
  try {
    const lg = await loadGen.ready;
    await srv.ready;
    const startArgs = isGateway ? gatewayOptions(lg, gatewayExtra.bot ?? BENCH_BOT, { bareControlPlane: server === 'gateway-bare', ...gatewayExtra }) : { echo: server === 'relay' };
    const urls = await srv.call<ServerUrls>('start', startArgs);
    return { loadGen, srv, urls };
  } catch (err) {
    await Promise.all([loadGen.stop(), srv.stop()]);
    throw err;
  }
}

export function dialSpec(urls: ServerUrls, over: Partial<DialSpec> & { calls: number }): DialSpec {
  return {
    ...urls,
    rampPerSec: 200,
    script: 'conversation',
    scriptSec: 600,
    probeCalls: 0,
    vad: VAD_SETTINGS,
    greetingSec: 3.5,
    answerSec: 2.5,
    ...over,
  };
}

/** The bus's share of the gateway over the measured windows: events per second, and the time their subscribers took. */
function busFigures(windows: ServerWindow[], seconds: number): Pick<CapacityCell, 'busEventsPerSec' | 'busCoreShare' | 'busByType'> {
  if (!windows.some((w) => w.bus)) return {};
  const byType = new Map<string, { events: number; ms: number }>();
  for (const w of windows) {
    for (const [type, v] of Object.entries(w.bus ?? {})) {
      const sum = byType.get(type) ?? { events: 0, ms: 0 };
      sum.events += v.events;
      sum.ms += v.ms;
      byType.set(type, sum);
    }
  }
  const events = [...byType.values()].reduce((n, v) => n + v.events, 0);
  const ms = [...byType.values()].reduce((n, v) => n + v.ms, 0);
  return {
    busEventsPerSec: round(events / seconds, 1),
    busCoreShare: round(ms / 1000 / seconds, 5),
    busByType: Object.fromEntries([...byType].map(([type, v]) => [type, { perSec: round(v.events / seconds, 1), meanUs: round((v.ms * 1000) / Math.max(1, v.events), 1) }])),
  };
}

export async function runCapacityCell(opts: CapacityOptions): Promise<CapacityCell> {
  const { server, calls, log } = opts;
  const { loadGen, srv, urls } = await startPair(server);
  try {
    const memBefore = await srv.call<MemorySnapshot>('memory');
    const dial = await loadGen.call<{ streaming: number; failed: number; rampMs: number }>('dial', dialSpec(urls, { calls, rampPerSec: opts.rampPerSec }));
    log(`  ${server} ${calls} calls: ${dial.streaming} streaming, ${dial.failed} failed, ramp ${round(dial.rampMs / 1000, 1)} s`);
    await sleep(opts.settleSec * 1000);
    const serverWindows: ServerWindow[] = [];
    const loadWindows: LoadGenWindow[] = [];
    const lateness = new LatencyHistogram();
    const sendJitter = new LatencyHistogram();
    for (let w = 0; w < opts.windows; w++) {
      await Promise.all([srv.call('measure-start'), loadGen.call('measure-start')]);
      await sleep(opts.windowSec * 1000);
      const [s, l] = await Promise.all([srv.call<ServerWindow>('measure-stop'), loadGen.call<LoadGenWindow>('measure-stop')]);
      serverWindows.push(s);
      loadWindows.push(l);
      lateness.merge(s.lateness);
      const windowLateness = new LatencyHistogram();
      windowLateness.merge(s.lateness);
      let rtpNote = '';
      if (l.rtp) {
        sendJitter.merge(l.rtp.jitter);
        const windowJitter = new LatencyHistogram();
        windowJitter.merge(l.rtp.jitter);
        rtpNote = `, RTP send jitter p99 ${windowJitter.percentile(99)} ms (${l.rtp.packets} packets)`;
      }
      log(
        `    window ${w + 1}: ${server} cpu ${round(s.cpu.cpuFraction, 3)} elu ${round(s.cpu.elu, 3)}, arrival p99 ${windowLateness.percentile(99)} ms, late ${s.lateFrames}/${s.frames}; load-gen cpu ${round(l.cpu.cpuFraction, 3)}${rtpNote}`,
      );
    }
    if (opts.profileDir) {
      // One more window, profiled; not part of the figures (the profiler itself costs CPU).
      await Promise.all([srv.call('profile-start'), loadGen.call('profile-start')]);
      await sleep(opts.windowSec * 1000);
      await Promise.all([srv.call('profile-stop', `${opts.profileDir}/${server}.cpuprofile`), loadGen.call('profile-stop', `${opts.profileDir}/load-generator.cpuprofile`)]);
    }
    const memAt = await srv.call<MemorySnapshot>('memory');
    await loadGen.call('hangup-all');
    // Let the server read the last frames and closes before counting.
    await sleep(1000);
    const [lgTotals, srvTotals] = await Promise.all([
      loadGen.call<{ framesSent: number; playFramesReceived: number; protocolErrors: number; rtp?: RtpCounters }>('totals'),
      srv.call<{ framesReceived: number; logProblems?: Record<string, number>; rtp?: RtpCounters }>('totals'),
    ]);
    const rtp = lgTotals.rtp && srvTotals.rtp ? rtpFigures(sendJitter, lgTotals.rtp, srvTotals.rtp) : undefined;
    const cpuPerWindow = serverWindows.map((s) => round(s.cpu.cpuFraction, 4));
    return {
      carrier: (await loadGen.ready).carrier,
      server,
      calls,
      streaming: dial.streaming,
      windows: opts.windows,
      windowSec: opts.windowSec,
      cpuFraction: round(median(cpuPerWindow), 4),
      cpuFractionPerWindow: cpuPerWindow,
      systemShare: round(median(serverWindows.map((s) => s.cpu.systemMs / (s.cpu.userMs + s.cpu.systemMs))), 3),
      elu: round(median(serverWindows.map((s) => s.cpu.elu)), 4),
      loopDelayP99Ms: round(median(serverWindows.map((s) => s.cpu.loopDelayP99Ms)), 2),
      rssMB: round(memAt.rssMB, 1),
      rssPerCallKB: round(((memAt.rssMB - memBefore.rssMB) * 1024) / calls, 1),
      heapPerCallKB: round(((memAt.heapUsedMB - memBefore.heapUsedMB) * 1024) / calls, 1),
      arrivalP50Ms: lateness.percentile(50),
      arrivalP99Ms: lateness.percentile(99),
      arrivalMaxMs: round(lateness.maxMs, 2),
      lateFrames: serverWindows.reduce((n, s) => n + s.lateFrames, 0),
      framesInWindows: serverWindows.reduce((n, s) => n + s.frames, 0),
      // Over SIP the server's frames are paced by its own jitter buffer: packets tell what was lost.
      framesSent: rtp ? rtp.sentToServer : lgTotals.framesSent,
      framesLost: rtp ? rtp.lostToServer : lgTotals.framesSent - srvTotals.framesReceived,
      simSendP50Ms: median(loadWindows.map((l) => l.sendLatenessP50Ms)),
      simSendP99Ms: median(loadWindows.map((l) => l.sendLatenessP99Ms)),
      loadGenCpuFraction: round(median(loadWindows.map((l) => l.cpu.cpuFraction)), 4),
      ...busFigures(serverWindows, opts.windows * opts.windowSec),
      playFramesReceived: lgTotals.playFramesReceived,
      protocolErrors: lgTotals.protocolErrors,
      problems: srvTotals.logProblems ?? {},
      ...(rtp ? { rtp } : {}),
    };
  } finally {
    await Promise.all([loadGen.stop(), srv.stop()]);
  }
}

function rtpFigures(sendJitter: LatencyHistogram, phones: RtpCounters, server: RtpCounters): RtpFigures {
  return {
    sendJitterP50Ms: sendJitter.percentile(50),
    sendJitterP99Ms: sendJitter.percentile(99),
    sendJitterMaxMs: round(sendJitter.maxMs, 2),
    jitterSamples: sendJitter.count,
    sentToServer: phones.packetsSent,
    receivedByServer: server.packetsReceived,
    lostToServer: server.packetsLost,
    sentByServer: server.packetsSent,
    receivedFromServer: phones.packetsReceived,
    lostFromServer: phones.packetsLost,
  };
}
