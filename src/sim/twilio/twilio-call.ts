/**
 * One simulated Twilio call: its call flow (queued, initiated, ringing, in-progress, and the final
 * status with its SIP code), status callbacks, answering machine detection, and the TwiML it executes
 * (fetched from a voice URL or given inline, replaced by REST updates). Media, the party and the
 * timeline are the carrier-neutral SimulatedCall's.
 */
import type { HttpMethod } from '../app-requests.js';
import { DocumentExecutor } from '../document-executor.js';
import { speakInRealTime } from '../playback.js';
import { SimulatedCall, type SimEnvironment } from '../simulated-call.js';
import { calleeResponse, REFUSAL_MS, type PartyScript } from '../virtual-party.js';
import {
  applicationErrorEnding,
  finalSipCode,
  finalStatus,
  TWILIO_ENDINGS,
  type TwilioCallEnding,
  type TwilioCallStatus,
  type TwilioEndedBy,
  type TwilioFinalStatus,
} from './call-endings.js';
import { machineVerdict, type AnsweredBy, type MachineDetectionConfig } from './machine-detection.js';
import type { TwilioMediaStreamClient } from './media-stream-client.js';
import { StatusCallbackSender, type StatusCallbackConfig } from './status-callbacks.js';
import { API_VERSION, newSid } from './twilio-ids.js';
import { TWIML_DIALECT } from './twiml-dialect.js';

/** What a Twilio call needs from the simulator that owns it. */
export interface TwilioEnvironment extends SimEnvironment {
  accountSid: string;
  authToken: string;
}

/** Where a call's TwiML comes from: a URL (voice URL, Url, a REST update) or inline (Twiml). */
export type TwimlSource = { url: string; method: HttpMethod; fallback?: { url: string; method: HttpMethod } } | { twiml: string };

export interface TwilioCallOptions {
  direction: 'inbound' | 'outbound-api';
  from: string;
  to: string;
  script: PartyScript;
  /** Outbound: false when no virtual party answers at `to` (the call fails). */
  calleeKnown?: boolean;
  callerName?: string;
  /** The TwiML to run; undefined for an inbound call to a number nobody configured. */
  twiml?: TwimlSource;
  statusCallback?: StatusCallbackConfig;
  /** Outbound: how long it rings before no-answer (Timeout, seconds). */
  timeoutSec?: number;
  machineDetection?: MachineDetectionConfig;
}

export interface TwilioCallResult {
  status: TwilioFinalStatus;
  sipResponseCode: number;
  endedBy: TwilioEndedBy;
  /** What ended the call, e.g. "the callee declined". */
  reason: string;
  durationSec: number;
  answeredBy?: AnsweredBy;
  /** What the party heard, 8 kHz PCM16 from answer to hangup. */
  heard: Int16Array;
}

/** What Twilio says before hanging up on an application that failed. */
export const APPLICATION_ERROR_ANNOUNCEMENT = 'We are sorry, an application error has occurred. Goodbye.';

export class TwilioCall extends SimulatedCall<TwilioEnvironment, TwilioCallResult> {
  readonly callSid: string;
  readonly direction: 'inbound' | 'outbound-api';
  readonly callerName: string | undefined;
  status: TwilioCallStatus = 'queued';
  /** Machine detection's verdict once it fell due. */
  answeredBy: AnsweredBy | undefined;
  /** Media streams currently open on this call. */
  readonly streams = new Set<TwilioMediaStreamClient>();
  /** How the call ended (or is ending); undefined while it runs. */
  ending: TwilioCallEnding | undefined;

  private readonly statusCallbacks: StatusCallbackSender;
  /** Cuts the application-error announcement short when the party hangs up meanwhile. */
  private readonly announcement = new AbortController();
  /** Set once TwiML started running (the first document, or a REST update during synchronous AMD). */
  private twimlStarted = false;

  constructor(
    env: TwilioEnvironment,
    private readonly opts: TwilioCallOptions,
  ) {
    const callSid = newSid('CA');
    super(env, { from: opts.from, to: opts.to, script: opts.script, logContext: { callSid } });
    this.callSid = callSid;
    this.direction = opts.direction;
    this.callerName = opts.callerName;
    this.statusCallbacks = new StatusCallbackSender(opts.statusCallback, env.requester, env.clock);
  }

  protected override onPartyHangup(): void {
    void this.end(this.direction === 'inbound' ? TWILIO_ENDINGS.callerHungUp : TWILIO_ENDINGS.calleeHungUp);
  }

  protected override endOnMediaFailure(): void {
    void this.end(TWILIO_ENDINGS.mediaFailure);
  }

  /** The parameters of every request Twilio makes to the application for this call. */
  webhookParams(extra: Record<string, string> = {}): Record<string, string> {
    const p: Record<string, string> = {
      AccountSid: this.env.accountSid,
      ApiVersion: API_VERSION,
      CallSid: this.callSid,
      CallStatus: this.status,
      Called: this.to,
      Caller: this.from,
      Direction: this.direction,
      From: this.from,
      To: this.to,
    };
    if (this.callerName !== undefined) p.CallerName = this.callerName;
    if (this.answeredBy !== undefined) p.AnsweredBy = this.answeredBy;
    return { ...p, ...extra };
  }

  // ---- lifecycle ----

  /**
   * Outbound, once the calls-per-second queue releases the call: initiated, then refused (unknown
   * number, out of service, busy) or ringing until the callee answers, declines, or Timeout passes.
   */
  async startOutbound(): Promise<void> {
    this.firedAt ??= this.env.clock.now();
    this.status = 'initiated';
    void this.statusCallbacks.send('initiated', this.webhookParams());
    const response = calleeResponse(this.party.script);
    const refusal = this.opts.calleeKnown === false ? TWILIO_ENDINGS.unknownNumber : response.kind === 'unreachable' ? TWILIO_ENDINGS.unreachable : response.kind === 'busy' ? TWILIO_ENDINGS.busy : undefined;
    if (refusal) {
      this.timers.push(this.env.clock.setTimeout(() => void this.end(refusal), REFUSAL_MS));
      return;
    }
    await this.loadParty();
    if (this.isEnded) return;
    this.startRinging();
    const timeoutMs = (this.opts.timeoutSec ?? 60) * 1000;
    this.timers.push(this.env.clock.setTimeout(() => void this.end(TWILIO_ENDINGS.noAnswer), timeoutMs));
    if (response.afterMs >= timeoutMs) return;
    const respond = response.kind === 'declines' ? () => void this.end(TWILIO_ENDINGS.declined) : () => this.onCalleeAnswered();
    this.timers.push(this.env.clock.setTimeout(respond, response.afterMs));
  }

  /** Inbound: the caller dialed a Twilio number; Twilio fetches its voice URL and answers as the TwiML runs. */
  async startInbound(): Promise<void> {
    await this.loadParty();
    if (this.isEnded) return;
    this.startRinging();
    if (!this.opts.twiml) {
      void this.end(TWILIO_ENDINGS.unknownNumber);
      return;
    }
    this.runTwiml(this.opts.twiml);
  }

  private startRinging(): void {
    this.state = 'ringing';
    this.status = 'ringing';
    this.record({ type: 'ringing', to: this.to });
    void this.statusCallbacks.send('ringing', this.webhookParams());
  }

  /** Starts media and reports the call in progress (the `answered` event). */
  override markAnswered(): void {
    if (this.answeredAt !== undefined) return;
    super.markAnswered();
    this.status = 'in-progress';
    void this.statusCallbacks.send('answered', this.webhookParams());
  }

  private onCalleeAnswered(): void {
    if (this.isEnded || this.answeredAt !== undefined) return;
    this.cancelTimers();
    this.markAnswered();
    const detection = this.opts.machineDetection;
    if (!detection) return this.runFirstTwiml();
    const verdict = machineVerdict(this.party, detection);
    // Synchronous detection holds the TwiML until the verdict; asynchronous runs it at once.
    if (detection.async) this.runFirstTwiml();
    this.timers.push(
      this.env.clock.setTimeout(() => {
        if (this.isEnded) return;
        this.answeredBy = verdict.answeredBy;
        this.record({ type: 'machine-detection', machine: verdict.answeredBy.startsWith('machine'), answeredBy: verdict.answeredBy });
        if (!detection.async) {
          // A REST update during the analysis may already have replaced the TwiML the verdict was holding.
          if (!this.twimlStarted) this.runFirstTwiml();
          return;
        }
        if (!detection.callback) {
          this.warn('AsyncAmd without AsyncAmdStatusCallback: the verdict is only on the call resource (Twilio warning 21262)');
          return;
        }
        const { url, method } = detection.callback;
        void this.env.requester.notify(url, method, {
          AccountSid: this.env.accountSid,
          CallSid: this.callSid,
          AnsweredBy: verdict.answeredBy,
          MachineDetectionDuration: String(verdict.afterMs),
        });
      }, verdict.afterMs),
    );
  }

  private runFirstTwiml(): void {
    if (this.opts.twiml) this.runTwiml(this.opts.twiml);
    else void this.end(TWILIO_ENDINGS.endOfTwiml);
  }

  /** Runs `source` in place of the TwiML running now (an active <Connect><Stream> ends; <Start> streams go on). */
  runTwiml(source: TwimlSource): void {
    this.twimlStarted = true;
    this.startDocumentRun(
      (signal) => {
        const executor = new DocumentExecutor(this, TWIML_DIALECT, signal);
        return 'twiml' in source
          ? executor.runDocuments(source.twiml, undefined)
          : executor.runFromUrl({ url: source.url, method: source.method, params: this.webhookParams() }, source.fallback);
      },
      (ending) => void this.end(ending),
      (err) => {
        this.logger.error({ err }, 'TwiML execution crashed');
        void this.end(applicationErrorEnding(12100, `TwiML execution crashed: ${(err as Error).message}`));
      },
    );
  }

  /** A REST update with new TwiML (Twiml or Url); false when the call is not in progress (Twilio error 21220). */
  redirect(source: TwimlSource): boolean {
    if (this.status !== 'in-progress' || this.ending) return false;
    this.runTwiml(source);
    return true;
  }

  /**
   * A REST update with Status: `canceled` ends a queued or ringing call and leaves a call in progress
   * alone; `completed` ends the call whatever its state.
   */
  hangUpFromApi(status: 'completed' | 'canceled'): void {
    if (status === 'canceled' && this.answeredAt !== undefined) return;
    void this.end(status === 'completed' ? TWILIO_ENDINGS.apiCompleted : TWILIO_ENDINGS.apiCanceled);
  }

  /**
   * Ends the call (idempotent): an application error is first announced to the party (Twilio answers
   * an inbound call to say it), then everything stops, the completed status callback is sent and
   * `ended` resolves.
   */
  async end(ending: TwilioCallEnding): Promise<void> {
    if (this.ending) {
      // A hangup during the announcement cuts it short; the call still ends as the application error.
      this.announcement.abort();
      return;
    }
    this.ending = ending;
    if (ending.applicationError) {
      const { code, message } = ending.applicationError;
      this.record({ type: 'application-error', code, message });
      this.markAnswered();
      const request = { text: APPLICATION_ERROR_ANNOUNCEMENT, ssml: false, language: 'en-US', voice: 'woman', loop: 1 };
      await speakInRealTime(this, 'the application-error announcement', 'say', request, AbortSignal.any([this.announcement.signal, this.signal]));
    }
    const answered = this.answeredAt !== undefined;
    this.stopEverything();
    this.status = finalStatus(ending, answered);
    const sipResponseCode = finalSipCode(ending, answered);
    this.record({ type: 'hangup', cause: ending.description, causeCode: sipResponseCode, source: ending.endedBy });
    const durationSec = answered ? Math.round((this.endedAt! - this.answeredAt!) / 1000) : 0;
    if (this.faults.finalCallbackLost) this.warn('completed status callback not sent (injected fault)');
    else await this.statusCallbacks.send(
      'completed',
      this.webhookParams({ CallDuration: String(durationSec), Duration: String(Math.ceil(durationSec / 60)), SipResponseCode: String(sipResponseCode) }),
    );
    await this.settle({
      status: this.status,
      sipResponseCode,
      endedBy: ending.endedBy,
      reason: ending.description,
      durationSec,
      ...(this.answeredBy ? { answeredBy: this.answeredBy } : {}),
      heard: this.party.heard,
    });
  }
}
