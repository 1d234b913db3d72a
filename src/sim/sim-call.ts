/**
 * One simulated Plivo call: its lifecycle (ringing, answer, hangup with Plivo causes and callbacks),
 * the party on the far end, and the real-time audio engine that, every 20 ms frame, mixes whatever the
 * network plays (Speak/Play/stream audio/bridged party) into the party's ear and hands the party's
 * voice to the stream taps.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { Logger } from '../logger.js';
import type { TtsProvider } from '../speech/tts/provider.js';
import { FRAME_MS } from '../media/audio.js';
import type { AppRequester, HttpMethod } from './app-requests.js';
import { HANGUP_CAUSES, finalCallStatus, type HangupCause, type HangupSource } from './hangup-causes.js';
import { PlayoutQueue } from './playout-queue.js';
import type { LatenessHistogram, RealtimeTicker } from './realtime-ticker.js';
import type { TimelineEvent, TimelineEventInput, TimelineEventType } from './timeline.js';
import { HEARD_RATE, VirtualParty, type PartyScript } from './virtual-party.js';
import { XmlExecutor } from './xml-executor.js';
import type { PlivoStreamClient } from './stream-client.js';

export const FRAME_SAMPLES_8K = (HEARD_RATE * FRAME_MS) / 1000;

export interface SimStats {
  /** How late each outbound stream frame was sent against its 20 ms schedule. */
  frameLateness: LatenessHistogram;
  /** Media frames sent to stream servers. */
  framesSent: number;
  /** 20 ms frames of audio received in playAudio messages. */
  framesReceived: number;
  /** 20 ms frames of stream audio played into a party's ear. */
  framesPlayed: number;
  protocolErrors: number;
}

/** What a call needs from the simulator that owns it. */
export interface SimEnvironment {
  authId: string;
  authToken: string;
  clock: Clock;
  ticker: RealtimeTicker;
  logger: Logger;
  requester: AppRequester;
  tts?: TtsProvider;
  stats: SimStats;
  /** The script of the virtual party reached by dialing `number`, when one is registered. */
  lookupCallee(number: string): PartyScript | undefined;
}

/** The application attached to a call (Plivo application / Call API URLs). */
export interface CallApp {
  answerUrl: string;
  answerMethod: HttpMethod;
  hangupUrl?: string;
  hangupMethod: HttpMethod;
  fallbackUrl?: string;
  fallbackMethod: HttpMethod;
  ringUrl?: string;
  ringMethod: HttpMethod;
}

export interface CallResult {
  cause: string;
  causeCode: number;
  hangupSource: HangupSource;
  durationSec: number;
  /** What the party heard, 8 kHz PCM16 from answer to hangup. */
  heard: Int16Array;
}

type TimelineEvents = { [K in TimelineEventType]: [Extract<TimelineEvent, { type: K }>] };
export type SimCallEvents = TimelineEvents & { timeline: [TimelineEvent] };

export type FrameTap = (frameIndex: number, dueAt: number, now: number, ear: Int16Array) => void;

export interface EarSource {
  label: string;
  pull(out: Int16Array): number;
}

/** The Call API's machine_detection parameters. */
export interface MachineDetectionOptions {
  /** `true`: report a machine and go on; `hangup`: hang up on a machine (9100 Machine Detected). */
  mode: 'true' | 'hangup';
  /** machine_detection_time: how long Plivo analyses the audio after answer (2000-10000 ms, default 5000). */
  timeMs: number;
  /** machine_detection_url: set, detection runs in the background (async); unset, no XML runs until it ends (sync). */
  url?: string;
  method: HttpMethod;
}

export interface SimCallOptions {
  direction: 'inbound' | 'outbound';
  from: string;
  to: string;
  script: PartyScript;
  app?: CallApp;
  requestUuid?: string;
  ringTimeoutSec?: number;
  timeLimitSec?: number;
  callerName?: string;
  machineDetection?: MachineDetectionOptions;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
/** Plivo's callback time format, UTC: `2024-05-01 10:00:00`. */
export function plivoTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

export class SimCall extends EventEmitter<SimCallEvents> {
  readonly callUuid = randomUUID();
  readonly requestUuid: string;
  readonly direction: 'inbound' | 'outbound';
  readonly from: string;
  readonly to: string;
  readonly party: VirtualParty;
  readonly timeline: TimelineEvent[] = [];
  readonly logger: Logger;
  readonly ended: Promise<CallResult>;
  state: 'queued' | 'ringing' | 'in-progress' | 'completed' = 'queued';
  /** Streams currently open on this call (their stats are readable while they run). */
  readonly streams = new Set<PlivoStreamClient>();
  app: CallApp | undefined;

  /** When the Call API request for this call arrived (outbound) or the caller dialed (inbound). */
  readonly createdAt: number;
  /** Outbound: when Plivo actually started the call, after the account's calls-per-second queue. */
  firedAt: number | undefined;
  answeredAt: number | undefined;
  /** Machine detection's verdict once it ran (`Machine` parameter of later callbacks). */
  machine: boolean | undefined;
  endedAt: number | undefined;

  private resolveEnded!: (r: CallResult) => void;
  private timers: TimerHandle[] = [];
  private unsubscribeTick: (() => void) | undefined;
  private frameIndex = 0;
  private nextFrameDue = 0;
  private readonly earFrame = new Int16Array(FRAME_SAMPLES_8K);
  private readonly mixScratch = new Int16Array(FRAME_SAMPLES_8K);
  private readonly earSources: EarSource[] = [];
  private readonly playoutRemovers = new Map<PlayoutQueue, () => void>();
  private readonly frameTaps = new Set<FrameTap>();
  private readonly keyListeners = new Set<(digit: string) => boolean>();
  private readonly closers = new Set<(reason: string) => void>();
  private hearing: { label: string; since: number } | undefined;
  private xmlAbort: AbortController | undefined;
  private readonly callAbort = new AbortController();
  private readonly opts: SimCallOptions;

  constructor(
    readonly env: SimEnvironment,
    opts: SimCallOptions,
  ) {
    super();
    this.opts = opts;
    this.direction = opts.direction;
    this.from = opts.from;
    this.to = opts.to;
    this.app = opts.app;
    this.requestUuid = opts.requestUuid ?? randomUUID();
    this.createdAt = env.clock.now();
    this.logger = env.logger.child({ callUuid: this.callUuid });
    this.party = new VirtualParty(opts.script, env.clock);
    this.party.on('key', (d) => this.onPartyKey(d));
    this.party.on('hangup', () => void this.hangup(HANGUP_CAUSES.normal, this.direction === 'inbound' ? 'Caller' : 'Callee'));
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  /** Aborted when the call ends. */
  get signal(): AbortSignal {
    return this.callAbort.signal;
  }

  get isEnded(): boolean {
    return this.state === 'completed';
  }

  /** Milliseconds since the call was created. */
  elapsedMs(): number {
    return this.env.clock.now() - this.createdAt;
  }

  record(ev: TimelineEventInput): void {
    this.pushTimeline({ ...ev, atMs: this.elapsedMs() } as TimelineEvent);
  }

  warn(message: string, extra: Record<string, unknown> = {}): void {
    this.logger.warn(extra, message);
    this.record({ type: 'warning', message });
  }

  /** The parameters Plivo sends with every callback for this call. */
  params(extra: Record<string, string> = {}): Record<string, string> {
    const p: Record<string, string> = {
      CallUUID: this.callUuid,
      From: this.from,
      To: this.to,
      CallerName: this.opts.callerName ?? this.from,
      CallStatus: this.state === 'in-progress' ? 'in-progress' : this.state === 'completed' ? 'completed' : 'ringing',
      Direction: this.direction,
      ALegUUID: this.callUuid,
      ALegRequestUUID: this.requestUuid,
      BillRate: '0.0085',
      ParentAuthID: this.env.authId,
      SessionStart: `${plivoTime(this.createdAt)}.000000`,
      STIRVerification: 'Not Applicable',
    };
    if (this.direction === 'outbound') p.RequestUUID = this.requestUuid;
    if (this.machine !== undefined) p.Machine = String(this.machine);
    return { ...p, ...extra };
  }

  // ---- lifecycle ----

  /**
   * Outbound, once the calls-per-second queue releases the call: the carrier refuses it (unreachable,
   * busy) or it rings (ring_url) until the callee answers, declines, or ring_timeout passes.
   */
  async startOutbound(): Promise<void> {
    this.firedAt = this.env.clock.now();
    const script = this.party.script;
    if (script.unreachable) {
      // The carrier rejects the INVITE before any 180 Ringing: no ring_url, nothing billed.
      this.timers.push(this.env.clock.setTimeout(() => void this.hangup(HANGUP_CAUSES.destinationOutOfService, 'Carrier'), 50));
      return;
    }
    if (script.busy) {
      // A busy line answers the INVITE with 486 almost at once, without ringing.
      this.timers.push(this.env.clock.setTimeout(() => void this.hangup(HANGUP_CAUSES.busy, 'Callee'), 50));
      return;
    }
    await this.loadParty();
    if (this.isEnded) return;
    this.state = 'ringing';
    this.record({ type: 'ringing', to: this.to });
    if (this.app?.ringUrl) void this.env.requester.notify(this.app.ringUrl, this.app.ringMethod, this.params({ CallStatus: 'ringing' }));
    const ringTimeoutMs = (this.opts.ringTimeoutSec ?? 120) * 1000;
    this.timers.push(this.env.clock.setTimeout(() => void this.hangup(HANGUP_CAUSES.ringTimeout, 'Plivo'), ringTimeoutMs));
    if (script.neverAnswer) return;
    if (script.declines) {
      const declineMs = (script.answerAfterSec ?? 1) * 1000;
      if (declineMs < ringTimeoutMs) this.timers.push(this.env.clock.setTimeout(() => void this.hangup(HANGUP_CAUSES.rejected, 'Callee'), declineMs));
      return;
    }
    const answerMs = (script.answerAfterSec ?? 0) * 1000;
    if (answerMs >= ringTimeoutMs) return;
    this.timers.push(this.env.clock.setTimeout(() => this.onAnswered('StartApp'), answerMs));
  }

  /** Inbound: the caller dialed a Plivo number; Plivo fetches the answer XML and answers as it executes it. */
  async startInbound(): Promise<void> {
    await this.loadParty();
    if (this.isEnded) return;
    this.state = 'ringing';
    this.record({ type: 'ringing', to: this.to });
    if (!this.app) {
      void this.hangup(HANGUP_CAUSES.invalidDestination, 'Plivo');
      return;
    }
    this.runApp(this.app.answerUrl, this.app.answerMethod, 'StartApp', true);
  }

  private async loadParty(): Promise<void> {
    try {
      await this.party.load();
    } catch (err) {
      this.warn(`virtual party script could not be loaded: ${(err as Error).message}`);
    }
  }

  private onAnswered(event: string): void {
    if (this.isEnded || this.answeredAt !== undefined) return;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    this.markAnswered();
    const detection = this.opts.machineDetection;
    if (detection) {
      this.startMachineDetection(detection, event);
      return;
    }
    this.runAnswerUrl(event);
  }

  private runAnswerUrl(event: string): void {
    if (this.app) this.runApp(this.app.answerUrl, this.app.answerMethod, event, true);
    else void this.hangup(HANGUP_CAUSES.endOfXml, 'Plivo');
  }

  /**
   * Machine detection after answer. Sync (no machine_detection_url): no XML runs during the analysis;
   * then a machine is hung up on (`hangup`) or the answer URL gets `Machine=true|false`. Async: the answer
   * URL runs at once and only a detected machine is reported, to machine_detection_url (Event=MachineDetection).
   * The verdict falls due when the analysis window (machine_detection_time) ends.
   */
  private startMachineDetection(detection: MachineDetectionOptions, event: string): void {
    const isMachine = this.party.script.machine === true;
    if (detection.url) {
      this.runAnswerUrl(event);
      if (!isMachine) return;
      this.timers.push(
        this.env.clock.setTimeout(() => void this.reportMachineAsync(detection, detection.url!), detection.timeMs),
      );
      return;
    }
    this.timers.push(
      this.env.clock.setTimeout(() => {
        if (this.isEnded) return;
        this.machine = isMachine;
        this.record({ type: 'machine-detection', machine: isMachine });
        if (isMachine && detection.mode === 'hangup') void this.hangup(HANGUP_CAUSES.machineDetected, 'Plivo');
        else this.runAnswerUrl(event);
      }, detection.timeMs),
    );
  }

  private async reportMachineAsync(detection: MachineDetectionOptions, url: string): Promise<void> {
    if (this.isEnded) return;
    this.machine = true;
    this.record({ type: 'machine-detection', machine: true });
    await this.env.requester.notify(
      url,
      detection.method,
      this.params({ Machine: 'true', IfMachine: detection.mode === 'hangup' ? 'hangup' : 'continue', Event: 'MachineDetection', CallStatus: 'in-progress' }),
    );
    if (detection.mode === 'hangup') await this.hangup(HANGUP_CAUSES.machineDetected, 'Plivo');
  }

  /** Starts media: the party's script clock, the frame loop and the time limit. */
  markAnswered(): void {
    if (this.answeredAt !== undefined) return;
    this.answeredAt = this.env.clock.now();
    this.state = 'in-progress';
    this.record({ type: 'answered' });
    this.party.answer();
    this.unsubscribeTick = this.env.ticker.subscribe((now, due) => this.onTick(now, due));
    // Frames fall due on the shared ticker's grid, so lateness measures delay, not this call's phase against the tick.
    this.nextFrameDue = this.env.ticker.nextTickAt(this.answeredAt + FRAME_MS);
    if (this.opts.timeLimitSec) {
      this.timers.push(this.env.clock.setTimeout(() => void this.hangup(HANGUP_CAUSES.timeLimit, 'Plivo'), this.opts.timeLimitSec * 1000));
    }
  }

  /**
   * Fetches XML from `url` and executes it, replacing whatever XML was running (transfer). `answerRule`
   * applies the answer URL's retry-then-fallback rule.
   */
  runApp(url: string, method: HttpMethod, event: string, answerRule: boolean): void {
    this.xmlAbort?.abort();
    const abort = new AbortController();
    this.xmlAbort = abort;
    const signal = AbortSignal.any([abort.signal, this.callAbort.signal]);
    const executor = new XmlExecutor(this, signal);
    void executor
      .runFromUrl(url, method, event, answerRule ? this.app?.fallbackUrl : undefined, answerRule ? this.app?.fallbackMethod : undefined)
      .then((outcome) => {
        if (signal.aborted || this.isEnded) return;
        if (outcome.kind === 'hangup') void this.hangup(outcome.cause, outcome.source);
      })
      .catch((err: unknown) => {
        this.logger.error({ err }, 'XML execution crashed');
        void this.hangup(HANGUP_CAUSES.invalidAnswerXml, 'Error');
      });
  }

  /** Transfer (Call API `aleg_url`): stop the running XML and streams, fetch and run the new XML. */
  transfer(url: string, method: HttpMethod): void {
    for (const close of [...this.closers]) close('transferred');
    this.runApp(url, method, 'Transfer', false);
  }

  /** Ends the call (idempotent), sends the hangup callback and resolves `ended`. */
  async hangup(cause: HangupCause, source: HangupSource): Promise<void> {
    if (this.isEnded) return;
    const answered = this.answeredAt !== undefined;
    const statusBefore = finalCallStatus(cause, answered);
    this.state = 'completed';
    this.endedAt = this.env.clock.now();
    for (const t of this.timers) t.cancel();
    this.timers = [];
    this.unsubscribeTick?.();
    this.party.stop();
    this.xmlAbort?.abort();
    this.callAbort.abort();
    for (const close of [...this.closers]) close('call ended');
    this.closeHearingSegment();
    this.record({ type: 'hangup', cause: cause.name, causeCode: cause.code, source });
    const durationSec = answered ? Math.round((this.endedAt - this.answeredAt!) / 1000) : 0;
    if (this.app?.hangupUrl) {
      const params = this.params({
        CallStatus: statusBefore,
        Event: 'Hangup',
        HangupCause: cause.telephony,
        HangupCauseName: cause.name,
        HangupCauseCode: String(cause.code),
        HangupSource: source,
        Duration: String(durationSec),
        BillDuration: String(answered ? Math.max(60, Math.ceil(durationSec / 60) * 60) : 0),
        StartTime: plivoTime(this.createdAt),
        AnswerTime: answered ? plivoTime(this.answeredAt!) : '',
        EndTime: plivoTime(this.endedAt),
        TotalCost: '0.00000',
      });
      await this.env.requester.notify(this.app.hangupUrl, this.app.hangupMethod, params);
    }
    try {
      await this.party.writeRecording();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not write the party recording');
    }
    this.resolveEnded({ cause: cause.name, causeCode: cause.code, hangupSource: source, durationSec, heard: this.party.heard });
  }

  // ---- audio engine ----

  /** A playout queue mixed into the party's ear until `closePlayout`. */
  openPlayout(label: string): PlayoutQueue {
    const queue = new PlayoutQueue();
    this.playoutRemovers.set(queue, this.addEarSource({ label, pull: (out) => queue.pull(out) }));
    return queue;
  }

  /** Stops mixing `queue` into the ear; its pending markers fire so nobody waits forever. */
  closePlayout(queue: PlayoutQueue): void {
    queue.clear(true);
    this.playoutRemovers.get(queue)?.();
    this.playoutRemovers.delete(queue);
  }

  addEarSource(source: EarSource): () => void {
    this.earSources.push(source);
    return () => {
      const i = this.earSources.indexOf(source);
      if (i >= 0) this.earSources.splice(i, 1);
    };
  }

  /** Runs `tap` for every frame (party's voice is read by the tap itself, from `party.speak`). */
  addFrameTap(tap: FrameTap): () => void {
    this.frameTaps.add(tap);
    return () => this.frameTaps.delete(tap);
  }

  /** Registers something to stop on transfer or hangup (streams, bridges). */
  addCloser(fn: (reason: string) => void): () => void {
    this.closers.add(fn);
    return () => this.closers.delete(fn);
  }

  /** `fn` returns true when it consumed the key. */
  addKeyListener(fn: (digit: string) => boolean): () => void {
    this.keyListeners.add(fn);
    return () => this.keyListeners.delete(fn);
  }

  /** DTMF played to the party (sendDTMF, <DTMF>, DTMF API). */
  partyHearsDigits(digits: string, source: string): void {
    this.party.heardDigits += digits;
    this.record({ type: 'dtmf-heard', digits, source });
  }

  /** Resolves after `ms` of clock time, or early (without error) when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer = this.env.clock.setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      function done() {
        timer.cancel();
        signal.removeEventListener('abort', done);
        resolve();
      }
    });
  }

  private onPartyKey(digit: string): void {
    if (this.isEnded) return;
    let consumed = false;
    for (const fn of [...this.keyListeners]) if (fn(digit)) consumed = true;
    this.record({ type: 'key', digit, consumed });
  }

  private onTick(now: number, tickDue: number): void {
    const horizon = now > tickDue ? now : tickDue;
    try {
      while (this.nextFrameDue <= horizon && !this.isEnded) {
        const due = this.nextFrameDue;
        this.frameIndex++;
        this.nextFrameDue += FRAME_MS;
        this.processFrame(this.frameIndex - 1, due, now);
      }
    } catch (err) {
      // A media bug ends this call only, loudly, instead of failing every frame silently.
      this.logger.error({ err }, 'simulated media loop failed');
      void this.hangup(HANGUP_CAUSES.normal, 'Error');
    }
  }

  private processFrame(frameIndex: number, dueAt: number, now: number): void {
    const ear = this.earFrame;
    let audibleLabel: string | undefined;
    if (this.earSources.length === 1) {
      if (this.earSources[0].pull(ear) > 0) audibleLabel = this.earSources[0].label;
    } else {
      ear.fill(0);
      for (const source of this.earSources) {
        if (source.pull(this.mixScratch) === 0) continue;
        audibleLabel ??= source.label;
        for (let i = 0; i < ear.length; i++) {
          const v = ear[i] + this.mixScratch[i];
          ear[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
        }
      }
    }
    this.party.hear(ear);
    const atMs = dueAt - FRAME_MS - this.createdAt;
    if (audibleLabel !== this.hearing?.label) {
      this.closeHearingSegment(atMs);
      if (audibleLabel) {
        this.hearing = { label: audibleLabel, since: atMs };
        this.pushTimeline({ type: 'heard-audio-start', atMs, source: audibleLabel });
      }
    }
    for (const tap of this.frameTaps) tap(frameIndex, dueAt, now, ear);
  }

  private closeHearingSegment(atMs?: number): void {
    if (!this.hearing) return;
    // At hangup the segment ends where the last played frame ended, not at the (later) wall time.
    const at = atMs ?? this.nextFrameDue - FRAME_MS - this.createdAt;
    this.pushTimeline({ type: 'heard-audio-stop', atMs: at, source: this.hearing.label, durationMs: at - this.hearing.since });
    this.hearing = undefined;
  }

  /** Records an event at an explicit media time (frame boundaries), not at "now". */
  private pushTimeline(ev: TimelineEvent): void {
    this.timeline.push(ev);
    const emit = EventEmitter.prototype.emit as (this: EventEmitter, name: string, ev: TimelineEvent) => boolean;
    emit.call(this, ev.type, ev);
    emit.call(this, 'timeline', ev);
  }
}
