/**
 * Places calls through a configured carrier and follows each one to its end: initiated -> (ringing)
 * -> answered -> completed, or failed with a reason code (no-answer, busy, declined, machine-detected,
 * error). Every change is published on the bus as `outbound.status`, naming the carrier. Each carrier's
 * calls start at its configured calls-per-second rate (shared by every instance of a cluster); extra
 * requests wait in order rather than being refused.
 *
 * The call id is chosen here and handed to the carrier, whose callbacks name the call by it.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { BotConnector } from '../bots/connector.js';
import { DialPlanBot } from '../bots/dial-plan/index.js';
import type { OutboundFailure } from '../carriers/leg.js';
import type { Carrier } from '../carriers/carrier.js';
import type { Clock } from '../runtime/clock.js';
import { ConfigError } from '../runtime/config-error.js';
import type { EventBus } from '../events/bus.js';
import type { OutboundCallRepository } from '../store/outbound-call-repository.js';
import type { StoredStatusCallback } from './outbound-notifications.js';
import { CallRateLimiter, type CallPacer } from './call-rate-limiter.js';
import { OutboundRequestError, type CallPlacer, type OutboundCallRequest } from './outbound.js';
import type { OutboundReasonCode, OutboundStatus, OutboundStatusEvent } from '../events/outbound-events.js';

export interface OutboundDialerOptions {
  /** The configured carriers. */
  carriers: { get(name: string): Carrier | undefined; readonly names: string[] };
  /** The carrier a number belongs to, when its route names one: calls from that number go out through it. */
  carrierOfNumber?: (number: string) => string | undefined;
  /** Whether a configured bot answers to this name. */
  knowsBot: (name: string) => boolean;
  /** Builds the connector that runs a dial plan (the conversation API). */
  dialPlanConnector?: (request: OutboundCallRequest, callId: string) => BotConnector;
  /** Each carrier's call starts are paced at this rate unless `carrierCallsPerSecond` names it. */
  callsPerSecond: number;
  /** `dialer.carrierCallsPerSecond`: a carrier's own rate (its account limit). */
  carrierCallsPerSecond?: Readonly<Record<string, number>>;
  /** Builds a carrier's pacer; default this process alone (a cluster shares them through Redis). */
  pacer?: (carrier: string, callsPerSecond: number) => CallPacer;
  /** Seconds the callee's phone may ring. Default 45. */
  ringTimeoutSec?: number;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  records?: OutboundCallRepository;
}

interface PlacedCall {
  request: OutboundCallRequest;
  carrier: Carrier;
  status: OutboundStatus;
  requestUuid?: string;
  dtmf: string;
  answeredAt?: number;
  machine?: boolean;
  /** A notify URL given with the request (dialout API). */
  notifyUrl?: string;
  /** Dial-plan calls: the connector, built (and so validated) when the call was requested. */
  dialPlanBot?: BotConnector;
  /** Dial-plan calls: the digits its COLLECTs gathered (keys the plan ignored are not input). */
  collected?: string;
}

const E164ISH = /^\+?[0-9]{3,15}$/;

export class OutboundDialer implements CallPlacer {
  private readonly calls = new Map<string, PlacedCall>();
  /** The pending record write of each call (writes of one call are chained in order). */
  private readonly recordWrites = new Map<string, Promise<void>>();
  /** One pacer per carrier, made at its first call. */
  private readonly pacers = new Map<string, CallPacer>();
  private readonly log: Logger;
  private readonly unsubscribe: (() => void)[];

  constructor(private readonly options: OutboundDialerOptions) {
    const configured = options.carriers.names;
    for (const name of Object.keys(options.carrierCallsPerSecond ?? {})) {
      if (!configured.includes(name)) throw new ConfigError(`dialer.carrierCallsPerSecond.${name}: no carrier named "${name}" is configured (configured: ${configured.join(', ')})`);
    }
    this.log = options.logger.child({ component: 'outbound-dialer' });
    // Digits and the end of answered calls come from the call's own events.
    this.unsubscribe = [
      options.bus.subscribe('dtmf', (e) => {
        const call = this.calls.get(e.callId);
        if (call) call.dtmf += e.digit;
      }),
      options.bus.subscribe('call.ended', (e) => {
        const call = this.calls.get(e.callId);
        if (!call || call.status === 'failed' || call.status === 'completed') return;
        const durationMs = e.durationSec !== undefined ? e.durationSec * 1000 : call.answeredAt !== undefined ? e.at - call.answeredAt : 0;
        if (call.machine && call.request.machineDetection === 'disconnect') {
          this.transition(e.callId, 'failed', { reasonCode: 'machine-detected', reason: 'answering machine', durationMs });
        } else {
          this.transition(e.callId, 'completed', { dtmf: call.collected ?? call.dtmf, endReason: e.reason, durationMs, ...(call.machine ? { reasonCode: 'machine-detected' as const } : {}) });
        }
        this.calls.delete(e.callId);
      }),
    ];
  }

  /** Validates the request, queues the call and returns its id; the call starts in its rate slot. */
  async place(request: OutboundCallRequest, extra: { notifyUrl?: string; callback?: StoredStatusCallback; onCreated?: (conversationId: string) => void } = {}): Promise<{ conversationId: string }> {
    const target = request.target.replace(/^tel:/i, '').replace(/[\s()-]/g, '');
    if (!E164ISH.test(target)) throw new OutboundRequestError(`target: "${request.target}" is not a phone number (expected E.164 such as +14155550100, optionally tel:)`);
    const caller = request.caller.replace(/^tel:/i, '');
    if (!E164ISH.test(caller.replace(/[\s()-]/g, ''))) throw new OutboundRequestError(`caller: "${request.caller}" is not a phone number`);
    const carrier = this.check({ ...request, caller });
    const conversationId = randomUUID();
    const normalized = { ...request, target, caller, carrier: carrier.name };
    let dialPlanBot: BotConnector | undefined;
    try {
      dialPlanBot = request.dialPlan && this.options.dialPlanConnector?.(normalized, conversationId);
    } catch (err) {
      throw new OutboundRequestError(`dialPlan: ${err instanceof Error ? err.message : String(err)}`);
    }
    const placed: PlacedCall = { request: normalized, carrier, status: 'initiated', dtmf: '', notifyUrl: extra.notifyUrl, dialPlanBot };
    if (dialPlanBot instanceof DialPlanBot) dialPlanBot.outcome.on('collect', (c) => (placed.collected = (placed.collected ?? '') + c.digits));
    this.calls.set(conversationId, placed);
    // Before the first status, so whoever watches this call sees every one of them.
    extra.onCreated?.(conversationId);
    const now = this.options.clock.now();
    this.recordWrite(conversationId, 'outbound call record not written', (records) =>
      records.insert({ conversationId, source: request.source, bot: request.bot ?? null, target, caller, notifyUrl: extra.notifyUrl ?? null, request: extra.callback ? { ...normalized, statusCallback: extra.callback } : normalized, status: 'initiated', createdAt: now }),
    );
    this.publish({ conversationId, carrier: carrier.name, status: 'initiated', at: now });
    this.pacerOf(carrier.name).schedule(() => void this.fire(conversationId));
    return { conversationId };
  }

  /** Refuses what could never be placed, naming the field; returns the carrier the call would go through. */
  check(request: Pick<OutboundCallRequest, 'bot' | 'carrier' | 'caller' | 'dialPlan'> & Partial<Pick<OutboundCallRequest, 'machineDetection'>>): Carrier {
    if (request.bot === undefined && request.dialPlan === undefined) throw new OutboundRequestError('bot: give the bot that talks to the callee (or a dialPlan)');
    if (request.bot !== undefined && !this.options.knowsBot(request.bot)) throw new OutboundRequestError(`bot: unknown bot "${request.bot}"`);
    if (request.dialPlan && !this.options.dialPlanConnector) throw new OutboundRequestError('dialPlan: dial plans are not available on this gateway');
    const carrier = this.chooseCarrier(request.carrier, request.caller.replace(/^tel:/i, ''));
    const refusal = carrier.cannotPlace?.({ machineDetection: request.machineDetection });
    if (refusal) throw new OutboundRequestError(refusal);
    return carrier;
  }

  /** The carrier a request names, else the caller number's carrier, else the only one configured that places calls. */
  private chooseCarrier(requested: string | undefined, caller: string): Carrier {
    const { carriers, carrierOfNumber } = this.options;
    const configured = carriers.names.join(', ');
    if (requested !== undefined) {
      const carrier = carriers.get(requested);
      if (!carrier) throw new OutboundRequestError(`carrier: "${requested}" is not configured (configured: ${configured})`);
      return carrier;
    }
    const owner = carrierOfNumber?.(caller);
    const ownerCarrier = owner === undefined ? undefined : carriers.get(owner);
    if (ownerCarrier) return ownerCarrier;
    // Carriers that can never dial out (browsers call in over WebRTC) do not make the choice ambiguous.
    const dialable = carriers.names.filter((name) => carriers.get(name)?.cannotPlace?.({}) === undefined);
    if (dialable.length === 1) return carriers.get(dialable[0])!;
    throw new OutboundRequestError(`carrier: ${dialable.length} carriers are configured (${dialable.join(', ')}); name one, or give the caller number ${caller} a route that names its carrier`);
  }

  /** The carrier a call this dialer placed goes through. */
  carrierOf(callId: string): string | undefined {
    return this.calls.get(callId)?.carrier.name;
  }

  /** The request behind a call this dialer placed (undefined for inbound calls). */
  request(callId: string): OutboundCallRequest | undefined {
    return this.calls.get(callId)?.request;
  }

  notifyUrl(callId: string): string | undefined {
    return this.calls.get(callId)?.notifyUrl;
  }

  isOutbound(callId: string): boolean {
    return this.calls.has(callId);
  }

  /** The connector for a dial-plan call, handed out once (undefined when the call has a configured bot). */
  dialPlanConnector(callId: string): BotConnector | undefined {
    const call = this.calls.get(callId);
    const bot = call?.dialPlanBot;
    if (call) call.dialPlanBot = undefined;
    return bot;
  }

  ringing(callId: string): void {
    if (this.calls.get(callId)?.status === 'initiated') this.transition(callId, 'ringing');
  }

  answered(callId: string): void {
    const call = this.calls.get(callId);
    if (!call || call.status === 'answered') return;
    call.answeredAt = this.options.clock.now();
    this.transition(callId, 'answered');
  }

  /** The carrier reported the call unanswered; returns the reason it means. */
  failed(callId: string, failure: OutboundFailure): OutboundReasonCode {
    const call = this.calls.get(callId);
    if (!call) return 'error';
    const reasonCode = call.carrier.outboundReason(failure);
    this.transition(callId, 'failed', { reasonCode, reason: failure.cause });
    this.calls.delete(callId);
    return reasonCode;
  }

  machineDetected(callId: string, isMachine: boolean): void {
    const call = this.calls.get(callId);
    if (call) call.machine = isMachine;
  }

  /** Calls waiting for their rate slot. */
  get queued(): number {
    let waiting = 0;
    for (const pacer of this.pacers.values()) waiting += pacer.waiting;
    return waiting;
  }

  close(): void {
    for (const pacer of this.pacers.values()) pacer.close();
    for (const u of this.unsubscribe.splice(0)) u();
  }

  private pacerOf(carrier: string): CallPacer {
    let pacer = this.pacers.get(carrier);
    if (!pacer) {
      const rate = this.options.carrierCallsPerSecond?.[carrier] ?? this.options.callsPerSecond;
      pacer = this.options.pacer?.(carrier, rate) ?? new CallRateLimiter(rate, this.options.clock);
      this.pacers.set(carrier, pacer);
    }
    return pacer;
  }

  private async fire(callId: string): Promise<void> {
    const call = this.calls.get(callId);
    if (!call) return;
    const { request, carrier } = call;
    try {
      const { carrierRequestId } = await carrier.placeCall({
        callId,
        from: request.caller,
        to: request.target,
        callerDisplayName: request.callerDisplayName,
        ringTimeoutSec: this.options.ringTimeoutSec ?? 45,
        machineDetection: request.machineDetection,
      });
      call.requestUuid = carrierRequestId;
      const updatedAt = this.options.clock.now();
      this.recordWrite(callId, `outbound call record not updated with the carrier request id ${carrierRequestId}`, (records) => records.update(callId, { carrierRequestId }, updatedAt));
      this.log.info({ callId, carrier: carrier.name, target: request.target, carrierRequestId }, 'outbound call fired');
    } catch (err) {
      this.log.error({ err, callId, carrier: carrier.name, target: request.target }, `${carrier.name} refused the outbound call`);
      this.options.bus.publish('provider.error', { kind: 'carrier', provider: carrier.name, callId, error: err instanceof Error ? err.message : String(err), at: this.options.clock.now() });
      if (!this.calls.has(callId)) return;
      this.transition(callId, 'failed', { reasonCode: 'error', reason: err instanceof Error ? err.message : String(err) });
      this.calls.delete(callId);
    }
  }

  /**
   * Writes to one call's record run one after another: a callee answering at once must not see its
   * `ringing` update land after `answered` (the row would stay ringing, and a survivor closing a lost
   * instance's calls would report an answered call as failed).
   */
  private recordWrite(callId: string, failure: string, write: (records: OutboundCallRepository) => Promise<unknown>): void {
    const records = this.options.records;
    if (!records) return;
    const next = (this.recordWrites.get(callId) ?? Promise.resolve()).then(() => write(records)).then(
      () => undefined,
      (err: unknown) => this.log.error({ err, callId }, failure),
    );
    this.recordWrites.set(callId, next);
    void next.then(() => {
      if (this.recordWrites.get(callId) === next) this.recordWrites.delete(callId);
    });
  }

  private transition(callId: string, status: OutboundStatus, extra: Partial<OutboundStatusEvent> = {}): void {
    const call = this.calls.get(callId);
    if (call) call.status = status;
    const at = this.options.clock.now();
    this.recordWrite(callId, `outbound call record not updated to ${status}`, (records) => records.update(callId, { status, ...(extra.reasonCode ? { reasonCode: extra.reasonCode } : {}) }, at));
    this.publish({ conversationId: callId, ...(call ? { carrier: call.carrier.name } : {}), status, at, ...extra });
  }

  private publish(event: OutboundStatusEvent): void {
    this.log.debug({ ...event }, 'outbound status');
    this.options.bus.publish('outbound.status', event);
  }
}
