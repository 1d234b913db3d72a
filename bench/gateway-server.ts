/**
 * The gateway under test, in its own process: `startGateway` with the real carrier routes (Plivo,
 * Twilio with BENCH_CARRIER=twilio, or the SIP carrier with its RTP legs with BENCH_CARRIER=sip), stream legs,
 * call sessions (VAD on), event bus, SQLite record store and TTS cache (espeak-ng), and two doubles
 * that take external latency out of the picture: a zero-latency STT and a zero-latency bot
 * (bench/doubles.ts). Started by bench/run.ts; speaks the command protocol of bench/lib/ipc.ts.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startGateway, type Gateway } from '../src/app/gateway.js';
import { EventBus } from '../src/events/bus.js';
import { WebSocket } from 'ws';
import { WebSocketLeg } from '../src/carriers/websocket-media/websocket-leg.js';
import type dgram from 'node:dgram';
import { RtpSession } from '../src/carriers/sip/rtp/rtp-session.js';
import { isRtcp } from '../src/carriers/sip/rtp/rtp-packet.js';
import { ArrivalStats, FrameArrivals } from './lib/frame-arrivals.js';
import { configSchema } from '../src/config/schema.js';
import { createLogger } from '../src/logger.js';
import { EspeakTtsProvider } from '../src/speech/tts/espeak.js';
import { ZeroLatencyBot, ZeroLatencyStt, type BotScript } from './doubles.js';
import { serveCommands } from './lib/ipc.js';
import { BENCH_ACCOUNT, BENCH_RTP_PORTS, benchCarrier } from './lib/bench-carrier.js';
import { CpuWindow, WindowProfiler, memorySnapshot } from './lib/process-probe.js';

export interface GatewayBenchOptions {
  /** The simulator's REST base URL (hangups and transfers go there). */
  carrierApiBaseUrl: string;
  ttsCache: boolean;
  bargeIn: boolean;
  bargeInMinSpeechMs: number;
  vadSilenceMs: number;
  bot: BotScript;
  /** Diagnostic only: detach the SQLite call-record writer. */
  noRecords?: boolean;
  /**
   * Diagnostic only: the gateway without its control plane's listeners and timers (metrics and their
   * process collectors, alarm conditions, the campaign runner's and the callback outbox's polls), to
   * measure what they cost the call path beside the gateway as deployed.
   */
  bareControlPlane?: boolean;
  /**
   * Soak: none of the latency figures' per-event bookkeeping (it would grow for the whole run and show
   * as a leak); call ends are tallied by reason instead.
   */
  soak?: boolean;
}

const CARRIER = benchCarrier();
let gateway: Gateway | undefined;
/** Endpoint decisions (the caller's final transcript is published in the same synchronous chain), in epoch ms. */
const decisions: { carrierCallId: string; at: number }[] = [];
/** When the gateway handed prompt audio (play) and clears to the stream socket, in epoch ms. */
const plays: { carrierCallId: string; at: number }[] = [];
const clears: { carrierCallId: string; at: number }[] = [];
/** How long each play() call ran (ms): the event loop is held for that long. */
const playBlocking: number[] = [];
let dataDir: string | undefined;
let logPath: string | undefined;
const stt = new ZeroLatencyStt();
/** SIP: RTP counters of the gateway's calls, added up as their sessions close. */
const rtpTotals = { sessions: 0, packetsSent: 0, packetsReceived: 0, packetsLost: 0 };
/**
 * SIP: when each caller packet reaches the gateway's RTP socket, as the floor times its own. (The STT
 * double's frames come out of the jitter buffer on the gateway's own 20 ms clock, and a slot skipped
 * after a stall would shift every later frame of the call.)
 */
const rtpArrivals = new ArrivalStats();
const cpu = new CpuWindow();
const profiler = new WindowProfiler();

/** The carrier section of the gateway's configuration. */
function carrierConfig(opts: GatewayBenchOptions): Record<string, unknown> {
  if (CARRIER === 'twilio') return { twilio: { ...BENCH_ACCOUNT.twilio, apiBaseUrl: opts.carrierApiBaseUrl } };
  if (CARRIER === 'sip') {
    return {
      sip: {
        address: '127.0.0.1',
        port: 0,
        transports: ['udp'],
        codecs: ['PCMU', 'PCMA'],
        rtp: { minPort: BENCH_RTP_PORTS.gateway.min, maxPort: BENCH_RTP_PORTS.gateway.max },
        // The load generator is one source ramping hundreds of INVITEs a second: the flood limit must let it.
        invitesPerSecond: 2000,
        inviteBurst: 2000,
      },
    };
  }
  return { plivo: { ...BENCH_ACCOUNT.plivo, apiBaseUrl: opts.carrierApiBaseUrl, contentType: 'audio/x-mulaw;rate=8000' } };
}

/**
 * Measurement only: times the caller's packets as they reach each session's socket. The leg sets the
 * session's direction once, right after creating it: that is where the socket gets a second listener.
 */
function timeRtpArrivals(): void {
  const { setDirection } = RtpSession.prototype;
  const watched = new WeakSet<RtpSession>();
  RtpSession.prototype.setDirection = function (this: RtpSession, ...args: Parameters<RtpSession['setDirection']>) {
    if (!watched.has(this)) {
      watched.add(this);
      const frames = new FrameArrivals(rtpArrivals);
      const socket = (this as unknown as { rtp: dgram.Socket }).rtp;
      socket.on('message', (packet: Buffer) => {
        if (packet.length > 12 && !isRtcp(packet) && (packet[1] & 0x7f) === this.codec.payloadType) frames.onFrame();
      });
    }
    setDirection.apply(this, args);
  };
}

/** Measurement only: adds up each RTP session's counters as it closes (the SIP legs keep their sessions private). */
function countRtpSessions(): void {
  const { close } = RtpSession.prototype;
  RtpSession.prototype.close = function (this: RtpSession) {
    const stats = this.stats;
    rtpTotals.sessions++;
    rtpTotals.packetsSent += stats.packetsSent;
    rtpTotals.packetsReceived += stats.packetsReceived;
    rtpTotals.packetsLost += stats.packetsLost;
    close.call(this);
  };
}

/** Soak: the gateway's call records' end reasons, counted. */
const endReasons: Record<string, number> = {};

async function start(opts: GatewayBenchOptions): Promise<{ answerUrl: string; hangupUrl: string; sipUri?: string; logPath: string; gatewayUrl: string }> {
  if (!opts.soak) {
    recordLegCommands();
    if (CARRIER === 'sip') timeRtpArrivals();
    timeBusEvents();
  }
  if (CARRIER === 'sip') countRtpSessions();
  dataDir = await mkdtemp(join(tmpdir(), 'voxgate-bench-'));
  logPath = join(dataDir, 'gateway.log');
  const config = configSchema.parse({
    server: { host: '127.0.0.1', port: 0 },
    dataDir,
    log: { level: 'info' },
    carriers: carrierConfig(opts),
    tts: { cache: { enabled: opts.ttsCache } },
    bots: [{ name: 'bench', type: 'flow', settings: { bargeIn: opts.bargeIn, bargeInMinSpeechMs: opts.bargeInMinSpeechMs, vadSilenceMs: opts.vadSilenceMs } }],
    routes: [{ number: '*', bot: 'bench' }],
    ...(opts.bareControlPlane ? { metrics: { enabled: false }, alarms: { enabled: false } } : {}),
  });
  // Logs at info, as deployed, into a file: the run checks it for warnings and errors afterwards.
  const logger = createLogger({ level: 'info', destination: createWriteStream(logPath) });
  const tts = new EspeakTtsProvider();
  // Settings and routes still come from the configuration; only the connector is the double.
  gateway = await startGateway(config, { logger, stt, tts, createBotConnector: () => new ZeroLatencyBot(opts.bot) });
  if (opts.ttsCache) await prewarm(gateway, tts, [opts.bot.greeting, ...opts.bot.answers]);
  if (opts.soak) gateway.bus.subscribe('call.ended', (e) => void (endReasons[e.reason] = (endReasons[e.reason] ?? 0) + 1));
  else recordDecisions(gateway);
  // Diagnostic: without the call-record writer, to show what SQLite writes cost the call path.
  if (opts.noRecords) gateway.records.detach();
  if (opts.bareControlPlane) await Promise.all([gateway.campaigns.stop(), gateway.notifier.close()]);
  if (CARRIER === 'sip') {
    const sipUri = gateway.carriers.get('sip')!.webhookUrls(gateway.publicUrl).SIP;
    return { answerUrl: '', hangupUrl: '', sipUri, logPath, gatewayUrl: gateway.url };
  }
  const urls = CARRIER === 'twilio' ? { answerUrl: `${gateway.url}/twilio/voice`, hangupUrl: `${gateway.url}/twilio/status` } : { answerUrl: `${gateway.url}/plivo/answer`, hangupUrl: `${gateway.url}/plivo/hangup` };
  return { ...urls, logPath, gatewayUrl: gateway.url };
}

/**
 * "Cached TTS answers": the bot's prompts are put in the cache before the first call, with the request
 * the call session makes (bot language, default voice, the stream's 8 kHz), so no measured turn waits
 * on synthesis.
 */
async function prewarm(gw: Gateway, tts: EspeakTtsProvider, texts: string[]): Promise<void> {
  const cache = gw.ttsCache;
  if (!cache) return;
  for (const text of texts) {
    for await (const _chunk of cache.synthesize(tts, { text, ssml: false, language: 'en-US', sampleRate: 8000 })) {
      // draining the stream is what fills the cache
    }
  }
}

/** Epoch time with sub-millisecond resolution, comparable across processes on one machine. */
function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The endpoint decision's time: VAD speech-end -> STT double final result -> CallSession publishes the
 * caller's transcript, all in one synchronous call chain, so the bus event marks the decision.
 */
function recordDecisions(gw: Gateway): void {
  const carrierIds = new Map<string, string>();
  gw.bus.subscribe('call.started', (e) => {
    carrierIds.set(e.callId, e.carrierCallId);
  });
  gw.bus.subscribe('transcript', (e) => {
    if (e.who === 'caller') decisions.push({ carrierCallId: carrierIds.get(e.callId) ?? e.callId, at: preciseNow() });
  });
}

/**
 * Times the gateway's own side of figures 3 and 4: when the first playAudio of a play() and each
 * clearAudio are written to the stream socket, and how long play() holds the event loop (it encodes
 * and sends a whole prompt at once). Measurement only; behaviour unchanged.
 */
function recordLegCommands(): void {
  const { play, clear } = WebSocketLeg.prototype;
  const { send } = WebSocket.prototype;
  let pendingFirstSend: string | undefined;
  WebSocket.prototype.send = function (this: WebSocket, ...args: Parameters<WebSocket['send']>) {
    send.apply(this, args);
    if (pendingFirstSend !== undefined) {
      plays.push({ carrierCallId: pendingFirstSend, at: preciseNow() });
      pendingFirstSend = undefined;
    }
  } as WebSocket['send'];
  WebSocketLeg.prototype.play = function (this: WebSocketLeg, samples: Int16Array) {
    const started = performance.now();
    pendingFirstSend = this.carrierCallId;
    play.call(this, samples);
    pendingFirstSend = undefined;
    playBlocking.push(performance.now() - started);
  };
  WebSocketLeg.prototype.clear = function (this: WebSocketLeg) {
    clear.call(this);
    clears.push({ carrierCallId: this.carrierCallId, at: preciseNow() });
  };
}

/** Time spent in event-bus subscribers during a window, by event type: what the bus listeners (records, metrics, alarms, dialer, campaigns, live view) cost per event. */
const busWindow = { measuring: false, byType: new Map<string, { events: number; ms: number }>() };

/** Measurement only: times every publish (all of its subscribers run inside it). */
function timeBusEvents(): void {
  const { publish } = EventBus.prototype;
  EventBus.prototype.publish = function (this: EventBus, ...args: Parameters<EventBus['publish']>) {
    if (!busWindow.measuring) return publish.apply(this, args);
    const started = performance.now();
    publish.apply(this, args);
    const entry = busWindow.byType.get(args[0]) ?? { events: 0, ms: 0 };
    entry.events++;
    entry.ms += performance.now() - started;
    busWindow.byType.set(args[0], entry);
  } as EventBus['publish'];
}

/** Warning and error lines of the gateway log, counted by message. */
async function logProblems(): Promise<Record<string, number>> {
  if (!logPath) return {};
  const counts: Record<string, number> = {};
  const text = await readFile(logPath, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const entry = JSON.parse(line) as { level: number; msg?: string; problem?: string };
      if (entry.level >= 40) {
        const key = `${entry.level >= 50 ? 'error' : 'warn'}: ${entry.msg ?? ''}${entry.problem ? ` (${entry.problem})` : ''}`;
        counts[key] = (counts[key] ?? 0) + 1;
      }
    } catch {
      counts['unparseable log line'] = (counts['unparseable log line'] ?? 0) + 1;
    }
  }
  return counts;
}

serveCommands(
  {
    start: (opts: GatewayBenchOptions) => start(opts),
    memory: () => memorySnapshot(),
    'profile-start': () => profiler.start(),
    'profile-stop': (path: string) => profiler.stop(path),
    'live-calls': () => gateway?.calls.size ?? 0,
    'end-reasons': () => ({ endReasons, liveCalls: gateway?.calls.size ?? 0, watchedByReaper: gateway?.calls.reaper.size ?? 0 }),
    'log-problems': () => logProblems(),
    clock: () => preciseNow(),
    decisions: () => ({ decisions, plays, clears, playBlocking }),
    'measure-start': () => {
      stt.arrivals.reset();
      stt.arrivals.measuring = true;
      rtpArrivals.reset();
      rtpArrivals.measuring = true;
      busWindow.byType.clear();
      busWindow.measuring = true;
      cpu.start();
    },
    'measure-stop': () => {
      stt.arrivals.measuring = false;
      rtpArrivals.measuring = false;
      busWindow.measuring = false;
      const arrivals = CARRIER === 'sip' ? rtpArrivals : stt.arrivals;
      return {
        bus: Object.fromEntries(busWindow.byType),
        cpu: cpu.stop(),
        liveCalls: gateway?.calls.size ?? 0,
        frames: arrivals.frames,
        lateFrames: arrivals.lateFrames,
        lateness: arrivals.lateness.toJSON(),
      };
    },
    totals: async () => ({
      framesReceived: stt.arrivals.totalFrames,
      sttSessions: stt.sessions,
      liveCalls: gateway?.calls.size ?? 0,
      logProblems: await logProblems(),
      ...(CARRIER === 'sip' ? { rtp: rtpTotals } : {}),
    }),
    shutdown: async () => {
      await gateway?.close().catch(() => undefined);
      if (dataDir) await rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
      setImmediate(() => process.exit(0));
    },
  },
  { pid: process.pid },
);
