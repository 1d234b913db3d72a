/**
 * One simulated Plivo call: its call flow (ringing, answer, machine detection, hangup with Plivo's
 * causes and callbacks) and the Plivo XML it executes. Media, the party and the timeline are the
 * carrier-neutral SimulatedCall's.
 */
import { randomUUID } from 'node:crypto';
import type { HttpMethod } from './app-requests.js';
import { HANGUP_CAUSES, finalCallStatus, type HangupCause, type HangupSource } from './hangup-causes.js';
import { SimulatedCall, type SimEnvironment } from './simulated-call.js';
import { calleeResponse, type PartyScript } from './virtual-party.js';
import { XmlExecutor } from './xml-executor.js';
import type { PlivoStreamClient } from './stream-client.js';

/** What a Plivo call needs from the simulator that owns it. */
export interface PlivoEnvironment extends SimEnvironment {
  authId: string;
  authToken: string;
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

export class PlivoCall extends SimulatedCall<PlivoEnvironment, CallResult> {
  readonly callUuid: string;
  readonly requestUuid: string;
  readonly direction: 'inbound' | 'outbound';
  /** Streams currently open on this call (their stats are readable while they run). */
  readonly streams = new Set<PlivoStreamClient>();
  app: CallApp | undefined;
  /** Machine detection's verdict once it ran (`Machine` parameter of later callbacks). */
  machine: boolean | undefined;
  /** How the call ended, once it has (the call detail record's hangup fields). */
  hangupCause: HangupCause | undefined;
  hangupSource: HangupSource | undefined;

  private readonly opts: SimCallOptions;

  constructor(env: PlivoEnvironment, opts: SimCallOptions) {
    const callUuid = randomUUID();
    super(env, { from: opts.from, to: opts.to, script: opts.script, logContext: { callUuid } });
    this.callUuid = callUuid;
    this.opts = opts;
    this.direction = opts.direction;
    this.app = opts.app;
    this.requestUuid = opts.requestUuid ?? randomUUID();
  }

  protected override onPartyHangup(): void {
    void this.hangup(HANGUP_CAUSES.normal, this.direction === 'inbound' ? 'Caller' : 'Callee');
  }

  protected override endOnMediaFailure(): void {
    void this.hangup(HANGUP_CAUSES.normal, 'Error');
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
    const response = calleeResponse(this.party.script);
    if (response.kind === 'unreachable' || response.kind === 'busy') {
      // The carrier rejects the INVITE (out of service) or the line answers it with 486 Busy, before any
      // 180 Ringing: no ring_url, nothing billed.
      const [cause, source] = response.kind === 'busy' ? ([HANGUP_CAUSES.busy, 'Callee'] as const) : ([HANGUP_CAUSES.destinationOutOfService, 'Carrier'] as const);
      this.timers.push(this.env.clock.setTimeout(() => void this.hangup(cause, source), response.afterMs));
      return;
    }
    await this.loadParty();
    if (this.isEnded) return;
    this.state = 'ringing';
    this.record({ type: 'ringing', to: this.to });
    if (this.app?.ringUrl) void this.env.requester.notify(this.app.ringUrl, this.app.ringMethod, this.params({ CallStatus: 'ringing' }));
    const ringTimeoutMs = (this.opts.ringTimeoutSec ?? 120) * 1000;
    this.timers.push(this.env.clock.setTimeout(() => void this.hangup(HANGUP_CAUSES.ringTimeout, 'Plivo'), ringTimeoutMs));
    if (response.afterMs >= ringTimeoutMs) return;
    const respond = response.kind === 'declines' ? () => void this.hangup(HANGUP_CAUSES.rejected, 'Callee') : () => this.onAnswered('StartApp');
    this.timers.push(this.env.clock.setTimeout(respond, response.afterMs));
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

  private onAnswered(event: string): void {
    if (this.isEnded || this.answeredAt !== undefined) return;
    this.cancelTimers();
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

  /** Starts media and the call's time limit. */
  override markAnswered(): void {
    if (this.answeredAt !== undefined) return;
    super.markAnswered();
    if (this.opts.timeLimitSec) {
      this.timers.push(this.env.clock.setTimeout(() => void this.hangup(HANGUP_CAUSES.timeLimit, 'Plivo'), this.opts.timeLimitSec * 1000));
    }
  }

  /**
   * Fetches XML from `url` and executes it, replacing whatever XML was running (transfer). `answerRule`
   * applies the answer URL's retry-then-fallback rule.
   */
  runApp(url: string, method: HttpMethod, event: string, answerRule: boolean): void {
    const fallback = answerRule && this.app?.fallbackUrl ? { url: this.app.fallbackUrl, method: this.app.fallbackMethod } : undefined;
    this.startDocumentRun(
      (signal) => new XmlExecutor(this, signal).runFromUrl({ url, method, params: this.params({ Event: event }) }, fallback),
      (ending) => void this.hangup(ending.cause, ending.source),
      (err) => {
        this.logger.error({ err }, 'XML execution crashed');
        void this.hangup(HANGUP_CAUSES.invalidAnswerXml, 'Error');
      },
    );
  }

  /** Transfer (Call API `aleg_url`): stop the running XML and streams, fetch and run the new XML. */
  transfer(url: string, method: HttpMethod): void {
    this.closeAttachments('transferred');
    this.runApp(url, method, 'Transfer', false);
  }

  /** Ends the call (idempotent), sends the hangup callback and resolves `ended`. */
  async hangup(cause: HangupCause, source: HangupSource): Promise<void> {
    if (this.isEnded) return;
    const answered = this.answeredAt !== undefined;
    const statusBefore = finalCallStatus(cause, answered);
    this.stopEverything();
    this.hangupCause = cause;
    this.hangupSource = source;
    this.record({ type: 'hangup', cause: cause.name, causeCode: cause.code, source });
    const durationSec = answered ? Math.round((this.endedAt! - this.answeredAt!) / 1000) : 0;
    if (this.faults.finalCallbackLost) this.warn('hangup callback not sent (injected fault)');
    else if (this.app?.hangupUrl) {
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
        EndTime: plivoTime(this.endedAt!),
        TotalCost: '0.00000',
      });
      await this.env.requester.notify(this.app.hangupUrl, this.app.hangupMethod, params);
    }
    await this.settle({ cause: cause.name, causeCode: cause.code, hangupSource: source, durationSec, heard: this.party.heard });
  }
}
