/**
 * What every simulated call has, whatever the carrier: the virtual party on the far end, the timeline,
 * and the real-time audio engine that, every 20 ms frame, mixes whatever the network plays (prompts,
 * stream audio, a bridged party) into the party's ear and hands the party's voice to the frame taps
 * (stream clients, bridges). Each carrier's call flow (PlivoCall, TwilioCall) extends it with its own
 * signalling: statuses, callbacks, and the documents (XML, TwiML) it executes.
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { Logger } from '../logger.js';
import type { TtsProvider } from '../speech/tts/provider.js';
import { FRAME_MS } from '../media/audio.js';
import type { AppRequester } from './app-requests.js';
import type { ExecutionOutcome } from './document-executor.js';
import { PlayoutQueue } from './playout-queue.js';
import type { RealtimeTicker } from './realtime-ticker.js';
import type { SimStats } from './sim-stats.js';
import type { TimelineEvent, TimelineEventInput, TimelineEventType } from './timeline.js';
import { HEARD_RATE, VirtualParty, type PartyScript } from './virtual-party.js';

export const FRAME_SAMPLES_8K = (HEARD_RATE * FRAME_MS) / 1000;

/** What a call needs from the simulator that owns it, whatever the carrier. */
export interface SimEnvironment {
  clock: Clock;
  ticker: RealtimeTicker;
  logger: Logger;
  requester: AppRequester;
  tts?: TtsProvider;
  stats: SimStats;
  /** The script of the virtual party reached by dialing `number`, when one is registered. */
  lookupCallee(number: string): PartyScript | undefined;
}

type TimelineEvents = { [K in TimelineEventType]: [Extract<TimelineEvent, { type: K }>] };
export type SimCallEvents = TimelineEvents & { timeline: [TimelineEvent] };

export type FrameTap = (frameIndex: number, dueAt: number, now: number, ear: Int16Array) => void;

export interface EarSource {
  label: string;
  pull(out: Int16Array): number;
}

/**
 * Faults of the carrier's platform a test injects into one call (set them on the simulator's `call`
 * event, before the call runs): the ways a real carrier leaves an application with a call that never ends.
 */
export interface CarrierFaults {
  /** The audio stream's socket is never opened: the carrier's connection attempt hangs while the call stays up. */
  streamNeverOpens?: boolean;
  /** The carrier's media path dies this long after the stream opened: no more frames, the socket stays open. */
  mediaStopsAfterMs?: number;
  /** The call's final callback (Plivo's hangup URL, Twilio's completed status callback) is never delivered. */
  finalCallbackLost?: boolean;
}

/** The call states both carriers share; each reports its own richer status on top. */
export type SimCallState = 'queued' | 'ringing' | 'in-progress' | 'completed';

export interface SimulatedCallArgs {
  from: string;
  to: string;
  script: PartyScript;
  /** Bound into every log line of the call (e.g. `{ callUuid }`). */
  logContext: Record<string, string>;
}

export abstract class SimulatedCall<Env extends SimEnvironment, Result extends { heard: Int16Array }> extends EventEmitter<SimCallEvents> {
  readonly from: string;
  readonly to: string;
  readonly party: VirtualParty;
  readonly timeline: TimelineEvent[] = [];
  readonly logger: Logger;
  readonly ended: Promise<Result>;
  state: SimCallState = 'queued';
  /** Platform faults injected into this call (none by default). */
  faults: CarrierFaults = {};
  /** When the call was requested (outbound) or the caller dialed (inbound). */
  readonly createdAt: number;
  /** Outbound: when the carrier actually started the call, after the account's calls-per-second queue. */
  firedAt: number | undefined;
  answeredAt: number | undefined;
  endedAt: number | undefined;

  /** Timers that die with the call (ringing, detection, time limits). */
  protected timers: TimerHandle[] = [];
  /**
   * Silences shorter than this inside what the party hears do not end a heard-audio segment (its stop is
   * still dated where the audio ended). 0 for carriers whose playout says where a prompt ends (streams);
   * a carrier that only has the audio itself (SIP's RTP, silence included) bridges the pauses in speech.
   */
  protected heardPauseBridgeMs = 0;
  /** Method syntax keeps a Plivo or Twilio call assignable to the carrier-neutral call type. */
  private endedResolver!: { resolve(r: Result): void };
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
  private hearing: { label: string; since: number; lastAudibleEnd: number } | undefined;
  private documentRun: AbortController | undefined;
  private readonly callAbort = new AbortController();

  constructor(
    readonly env: Env,
    args: SimulatedCallArgs,
  ) {
    super();
    this.from = args.from;
    this.to = args.to;
    this.createdAt = env.clock.now();
    this.logger = env.logger.child(args.logContext);
    this.party = new VirtualParty(args.script, env.clock);
    this.party.on('key', (d) => this.onPartyKey(d));
    this.party.on('hangup', () => this.onPartyHangup());
    this.ended = new Promise((resolve) => (this.endedResolver = { resolve }));
  }

  /** The scripted party hung up (carrier-specific cause and callbacks). */
  protected abstract onPartyHangup(): void;
  /** The media loop failed on this call: end it, loudly, with the carrier's error cause. */
  protected abstract endOnMediaFailure(): void;

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

  // ---- lifecycle ----

  /** Reads the party's audio clips before it answers, so playback never waits on disk. */
  protected async loadParty(): Promise<void> {
    try {
      await this.party.load();
    } catch (err) {
      this.warn(`virtual party script could not be loaded: ${(err as Error).message}`);
    }
  }

  /** Cancels the pending call timers (ringing, answer, detection): the call moved on. */
  protected cancelTimers(): void {
    for (const t of this.timers) t.cancel();
    this.timers = [];
  }

  /** Starts media: the party's script clock and the frame loop. Carriers add their answer signalling on top. */
  markAnswered(): void {
    if (this.answeredAt !== undefined) return;
    this.answeredAt = this.env.clock.now();
    this.state = 'in-progress';
    this.record({ type: 'answered' });
    this.party.answer();
    this.unsubscribeTick = this.env.ticker.subscribe((now, due) => this.onTick(now, due));
    // Frames fall due on the shared ticker's grid, so lateness measures delay, not this call's phase against the tick.
    this.nextFrameDue = this.env.ticker.nextTickAt(this.answeredAt + FRAME_MS);
  }

  /**
   * Starts a document run (XML, TwiML) in place of the one running. `run` gets a signal that aborts when
   * another run replaces it or the call ends; when the run ends the call, `end` gets the carrier's ending
   * (not when it was replaced or the call ended meanwhile); an executor crash goes to `crashed`.
   */
  protected startDocumentRun<Ending>(
    run: (signal: AbortSignal) => Promise<ExecutionOutcome<Ending>>,
    end: (ending: Ending) => void,
    crashed: (err: unknown) => void,
  ): void {
    this.documentRun?.abort();
    const controller = new AbortController();
    this.documentRun = controller;
    const signal = AbortSignal.any([controller.signal, this.callAbort.signal]);
    void run(signal)
      .then((outcome) => {
        if (signal.aborted || this.isEnded) return;
        if (outcome.kind === 'end') end(outcome.ending);
      })
      .catch(crashed);
  }

  /** Stops whatever is attached to the call (streams, bridges), e.g. when its documents are replaced. */
  protected closeAttachments(reason: string): void {
    for (const close of [...this.closers]) close(reason);
  }

  /** Marks the call ended and stops its timers, media, party, documents and attachments. */
  protected stopEverything(): void {
    this.state = 'completed';
    this.endedAt = this.env.clock.now();
    this.cancelTimers();
    this.unsubscribeTick?.();
    this.party.stop();
    this.documentRun?.abort();
    this.callAbort.abort();
    this.closeAttachments('call ended');
    this.closeHearingSegment();
  }

  /** Last step of a hangup: writes the party's recording (when asked) and resolves `ended`. */
  protected async settle(result: Result): Promise<void> {
    try {
      await this.party.writeRecording();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not write the party recording');
    }
    this.endedResolver.resolve(result);
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

  /** Registers something to stop when the call's documents are replaced or the call ends (streams, bridges). */
  addCloser(fn: (reason: string) => void): () => void {
    this.closers.add(fn);
    return () => this.closers.delete(fn);
  }

  /** `fn` returns true when it consumed the key. */
  addKeyListener(fn: (digit: string) => boolean): () => void {
    this.keyListeners.add(fn);
    return () => this.keyListeners.delete(fn);
  }

  /** DTMF played to the party (by a verb, a stream message, the REST API). */
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
      this.endOnMediaFailure();
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
    this.party.hear(ear, audibleLabel !== undefined);
    const atMs = dueAt - FRAME_MS - this.createdAt;
    const hearing = this.hearing;
    if (audibleLabel !== undefined && audibleLabel === hearing?.label) {
      hearing.lastAudibleEnd = atMs + FRAME_MS;
    } else if (audibleLabel !== undefined || (hearing && atMs - hearing.lastAudibleEnd >= this.heardPauseBridgeMs)) {
      this.closeHearingSegment();
      if (audibleLabel) {
        this.hearing = { label: audibleLabel, since: atMs, lastAudibleEnd: atMs + FRAME_MS };
        this.pushTimeline({ type: 'heard-audio-start', atMs, source: audibleLabel });
      }
    }
    for (const tap of this.frameTaps) tap(frameIndex, dueAt, now, ear);
  }

  /** Ends the segment where its last audible frame ended (at hangup too, not at the later wall time). */
  private closeHearingSegment(): void {
    if (!this.hearing) return;
    const at = this.hearing.lastAudibleEnd;
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

/** Any carrier's call, for code that only uses the shared engine (playback, dialing, streams). */
export type AnySimCall = SimulatedCall<SimEnvironment, { heard: Int16Array }>;
