/**
 * The uniform carrier leg: what CallSession sees of any carrier (Plivo, Twilio, SIP, browser). It has
 * two halves: the media (audio, DTMF, marks in; play, mark, clear out) and the call control (transfer,
 * hang up, send DTMF), which a carrier may implement over different channels (a stream socket and a
 * REST API). The session never asks which carrier a leg is; it reads `capabilities` instead.
 */
import type { EventEmitter } from 'node:events';
import type { CallDirection, HangupSide } from '../events/call-events.js';

/** The sample rates a leg may present, in both directions: what the VAD, STT and TTS paths handle. A carrier with another codec rate (Opus at 48 kHz) resamples to one of these. */
export const LEG_SAMPLE_RATES = [8000, 16000] as const;
export type LegSampleRate = (typeof LEG_SAMPLE_RATES)[number];

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
  /** The carrier confirmed that `clear()` emptied its playout queue: the caller hears nothing of what was cut. */
  cleared: [];
  /** The media connection ended (socket closed / BYE). Emitted at most once. */
  hangup: [info: LegHangup];
  /** A protocol problem on this leg that did not end it (bad frame, unknown event); already logged. */
  warning: [message: string];
}

/** The media half of a leg: what the prompt queue, the recognizer and the recording use. */
export interface LegMedia extends EventEmitter<LegEventMap> {
  /** Sample rate of PCM in both directions. */
  readonly sampleRate: LegSampleRate;
  /** Queues audio for playout (PCM16 at `sampleRate`); returns at once. */
  play(samples: Int16Array): void;
  /** Asks for a `mark` event once everything queued so far has played. */
  mark(name: string): void;
  /** Drops all queued audio (barge-in); a `cleared` event follows. */
  clear(): void;
}

/** What a leg's call control can do; a bot command that needs what a leg cannot do is refused, never sent. */
export interface LegCapabilities {
  /** Move the caller elsewhere (a number, a SIP URI, the carrier's own call instructions). */
  transfer: boolean;
  /** Transfer by calling the target and joining the two calls, Voxgate staying in the media path (mode `bridge`). */
  bridgeTransfer: boolean;
  /** Carry the bot's metadata to the far end in the call's own signalling (SIP INFO). */
  sendMetadata: boolean;
  /** Play DTMF tones to the far end. */
  sendDtmf: boolean;
  /** The carrier itself can record the call (Voxgate records from the media path on every leg regardless). */
  record: boolean;
}

/** Where and how to move the caller. */
export interface TransferRequest {
  /** A phone number, a tel: or sip: URI, or the carrier's own call instructions (a URL). */
  target: string;
  /** Headers the bot asked for: SIP headers on the REFER or INVITE; carriers without them pass what they can. */
  headers?: Record<string, string>;
  /**
   * blind (default): the carrier or SIP peer moves the caller (REFER, a REST redirect) and Voxgate leaves
   * the call; bridge: Voxgate calls the target and joins the two calls, staying in the media path.
   */
  mode?: 'blind' | 'bridge';
  /** Who hands the caller over (SIP Referred-By), e.g. the bot's URI. */
  referredBy?: string;
}

/** The call-control half of a leg: commands that act on the call rather than its audio. */
export interface LegCallControl {
  readonly capabilities: LegCapabilities;
  /** Only when `capabilities.sendDtmf`; throws on digits outside 0-9 * # A-D. */
  sendDtmf(digits: string): void;
  /** Only when `capabilities.transfer` (and `bridgeTransfer` for mode bridge); rejects with the carrier's reason when the carrier refuses. */
  transfer(request: TransferRequest): Promise<void>;
  /** Only when `capabilities.sendMetadata`: the bot's metadata to the far end (SIP INFO); rejects when the peer refuses it. */
  sendMetadata?(metadata: unknown): Promise<void>;
  /** Ends the call at the carrier; the `hangup` event follows when the media connection closes. */
  hangup(reason: string): Promise<void>;
}

export interface CarrierLeg extends LegMedia, LegCallControl {
  /** Voxgate's call id (the call record's id). */
  readonly callId: string;
  readonly carrier: string;
  /**
   * The carrier reported the call over (its hangup or status callback, authoritative over the media
   * connection): emit `hangup` with that cause if not done yet, and release the media connection.
   */
  endFromCarrier(end: CallEnd): void;
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
  /** The bot the caller asked for by name (a browser call), instead of a route from the called number. */
  bot?: string;
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
  /** The carrier's own watchdog ended the call (SIP: no RTP, session timer expired): the record's end reason. */
  reason?: 'media-timeout' | 'session-timeout';
}

/** `CallHandler.callAnswered` found no route (or no bot) for the call: carriers that can say so refuse it as "not found" (SIP 404). */
export class NoRouteError extends Error {
  override readonly name = 'NoRouteError';
}

/** A live call as the registry shows it to carriers. */
export interface LiveCallView {
  info: CallInfo;
  /** The call's media leg while its media connection is up. */
  leg?: CarrierLeg;
}

/**
 * How a carrier adapter hands calls to the application: the one registry of live calls (the
 * composition root implements it). Carriers keep no call maps of their own; they look calls up here
 * by their own call id.
 */
export interface CallHandler {
  /**
   * A call was offered and the carrier asks for instructions; the record starts here and the call is
   * registered at once (a hangup arriving while this is pending finds it). The carrier adapter answers
   * once this resolves (the application may keep the caller ringing meanwhile); when it throws, the
   * call is not registered and the adapter refuses the call.
   */
  callAnswered(info: CallInfo): void | Promise<void>;
  /** The media leg for an answered call is up: start the conversation. */
  legStarted(info: CallInfo, leg: CarrierLeg): void;
  /** The carrier says the call is over (hangup/status callback): authoritative even if media lingers; ends the leg too. */
  callEnded(callId: string, end: CallEnd): void;
  /** The live call that `carrierCallId` names on `carrier`. */
  findCall(carrier: string, carrierCallId: string): LiveCallView | undefined;
  /** Voxgate's id of a call that `carrierCallId` named and that has ended (remembered for a while, to refuse late streams). */
  endedCall(carrier: string, carrierCallId: string): string | undefined;
  /** Outbound: whether this handler placed the call with this id (the carrier's callbacks then use it as the call id). */
  isOutbound?(callId: string): boolean;
  /** Outbound: the callee's phone is ringing. */
  callRinging?(callId: string): void;
  /** Outbound: the call ended before it was answered (busy, no answer, rejected, unreachable); `carrierCallId` when the carrier gave one. */
  callFailed?(callId: string, failure: OutboundFailure, carrierCallId?: string): void;
  /** Outbound: answering-machine detection's verdict. */
  machineDetected?(callId: string, isMachine: boolean): void;
  /** The carrier sent a callback about a live call that does not end it (a status, a re-fetch): the call is not lost. */
  carrierCallback?(callId: string): void;
}
