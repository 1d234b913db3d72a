/**
 * Ends calls that would otherwise stay "live" forever because the carrier went quiet: answered but no
 * media stream within `streamOpenTimeoutMs`; a stream up but neither an inbound media frame nor a
 * carrier callback for `mediaSilenceTimeoutMs`; a stream closed but no hangup callback within
 * `hangupCallbackGraceMs`. Where the carrier has an API it is asked for the call's state first: an
 * ended call is recorded with the carrier's cause, a live one is hung up there (the caller would
 * otherwise sit in dead air, billed). All bounds run on the runtime Clock.
 */
import { z } from 'zod';
import type { Logger } from 'pino';
import type { Carrier, CarrierCallState } from '../carriers/carrier.js';
import type { CallEnd, CallInfo, CarrierLeg } from '../carriers/leg.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';

export const liveCallsConfigSchema = z
  .object({
    /** An answered call whose media stream has not opened after this long is ended (reason stream-timeout). */
    streamOpenTimeoutMs: z.number().int().positive().default(10_000),
    /** A call with neither an inbound media frame nor a carrier callback for this long is ended (reason media-timeout). */
    mediaSilenceTimeoutMs: z.number().int().positive().default(60_000),
    /** How long the carrier's hangup callback may lag behind the media stream's close before the carrier is asked. */
    hangupCallbackGraceMs: z.number().int().positive().default(5_000),
  })
  .strict();

export type ReapingSettings = z.infer<typeof liveCallsConfigSchema>;

export const DEFAULT_REAPING: ReapingSettings = liveCallsConfigSchema.parse({});

/** Why the registry, not the carrier, ended a call. */
export type ReapReason = 'stream-timeout' | 'media-timeout' | 'carrier-lost';

/** What the reaper asks the registry to record: the end, and the reason when the call ended abnormally. */
export interface Reaped {
  end: CallEnd | undefined;
  reason?: ReapReason;
}

export interface CallReaperDeps {
  clock: Clock;
  logger: Logger;
  settings: ReapingSettings;
  /** The carrier a call came through (its API, whether it reaps its own calls). */
  carrier(name: string): Pick<Carrier, 'endsSilentCalls' | 'callState' | 'hangupCall'> | undefined;
  /** Ends the call in the registry (idempotent: a callback that came meanwhile already ended it). */
  finish(callId: string, reaped: Reaped): void;
}

interface Watch {
  info: CallInfo;
  timer?: TimerHandle;
  /** Clock time of the last inbound frame or carrier callback. */
  lastSign: number;
  unsubscribe?: () => void;
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

export class CallReaper {
  private readonly watches = new Map<string, Watch>();

  constructor(private readonly deps: CallReaperDeps) {}

  /** How many calls are watched (released with the call: a leak shows here). */
  get size(): number {
    return this.watches.size;
  }

  /** The call is answered: its media stream must open within streamOpenTimeoutMs. */
  answered(info: CallInfo): void {
    if (this.deps.carrier(info.carrier)?.endsSilentCalls) return;
    const watch = this.watch(info);
    const limit = this.deps.settings.streamOpenTimeoutMs;
    this.arm(watch, limit, () => this.reap(watch, 'stream-timeout', `No media stream within ${seconds(limit)} of answer`));
  }

  /** The media stream is up: from now on inbound frames (or carrier callbacks) must keep coming. */
  streamOpened(info: CallInfo, leg: CarrierLeg): void {
    if (this.deps.carrier(info.carrier)?.endsSilentCalls) return;
    const watch = this.watch(info);
    watch.unsubscribe?.();
    const sign = () => {
      watch.lastSign = this.deps.clock.now();
    };
    // Cheap on the per-frame path: a clock read; the timer re-arms itself only when it falls due.
    leg.on('audio', sign);
    leg.on('dtmf', sign);
    leg.on('mark', sign);
    watch.unsubscribe = () => {
      leg.off('audio', sign);
      leg.off('dtmf', sign);
      leg.off('mark', sign);
    };
    sign();
    this.armSilence(watch);
  }

  /** The carrier said something about the call that does not end it. */
  carrierSpoke(callId: string): void {
    const watch = this.watches.get(callId);
    if (watch) watch.lastSign = this.deps.clock.now();
  }

  /**
   * The media stream closed but the carrier's hangup callback has not come: after the grace the carrier
   * is asked. A call the bot handed over (blind transfer) goes on at the carrier without Voxgate: it is
   * then never asked about nor hung up, only ended here.
   */
  streamClosed(info: CallInfo, handedOver: boolean): void {
    const watch = this.watch(info);
    watch.unsubscribe?.();
    watch.unsubscribe = undefined;
    const grace = this.deps.settings.hangupCallbackGraceMs;
    this.arm(watch, grace, () => (handedOver ? this.deps.finish(info.callId, { end: undefined }) : void this.afterLostCallback(watch, grace)));
  }

  /** The call ended: drop its timers and listeners. */
  forget(callId: string): void {
    const watch = this.watches.get(callId);
    if (!watch) return;
    watch.timer?.cancel();
    watch.unsubscribe?.();
    this.watches.delete(callId);
  }

  private watch(info: CallInfo): Watch {
    let watch = this.watches.get(info.callId);
    if (!watch) {
      watch = { info, lastSign: this.deps.clock.now() };
      this.watches.set(info.callId, watch);
    }
    return watch;
  }

  private arm(watch: Watch, ms: number, fire: () => void): void {
    watch.timer?.cancel();
    watch.timer = this.deps.clock.setTimeout(() => {
      watch.timer = undefined;
      fire();
    }, ms);
  }

  private armSilence(watch: Watch): void {
    const limit = this.deps.settings.mediaSilenceTimeoutMs;
    const due = watch.lastSign + limit - this.deps.clock.now();
    if (due > 0) {
      this.arm(watch, due, () => this.armSilence(watch));
      return;
    }
    watch.unsubscribe?.();
    watch.unsubscribe = undefined;
    void this.reap(watch, 'media-timeout', `No media and no word from the carrier for ${seconds(limit)}`);
  }

  /** Ends a call the carrier went quiet on: asks the carrier, hangs it up there if it is still up, records why. */
  private async reap(watch: Watch, reason: ReapReason, cause: string): Promise<void> {
    const { info } = watch;
    const log = this.logFor(info);
    log.warn({ reason }, `reaping call: ${cause}`);
    const verdict = await this.settleWithCarrier(info, log);
    if (verdict.endedThere) {
      const state = verdict.endedThere;
      log.warn({ reason, carrierStatus: state.status, carrierCause: state.cause }, 'the carrier says the call already ended; its hangup callback never came');
      this.deps.finish(info.callId, { end: { cause: `${cause}; the carrier ended it: ${state.cause}`, side: state.side, durationSec: state.durationSec }, reason });
      return;
    }
    const where = verdict.hungUp === undefined ? '' : verdict.hungUp ? '; hung up at the carrier' : '; the carrier had already ended it';
    this.deps.finish(info.callId, { end: { cause: `${cause}${where}`, side: 'gateway' }, reason });
  }

  /** The stream closed and the hangup callback never came: the carrier's word, or the stream's. */
  private async afterLostCallback(watch: Watch, grace: number): Promise<void> {
    const { info } = watch;
    const log = this.logFor(info);
    if (!this.deps.carrier(info.carrier)?.callState) {
      log.warn({ graceMs: grace }, `no hangup callback within ${seconds(grace)} of the media stream closing; ending the call on the stream's word`);
      this.deps.finish(info.callId, { end: undefined });
      return;
    }
    const verdict = await this.settleWithCarrier(info, log);
    if (verdict.endedThere) {
      const state = verdict.endedThere;
      log.warn({ carrierStatus: state.status, carrierCause: state.cause }, `no hangup callback within ${seconds(grace)}; the carrier says the call ended`);
      this.deps.finish(info.callId, { end: { cause: state.cause, side: state.side, durationSec: state.durationSec } });
      return;
    }
    const cause = verdict.stillUp
      ? `Media stream closed but the carrier still had the call up${verdict.hungUp ? '; hung up at the carrier' : ''}`
      : `Media stream closed and no hangup callback within ${seconds(grace)}; the carrier could not be asked`;
    log.warn({ reason: 'carrier-lost' }, cause);
    this.deps.finish(info.callId, { end: { cause, side: 'gateway' }, reason: 'carrier-lost' });
  }

  private logFor(info: CallInfo): Logger {
    return this.deps.logger.child({ callId: info.callId, carrier: info.carrier, carrierCallId: info.carrierCallId });
  }

  /**
   * Asks the carrier for the call's state and hangs it up there when it is still up. `endedThere`: the
   * carrier already ended it; `stillUp`: it was up (`hungUp` says whether the hangup took); neither:
   * the carrier has no API or could not be asked.
   */
  private async settleWithCarrier(info: CallInfo, log: Logger): Promise<{ endedThere?: Extract<CarrierCallState, { live: false }>; stillUp: boolean; hungUp?: boolean }> {
    const carrier = this.deps.carrier(info.carrier);
    const state = carrier?.callState ? await this.tryCarrier(info, log, "ask for the call's state", () => carrier.callState!(info.carrierCallId)) : undefined;
    if (state && !state.live) return { endedThere: state, stillUp: false };
    if (!state?.live || !carrier?.hangupCall) return { stillUp: Boolean(state?.live) };
    return { stillUp: true, hungUp: await this.tryCarrier(info, log, 'hang the call up', () => carrier.hangupCall!(info.carrierCallId)) };
  }

  /** A carrier API call whose failure is logged and answered with undefined: the call is still ended here. */
  private async tryCarrier<T>(info: CallInfo, log: Logger, what: string, request: () => Promise<T>): Promise<T | undefined> {
    try {
      return await request();
    } catch (err) {
      log.error({ err }, `could not ${what} at ${info.carrier}: ${messageOf(err)}`);
      return undefined;
    }
  }
}
