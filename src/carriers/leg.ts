/**
 * The uniform carrier leg: what CallSession sees of any carrier (Plivo, Twilio, SIP, browser).
 * The session never asks which carrier a leg is; it reads `capabilities` instead.
 */
import type { EventEmitter } from 'node:events';
import type { CallDirection, HangupSide } from '../events/call-events.js';


export interface LegHangup {
  /** Human-readable cause, e.g. "Normal Hangup", "End Of XML Instructions". */
  cause: string;
  side: HangupSide;
}

export interface LegEventMap {
  /** One 20 ms frame of caller audio, PCM16 at `leg.sampleRate`. The array may be reused once the listener returns. */
  audio: [frame: Int16Array];
  /** One DTMF digit (0-9 * # A-D) pressed by the caller. */
  dtmf: [digit: string];
  /** Everything queued before `mark(name)` has now played to the caller. */
  mark: [name: string];
  /** The carrier confirmed that `clear()` emptied its playout queue. */
  cleared: [];
  /** The media connection ended (socket closed / BYE). Emitted at most once. */
  hangup: [info: LegHangup];
  /** A protocol problem on this leg that did not end it (bad frame, unknown event); already logged. */
  warning: [message: string];
}

export interface LegCapabilities {
  transfer: boolean;
  sendDtmf: boolean;
  record: boolean;
}

export interface CarrierLeg extends EventEmitter<LegEventMap> {
  /** Voxgate's call id (the call record's id). */
  readonly callId: string;
  readonly carrier: string;
  /** Sample rate of PCM in both directions. */
  readonly sampleRate: number;
  readonly capabilities: LegCapabilities;
  /** Queues audio for playout (PCM16 at `sampleRate`); returns at once. */
  play(samples: Int16Array): void;
  /** Asks for a `mark` event once everything queued so far has played. */
  mark(name: string): void;
  /** Drops all queued audio (barge-in); a `cleared` event follows. */
  clear(): void;
  sendDtmf(digits: string): void;
  transfer(target: string, headers?: Record<string, string>): Promise<void>;
  /** Ends the call at the carrier; the `hangup` event follows when the media connection closes. */
  hangup(reason: string): Promise<void>;
}

/** What the carrier told us about a call when it was answered. */
export interface CallInfo {
  /** Voxgate's id for the call. */
  callId: string;
  carrier: string;
  /** The carrier's own id (Plivo CallUUID, Twilio CallSid, SIP Call-ID). */
  carrierCallId: string;
  direction: CallDirection;
  from: string;
  to: string;
  callerDisplayName?: string;
  /** Carrier-specific extras worth passing to the bot (SIP headers, forwarded-from...). */
  extra?: Record<string, string>;
  /** Dialed-out calls: who was called and the dialer's metadata, passed to the bot in its start activity. */
  outbound?: { target: string; metadata?: Record<string, unknown> };
}

/** Why an outbound call ended without being answered, as the carrier reported it. */
export interface OutboundFailure {
  /** Carrier cause text, e.g. "Busy Line", "No Answer", "Rejected". */
  cause: string;
  /** Carrier call status, e.g. busy, no-answer, failed, timeout. */
  status?: string;
}

export interface CallEnd {
  cause: string;
  side: HangupSide;
  /** Carrier-reported duration in seconds, when it reports one. */
  durationSec?: number;
}

/** How a carrier adapter hands calls to the application (the composition root implements it). */
export interface CallHandler {
  /**
   * A call was offered and the carrier asks for instructions; the record starts here. The carrier
   * adapter answers once this resolves (the application may keep the caller ringing meanwhile).
   */
  callAnswered(info: CallInfo): void | Promise<void>;
  /** The media leg for an answered call is up: start the conversation. */
  legStarted(info: CallInfo, leg: CarrierLeg): void;
  /** The carrier says the call is over (hangup callback); authoritative even if media lingers. */
  callEnded(callId: string, end: CallEnd): void;
  /** Outbound: whether this handler placed the call with this id (the carrier's callbacks then use it as the call id). */
  isOutbound?(callId: string): boolean;
  /** Outbound: the callee's phone is ringing. */
  callRinging?(callId: string): void;
  /** Outbound: the call ended before it was answered (busy, no answer, rejected, unreachable). */
  callFailed?(callId: string, failure: OutboundFailure): void;
  /** Outbound: answering-machine detection's verdict. */
  machineDetected?(callId: string, isMachine: boolean): void;
}
