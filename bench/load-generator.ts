/**
 * The load generator, in its own process: the carrier simulator (Plivo, Twilio with
 * BENCH_CARRIER=twilio, or SIP with BENCH_CARRIER=sip) placing N inbound calls to the server under test
 * (gateway or bare relay), every call streaming 20 ms mu-law frames (over SIP: one RTP packet each way
 * every 20 ms) on one shared ticker and playing back what the server sends. Callers speak espeak-ng
 * sentences with pauses.
 *
 * Over SIP it also times the server's RTP as it arrives: for every packet, how far its arrival strays
 * from 20 ms after the previous one per sequence number step (the server's send jitter as the
 * receiver sees it, this process's own event-loop delay included, which the floor run shares).
 *
 * Probes (on the first `probeCalls` calls) time what a caller experiences, on the wire, with one clock:
 * - greeting: stream `start` sent -> first audio message (playAudio, Twilio media) received;
 * - turn: the caller frame on which the gateway's VAD ends the utterance -> first audio message received;
 * - barge-in: the caller frame on which the gateway's VAD starts speech (minimum reached) -> clear received.
 * Which frame the gateway's VAD decides on is known exactly: a shadow VoiceActivityDetector with the
 * gateway's settings runs here on the same mu-law-decoded frames, from the same first frame (VAD output
 * is a pure function of its input frames).
 */
import { performance } from 'node:perf_hooks';
import type WebSocket from 'ws';
import { decodeMuLaw, encodeMuLaw } from '../src/media/g711.js';
import { VoiceActivityDetector } from '../src/media/vad.js';
import { silentLogger } from '../src/logger.js';
import { PlivoSimulator, type PlivoCall } from '../src/sim/plivo-simulator.js';
import { TwilioSimulator } from '../src/sim/twilio/twilio-simulator.js';
import type { TwilioCall } from '../src/sim/twilio/twilio-call.js';
import { SipSimulator, type SipSimCall } from '../src/sim/sip/sip-simulator.js';
import type { SipCallMedia } from '../src/sim/sip/sip-call-media.js';
import { isRtcp } from '../src/carriers/sip/rtp/rtp-packet.js';
import { LatencyHistogram } from './lib/stats.js';
import type { PlayoutQueue } from '../src/sim/playout-queue.js';
import type { VoiceClip } from '../src/sim/virtual-party.js';
import { BENCH_ACCOUNT, BENCH_RTP_PORTS, benchCarrier } from './lib/bench-carrier.js';
import { SENTENCES, synthesizeSpeech } from '../test/support/media-signals.js';
import { serveCommands } from './lib/ipc.js';
import { CpuWindow, WindowProfiler, memorySnapshot } from './lib/process-probe.js';

export type CallScriptKind = 'conversation' | 'barge-in' | 'greeting-only';

export interface DialSpec {
  /** The number's answering webhook: Plivo answer URL, Twilio voice URL. */
  answerUrl: string;
  /** The end-of-call callback: Plivo hangup URL, Twilio status callback. */
  hangupUrl: string;
  /** SIP: the server's SIP URI, where the INVITEs go. */
  sipUri?: string;
  calls: number;
  rampPerSec: number;
  script: CallScriptKind;
  /** How long the callers' scripts run (s); the harness hangs up before that. */
  scriptSec: number;
  probeCalls: number;
  /** The gateway's VAD settings, for the shadow VAD. */
  vad: { minSpeechMs: number; silenceMs: number };
  /** Bot prompt lengths (s) the scripts plan around. */
  greetingSec: number;
  answerSec: number;
}

export interface ProbeResults {
  greetingMs: number[];
  turnMs: number[];
  /** Per turn sample: the call, and when the playAudio arrived (epoch ms, for matching the gateway's decision time). */
  turnCalls: string[];
  turnReceivedAt: number[];
  bargeInMs: number[];
  bargeInCalls: string[];
  bargeInReceivedAt: number[];
  /** Endpoints after which no playAudio came within 3 s. */
  turnsUnanswered: number;
  /** Speech starts during playback that no clearAudio followed within 1 s. */
  bargeInsMissed: number;
}

const NUMBER = '14155550100';
const RATE = 8000;
const FRAME = 160;
const CARRIER = benchCarrier();
/** How each carrier's first bytes of an outbound audio message start. */
const AUDIO_MESSAGE_HEAD = CARRIER === 'twilio' ? '{"event":"media"' : '"playAudio"';

const sim =
  CARRIER === 'twilio'
    ? new TwilioSimulator({ ...BENCH_ACCOUNT.twilio, logger: silentLogger(), callbackTimeoutMs: 15_000 })
    : CARRIER === 'sip'
      ? new SipSimulator({ logger: silentLogger(), rtpPorts: BENCH_RTP_PORTS.loadGenerator, codecs: ['PCMU'] })
      : new PlivoSimulator({ ...BENCH_ACCOUNT.plivo, logger: silentLogger(), callbackTimeoutMs: 15_000 });
type StreamCall = PlivoCall | TwilioCall;
type SimCall = StreamCall | SipSimCall;
/** The carrier's id of a simulated call, as the gateway records it. */
const carrierIdOf = (call: StreamCall): string => ('callSid' in call ? call.callSid : call.callUuid);
const isSipCall = (call: SimCall): call is SipSimCall => 'sipCallId' in call;
const cpu = new CpuWindow();
const profiler = new WindowProfiler();
const calls: SimCall[] = [];
let streamsOpen = 0;
let streamsFailed = 0;
const probes: ProbeResults = { greetingMs: [], turnMs: [], turnCalls: [], turnReceivedAt: [], bargeInMs: [], bargeInCalls: [], bargeInReceivedAt: [], turnsUnanswered: 0, bargeInsMissed: 0 };
let windowStart = { framesSent: 0, framesReceived: 0, framesPlayed: 0 };
const clipsCache = new Map<CallScriptKind, Int16Array[]>();
/** SIP: |arrival gap - 20 ms x sequence step| of the server's RTP packets, between measure-start and measure-stop. */
const rtpJitter = new LatencyHistogram();
let rtpMeasuring = false;
let rtpWindowPackets = 0;
/** Short interjections for barge-in (more samples per minute); full sentences for conversations. */
const SHORT_UTTERANCES = ['Yes, I need help with my order.', 'Billing, please.', 'Wait, stop. Agent.'];

async function callerClips(kind: CallScriptKind): Promise<Int16Array[]> {
  let clips = clipsCache.get(kind);
  if (!clips) {
    const texts = kind === 'barge-in' ? SHORT_UTTERANCES : [SENTENCES[1], SENTENCES[3], SENTENCES[5]];
    clips = [];
    for (const text of texts) clips.push(await synthesizeSpeech(text, RATE, 'en-us+m3'));
    clipsCache.set(kind, clips);
  }
  return clips;
}

/**
 * conversation: the caller waits for the greeting, speaks, waits for the answer to end, speaks again.
 * barge-in: the caller starts speaking 1 s into every prompt (greeting and answers).
 * Each call is offset a little so endpoints do not all fall on the same tick.
 */
function voiceScript(spec: DialSpec, clips: Int16Array[], callIndex: number): VoiceClip[] {
  if (spec.script === 'greeting-only') return [];
  const voice: VoiceClip[] = [];
  const offset = (callIndex % 25) * 0.08;
  const endpointSec = spec.vad.silenceMs / 1000;
  let at = spec.script === 'conversation' ? spec.greetingSec + 1.0 + offset : 1.0 + offset;
  for (let i = 0; at < spec.scriptSec; i++) {
    const clip = clips[i % clips.length];
    voice.push({ atSec: at, samples: clip, sampleRate: RATE });
    const clipSec = clip.length / RATE;
    at += spec.script === 'conversation' ? clipSec + endpointSec + spec.answerSec + 1.0 : clipSec + endpointSec + 1.0;
  }
  return voice;
}

/** Private parts of the simulator's stream client the probes read (the simulator exposes no message hook). */
interface StreamInternals {
  ws: WebSocket;
  queue: PlayoutQueue | undefined;
}

/** Times each RTP packet the server sends this call as it arrives (SIP). */
function watchRtp(media: SipCallMedia): void {
  let lastSeq = -1;
  let lastAt = 0;
  media.socket.on('message', (packet: Buffer) => {
    if (packet.length < 12 || isRtcp(packet)) return;
    const now = performance.now();
    const seq = packet.readUInt16BE(2);
    if (lastSeq >= 0 && rtpMeasuring) {
      const step = (seq - lastSeq) & 0xffff;
      // Reordered or duplicated packets (a step of 0 or a wrap backwards) say nothing about pacing.
      if (step > 0 && step < 50) {
        rtpJitter.record(Math.abs(now - lastAt - step * 20));
        rtpWindowPackets++;
      }
    }
    lastSeq = seq;
    lastAt = now;
  });
}

function attachProbe(call: StreamCall, spec: DialSpec): void {
  call.once('stream-start', () => {
    const startedAt = performance.now();
    const internals = [...call.streams][0] as unknown as StreamInternals;
    const vad = new VoiceActivityDetector({ sampleRate: RATE, minSpeechMs: spec.vad.minSpeechMs, silenceMs: spec.vad.silenceMs });
    const mouth = new Int16Array(FRAME);
    const mulaw = new Uint8Array(FRAME);
    let greeted = false;
    let turnSince = -1;
    let bargeSince = -1;
    // Registered before the stream client's own tap (it adds its tap right after recording stream-start),
    // so this runs just before the same frame is sent: the timestamp is the frame's send time.
    call.addFrameTap((frameIndex) => {
      const now = performance.now();
      if (turnSince >= 0 && now - turnSince > 3000) {
        probes.turnsUnanswered++;
        turnSince = -1;
      }
      if (bargeSince >= 0 && now - bargeSince > 1000) {
        probes.bargeInsMissed++;
        bargeSince = -1;
      }
      call.party.speak(frameIndex, RATE, mouth);
      decodeMuLaw(encodeMuLaw(mouth, mulaw), mouth);
      const ev = vad.process(mouth);
      if (!ev) return;
      const pending = internals.queue?.pendingSamples ?? 0;
      if (ev.type === 'speech-start' && pending > RATE / 10) bargeSince = now;
      else if (ev.type === 'speech-end' && pending === 0) turnSince = now;
    });
    internals.ws.on('message', (data: Buffer) => {
      const head = data.subarray(0, 24).toString('latin1');
      if (head.includes(AUDIO_MESSAGE_HEAD)) {
        const now = performance.now();
        if (!greeted) {
          greeted = true;
          probes.greetingMs.push(now - startedAt);
        }
        if (turnSince >= 0) {
          probes.turnMs.push(now - turnSince);
          probes.turnCalls.push(carrierIdOf(call));
          probes.turnReceivedAt.push(performance.timeOrigin + now);
          turnSince = -1;
        }
      }
    });
    call.on('cleared', () => {
      if (bargeSince < 0) return;
      const now = performance.now();
      probes.bargeInMs.push(now - bargeSince);
      probes.bargeInCalls.push(carrierIdOf(call));
      probes.bargeInReceivedAt.push(performance.timeOrigin + now);
      bargeSince = -1;
    });
  });
}

/** Points the simulated number at the server under test. */
function registerNumber(spec: DialSpec): void {
  if (sim instanceof TwilioSimulator) sim.addNumber(NUMBER, { voiceUrl: spec.answerUrl, statusCallback: spec.hangupUrl });
  else if (sim instanceof SipSimulator) {
    if (!spec.sipUri) throw new Error('a SIP benchmark needs the server\'s sipUri');
    sim.addNumber(NUMBER, { uri: spec.sipUri });
  } else sim.addNumber(NUMBER, { answerUrl: spec.answerUrl, hangupUrl: spec.hangupUrl });
}

async function dial(spec: DialSpec): Promise<{ dialed: number; streaming: number; failed: number; rampMs: number }> {
  const clips = await callerClips(spec.script);
  registerNumber(spec);
  const t0 = performance.now();
  const base = calls.length;
  let settle!: () => void;
  const allUp = new Promise<void>((resolve) => (settle = resolve));
  const check = () => {
    if (streamsOpen + streamsFailed >= base + spec.calls) settle();
  };
  for (let i = 0; i < spec.calls; i++) {
    // Pace the dialing: answer-URL requests and WebSocket upgrades at rampPerSec.
    const due = t0 + (i * 1000) / spec.rampPerSec;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const call = sim.dialInbound({ from: `1555${String(base + i).padStart(7, '0')}`, to: NUMBER, script: { voice: voiceScript(spec, clips, base + i), hangupAfterSec: spec.scriptSec, recordHeard: false } });
    calls.push(call);
    if (isSipCall(call)) {
      // Over SIP "streaming" is RTP flowing: the call was answered (the probes are WebSocket-only).
      void call.mediaStarted.then((media) => {
        watchRtp(media);
        streamsOpen++;
        check();
      });
      void call.ended.then(() => {
        if (!call.media) {
          streamsFailed++;
          check();
        }
      });
      continue;
    }
    if (i < spec.probeCalls) attachProbe(call, spec);
    call.once('stream-start', () => {
      streamsOpen++;
      check();
    });
    void call.ended.then(() => {
      if (!call.timeline.some((e) => e.type === 'stream-start')) {
        streamsFailed++;
        check();
      }
    });
  }
  const timeout = new Promise<void>((r) => setTimeout(r, 30_000 + (spec.calls * 1000) / spec.rampPerSec));
  await Promise.race([allUp, timeout]);
  return { dialed: spec.calls, streaming: streamsOpen - 0, failed: streamsFailed, rampMs: performance.now() - t0 };
}

async function hangupAll(): Promise<{ calls: number; ended: number; warnings: Record<string, number> }> {
  const live = calls.filter((c) => !c.isEnded);
  // Bounded: a saturated run (the relay echoing 50,000 frames/s at 1000 calls) can take minutes to drain.
  for (const c of live) c.party.hangUp();
  await Promise.race([Promise.all(live.map((c) => c.ended)), new Promise((r) => setTimeout(r, 10_000))]);
  const warnings: Record<string, number> = {};
  for (const c of calls) {
    for (const e of c.timeline) {
      if (e.type !== 'warning') continue;
      const key = e.message.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>').slice(0, 160);
      warnings[key] = (warnings[key] ?? 0) + 1;
    }
  }
  return { calls: calls.length, ended: calls.filter((c) => c.isEnded).length, warnings };
}

export interface SoakSpec {
  dial: DialSpec;
  /** Calls kept up at once. */
  concurrent: number;
  durationSec: number;
  /** Each call lasts a random time in [minCallSec, maxCallSec], then the caller hangs up and a new call replaces it. */
  minCallSec: number;
  maxCallSec: number;
}

export interface SoakLoadResult {
  callsPlaced: number;
  /** Calls whose caller hung up as scripted. */
  endedByCaller: number;
  /** Calls that ended before their caller hung up (the gateway or the carrier ended them), by how the carrier saw the end. */
  endedEarly: Record<string, number>;
  /** Calls whose media stream never started. */
  neverStreamed: number;
  /** Calls still up at the deadline (hung up by the caller then). */
  upAtDeadline: number;
  /** Least concurrent calls seen after the ramp (sampled once a second). */
  minConcurrentAfterRamp: number;
}

/** How the carrier saw a call end, for the abnormal-end tally. */
function endLabel(call: SimCall, result: unknown): string {
  const r = result as { hangupSource?: string; cause?: string; endedBy?: string; reason?: string };
  return isSipCall(call) ? `sip: ${r.cause ?? 'ended'}` : 'callSid' in call ? `${r.endedBy ?? '?'}: ${r.reason ?? ''}` : `${r.hangupSource ?? '?'}: ${r.cause ?? ''}`;
}

/**
 * The soak: keeps `concurrent` calls up for `durationSec`, each a conversation of a random 20-60 s
 * (the caller speaks a few turns and hangs up) replaced as soon as it ends. Only live calls are held
 * here, so the load generator's own memory stays flat.
 */
async function soak(spec: SoakSpec): Promise<SoakLoadResult> {
  const clips = await callerClips('conversation');
  registerNumber(spec.dial);
  const t0 = performance.now();
  const deadline = t0 + spec.durationSec * 1000;
  const live = new Set<SimCall>();
  const result: SoakLoadResult = { callsPlaced: 0, endedByCaller: 0, endedEarly: {}, neverStreamed: 0, upAtDeadline: 0, minConcurrentAfterRamp: Infinity };
  const place = () => {
    const index = result.callsPlaced++;
    const holdSec = spec.minCallSec + Math.random() * (spec.maxCallSec - spec.minCallSec);
    const script = { ...spec.dial, scriptSec: holdSec };
    const call = sim.dialInbound({ from: `1666${String(index).padStart(7, '0')}`, to: NUMBER, script: { voice: voiceScript(script, clips, index), hangupAfterSec: holdSec, recordHeard: false } });
    live.add(call);
    let callerHungUp = false;
    call.party.once('hangup', () => (callerHungUp = true));
    void call.ended.then((ended) => {
      live.delete(call);
      const streamed = isSipCall(call) ? call.media !== undefined : call.timeline.some((e) => e.type === 'stream-start');
      if (!streamed) result.neverStreamed++;
      if (callerHungUp) result.endedByCaller++;
      else {
        const label = endLabel(call, ended);
        result.endedEarly[label] = (result.endedEarly[label] ?? 0) + 1;
      }
      if (performance.now() < deadline) place();
    });
  };
  // A gentle ramp (20 calls/s): the soak is about holding, not about the ramp.
  for (let i = 0; i < spec.concurrent; i++) {
    place();
    await new Promise((r) => setTimeout(r, 50));
  }
  const rampDone = performance.now();
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    if (performance.now() - rampDone > 5000) result.minConcurrentAfterRamp = Math.min(result.minConcurrentAfterRamp, live.size);
  }
  result.upAtDeadline = live.size;
  const remaining = [...live];
  for (const c of remaining) c.party.hangUp();
  await Promise.race([Promise.all(remaining.map((c) => c.ended)), new Promise((r) => setTimeout(r, 15_000))]);
  if (!Number.isFinite(result.minConcurrentAfterRamp)) result.minConcurrentAfterRamp = live.size;
  return result;
}

/** Where the simulator listens: its REST base URL, or its SIP URI. */
const restBaseUrl = sim instanceof SipSimulator ? (await sim.listen()).uri : (await sim.listen()).restBaseUrl;

serveCommands(
  {
    dial: (spec: DialSpec) => dial(spec),
    soak: (spec: SoakSpec) => soak(spec),
    memory: () => memorySnapshot(),
    'profile-start': () => profiler.start(),
    'profile-stop': (path: string) => profiler.stop(path),
    'measure-start': () => {
      sim.stats.frameLateness.reset();
      sim.ticker.tickLateness.reset();
      windowStart = { framesSent: sim.stats.framesSent, framesReceived: sim.stats.framesReceived, framesPlayed: sim.stats.framesPlayed };
      rtpJitter.reset();
      rtpWindowPackets = 0;
      rtpMeasuring = true;
      cpu.start();
    },
    'measure-stop': () => {
      rtpMeasuring = false;
      return {
        cpu: cpu.stop(),
        ...(sim instanceof SipSimulator ? { rtp: { jitter: rtpJitter.toJSON(), packets: rtpWindowPackets } } : {}),
        liveCalls: calls.filter((c) => !c.isEnded).length,
        framesSent: sim.stats.framesSent - windowStart.framesSent,
        playFramesReceived: sim.stats.framesReceived - windowStart.framesReceived,
        playFramesPlayed: sim.stats.framesPlayed - windowStart.framesPlayed,
        sendLatenessP50Ms: sim.stats.frameLateness.percentile(50),
        sendLatenessP99Ms: sim.stats.frameLateness.percentile(99),
        sendLatenessMaxMs: sim.stats.frameLateness.maxMs,
        tickLatenessP99Ms: sim.ticker.tickLateness.percentile(99),
      };
    },
    probes: () => probes,
    clock: () => performance.timeOrigin + performance.now(),
    'hangup-all': () => hangupAll(),
    totals: () => ({
      framesSent: sim.stats.framesSent,
      playFramesReceived: sim.stats.framesReceived,
      playFramesPlayed: sim.stats.framesPlayed,
      protocolErrors: sim.stats.protocolErrors,
      ...(sim instanceof SipSimulator ? { rtp: sim.rtpTotals() } : {}),
      streamsOpen,
      streamsFailed,
    }),
    shutdown: async () => {
      await sim.close().catch(() => undefined);
      setImmediate(() => process.exit(0));
    },
  },
  { restBaseUrl, carrier: CARRIER },
);
