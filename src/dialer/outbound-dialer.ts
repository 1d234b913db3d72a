/**
 * Places calls through Plivo's Call API and follows each one to its end: initiated -> (ringing) ->
 * answered -> completed, or failed with a reason code (no-answer, busy, declined, machine-detected,
 * error). Every change is published on the bus as `outbound.status`. Calls start at the configured
 * calls-per-second rate; extra requests wait in order rather than being refused.
 *
 * The call id is chosen here and travels in the (signed) answer, hangup, ring and machine URLs, so
 * every Plivo callback names the call without a lookup by request UUID.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { BotConnector } from '../bots/connector.js';
import { DialPlanBot } from '../bots/dial-plan/index.js';
import type { OutboundFailure } from '../carriers/leg.js';
import type { MakeCallParams, MakeCallResult } from '../carriers/plivo/rest-client.js';
import type { Clock } from '../runtime/clock.js';
import type { EventBus } from '../events/bus.js';
import type { OutboundCallRepository } from '../store/outbound-call-repository.js';
import { CallRateLimiter } from './call-rate-limiter.js';
import { OutboundRequestError, type CallPlacer, type OutboundCallRequest } from './outbound.js';
import type { OutboundReasonCode, OutboundStatus, OutboundStatusEvent } from '../events/outbound-events.js';

export interface OutboundDialerOptions {
  /** Plivo's Call API (or anything with its shape). */
  carrier: { makeCall(params: MakeCallParams): Promise<MakeCallResult> };
  /** Voxgate's public base URL (Plivo's callbacks reach it there), read per call. */
  publicUrl: () => string;
  /** Mount point of the Plivo routes; default /plivo. */
  plivoPrefix?: string;
  /** Whether a configured bot answers to this name. */
  knowsBot: (name: string) => boolean;
  /** Builds the connector that runs a dial plan (the conversation API). */
  dialPlanConnector?: (request: OutboundCallRequest, callId: string) => BotConnector;
  callsPerSecond: number;
  /** Seconds the callee's phone may ring. Default 45. */
  ringTimeoutSec?: number;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  records?: OutboundCallRepository;
}

interface PlacedCall {
  request: OutboundCallRequest;
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

/** Plivo's outbound failure report -> the dialout API's reason code. */
export function outboundReasonCode(failure: OutboundFailure): OutboundReasonCode {
  const status = (failure.status ?? '').toLowerCase();
  const cause = failure.cause.toLowerCase();
  if (cause.includes('machine')) return 'machine-detected';
  if (status === 'busy' || cause.includes('busy')) return 'busy';
  if (cause.includes('reject') || cause.includes('declin')) return 'declined';
  if (status === 'no-answer' || status === 'timeout' || cause.includes('no answer') || cause.includes('timeout')) return 'no-answer';
  return 'error';
}

export class OutboundDialer implements CallPlacer {
  private readonly calls = new Map<string, PlacedCall>();
  private readonly limiter: CallRateLimiter;
  private readonly log: Logger;
  private readonly unsubscribe: (() => void)[];

  constructor(private readonly options: OutboundDialerOptions) {
    this.limiter = new CallRateLimiter(options.callsPerSecond, options.clock);
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
  async place(request: OutboundCallRequest, extra: { notifyUrl?: string; onCreated?: (conversationId: string) => void } = {}): Promise<{ conversationId: string }> {
    const target = request.target.replace(/^tel:/i, '').replace(/[\s()-]/g, '');
    if (!E164ISH.test(target)) throw new OutboundRequestError(`target: "${request.target}" is not a phone number (expected E.164 such as +14155550100, optionally tel:)`);
    const caller = request.caller.replace(/^tel:/i, '');
    if (!E164ISH.test(caller.replace(/[\s()-]/g, ''))) throw new OutboundRequestError(`caller: "${request.caller}" is not a phone number`);
    if (request.bot === undefined && request.dialPlan === undefined) throw new OutboundRequestError('bot: give the bot that talks to the callee (or a dialPlan)');
    if (request.bot !== undefined && !this.options.knowsBot(request.bot)) throw new OutboundRequestError(`bot: unknown bot "${request.bot}"`);
    if (request.dialPlan && !this.options.dialPlanConnector) throw new OutboundRequestError('dialPlan: dial plans are not available on this gateway');
    const conversationId = randomUUID();
    const normalized = { ...request, target, caller };
    let dialPlanBot: BotConnector | undefined;
    try {
      dialPlanBot = request.dialPlan && this.options.dialPlanConnector?.(normalized, conversationId);
    } catch (err) {
      throw new OutboundRequestError(`dialPlan: ${err instanceof Error ? err.message : String(err)}`);
    }
    const placed: PlacedCall = { request: normalized, status: 'initiated', dtmf: '', notifyUrl: extra.notifyUrl, dialPlanBot };
    if (dialPlanBot instanceof DialPlanBot) dialPlanBot.outcome.on('collect', (c) => (placed.collected = (placed.collected ?? '') + c.digits));
    this.calls.set(conversationId, placed);
    // Before the first status, so whoever watches this call sees every one of them.
    extra.onCreated?.(conversationId);
    const now = this.options.clock.now();
    this.options.records
      ?.insert({ conversationId, source: request.source, bot: request.bot ?? null, target, caller, notifyUrl: extra.notifyUrl ?? null, request: normalized, status: 'initiated', createdAt: now })
      .catch((err: unknown) => this.log.error({ err, conversationId }, 'outbound call record not written'));
    this.publish({ conversationId, status: 'initiated', at: now });
    this.limiter.schedule(() => void this.fire(conversationId));
    return { conversationId };
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

  failed(callId: string, failure: OutboundFailure): void {
    if (!this.calls.has(callId)) return;
    this.transition(callId, 'failed', { reasonCode: outboundReasonCode(failure), reason: failure.cause });
    this.calls.delete(callId);
  }

  machineDetected(callId: string, isMachine: boolean): void {
    const call = this.calls.get(callId);
    if (call) call.machine = isMachine;
  }

  /** Calls waiting for their rate slot. */
  get queued(): number {
    return this.limiter.waiting;
  }

  close(): void {
    this.limiter.close();
    for (const u of this.unsubscribe.splice(0)) u();
  }

  private async fire(callId: string): Promise<void> {
    const call = this.calls.get(callId);
    if (!call) return;
    const { request } = call;
    const base = `${this.options.publicUrl().replace(/\/+$/, '')}${this.options.plivoPrefix ?? '/plivo'}`;
    const q = `?callId=${encodeURIComponent(callId)}`;
    try {
      const res = await this.options.carrier.makeCall({
        from: request.caller,
        to: request.target,
        answerUrl: `${base}/answer${q}`,
        hangupUrl: `${base}/hangup${q}`,
        ringUrl: `${base}/ring${q}`,
        callerName: request.callerDisplayName,
        ringTimeout: this.options.ringTimeoutSec ?? 45,
        ...(request.machineDetection
          ? { machineDetection: request.machineDetection === 'disconnect' ? ('hangup' as const) : ('true' as const), machineDetectionUrl: `${base}/machine${q}` }
          : {}),
      });
      call.requestUuid = res.requestUuid;
      this.options.records?.update(callId, { carrierRequestId: res.requestUuid }, this.options.clock.now()).catch(() => undefined);
      this.log.info({ callId, target: request.target, requestUuid: res.requestUuid }, 'outbound call fired');
    } catch (err) {
      this.log.error({ err, callId, target: request.target }, 'Plivo refused the outbound call');
      this.options.bus.publish('provider.error', { kind: 'carrier', provider: 'plivo', callId, error: err instanceof Error ? err.message : String(err), at: this.options.clock.now() });
      if (!this.calls.has(callId)) return;
      this.transition(callId, 'failed', { reasonCode: 'error', reason: err instanceof Error ? err.message : String(err) });
      this.calls.delete(callId);
    }
  }

  private transition(callId: string, status: OutboundStatus, extra: Partial<OutboundStatusEvent> = {}): void {
    const call = this.calls.get(callId);
    if (call) call.status = status;
    const at = this.options.clock.now();
    this.options.records?.update(callId, { status, ...(extra.reasonCode ? { reasonCode: extra.reasonCode } : {}) }, at).catch((err: unknown) => this.log.error({ err, callId }, 'outbound call record not updated'));
    this.publish({ conversationId: callId, status, at, ...extra });
  }

  private publish(event: OutboundStatusEvent): void {
    this.log.debug({ ...event }, 'outbound status');
    this.options.bus.publish('outbound.status', event);
  }
}
