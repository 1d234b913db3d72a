/**
 * The calls this process is handling: the one live-call registry. Implements the carriers' CallHandler
 * (carriers find calls here by their own call ids and keep no maps of their own), starts a CallSession
 * when a leg comes up and writes the call's start and end to the event bus. The carrier's hangup
 * callback is authoritative for the record; if it never comes, the CallReaper asks the carrier and ends
 * the call (as it does for calls whose stream never opens or goes silent). Every live call, and every
 * outbound call from the moment the dialer places it, is also registered in the call directory
 * (`useDirectory`), where siblings find its owner and the service-wide live list reads it.
 */
import type { Logger } from 'pino';
import type { CallEnd, CallHandler, CallInfo, CarrierLeg, LegHangup, LiveCallView, OutboundFailure } from '../carriers/leg.js';
import type { BotConnector } from '../bots/connector.js';
import type { OutboundDialer } from '../dialer/outbound-dialer.js';
import { CallSession, type SessionEnd } from '../call/call-session.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { PromptAudioSource } from '../call/prompt-audio.js';
import type { EventBus } from '../events/bus.js';
import type { SttProvider } from '../speech/stt/provider.js';
import type { BotDirectory } from './bot-directory.js';
import { EarlyStartedConnector } from '../bots/early-started-connector.js';
import { botConversationInfo } from '../call/conversation-opening.js';
import type { CallSettings } from '../call/settings.js';
import type { Carrier } from '../carriers/carrier.js';
import { CallReaper, DEFAULT_REAPING, type Reaped, type ReapReason, type ReapingSettings } from './call-reaper.js';
import type { CallDirectory } from '../cluster/call-directory.js';
import { DirectoryRegistration } from '../cluster/directory-registration.js';
import type { OutboundStatusEvent } from '../events/outbound-events.js';

export interface LiveCallsDeps {
  bots: BotDirectory;
  audio: PromptAudioSource;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  stt?: SttProvider;
  /** Where call recordings are written. */
  recordingsDir?: string;
  /** The TTS provider's name, for per-turn records. */
  ttsProvider?: string;
  /** Places outbound calls; their callbacks come back through this handler. */
  outbound?: OutboundDialer;
  /** The configured carriers: the reaper asks them about calls that went quiet. */
  carriers?: { get(name: string): Carrier | undefined };
  /** Bounds after which calls the carrier went quiet on are ended (config `liveCalls`). */
  reaping?: Partial<ReapingSettings>;
}

interface LiveCall {
  info: CallInfo;
  botName: string;
  startedAt: number;
  /** The bot, started while the caller still hears ringing (connectOnBotPrompt); the session takes it over. */
  earlyBot?: { connector: EarlyStartedConnector; settings: CallSettings };
  /** The bot made at answer time but not started (connectOnBotPrompt off): the session starts it. */
  preparedBot?: { connector: BotConnector; settings: CallSettings };
  session?: CallSession;
  leg?: CarrierLeg;
  /** Set once the leg's media connection ended. */
  legEnd?: LegHangup;
}

/** The bot name recorded for calls that run a dial plan instead of a configured bot. */
const DIAL_PLAN_BOT = 'dial-plan';

/** How many ended calls are remembered, to refuse a carrier's late media socket or duplicate callbacks for them. */
const ENDED_MEMORY = 10_000;

const carrierKey = (carrier: string, carrierCallId: string) => `${carrier}\n${carrierCallId}`;

export class LiveCalls implements CallHandler {
  private readonly calls = new Map<string, LiveCall>();
  /** The same calls by carrier and the carrier's call id. */
  private readonly byCarrierId = new Map<string, LiveCall>();
  /** Carrier call ids of ended calls -> Voxgate's id (insertion-ordered, oldest dropped). */
  private readonly ended = new Map<string, string>();

  /** Speech for new calls; replaced when the providers are edited at run time (calls up keep theirs). */
  private speech: Pick<LiveCallsDeps, 'audio' | 'stt' | 'ttsProvider'>;
  /** Ends calls whose stream never opens, goes silent, or whose hangup callback never comes. */
  readonly reaper: CallReaper;
  /** This instance's calls in the call directory (sent and forgotten: Redis never holds up a call). */
  private readonly directory: DirectoryRegistration;
  /** Waiting for the last live call to end (a drain). */
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly deps: LiveCallsDeps) {
    this.speech = { audio: deps.audio, stt: deps.stt, ttsProvider: deps.ttsProvider };
    this.reaper = new CallReaper({
      clock: deps.clock,
      logger: deps.logger,
      settings: { ...DEFAULT_REAPING, ...deps.reaping },
      carrier: (name) => deps.carriers?.get(name),
      finish: (callId, reaped) => this.endReaped(callId, reaped),
    });
    this.directory = new DirectoryRegistration(deps.logger, deps.clock);
    // A placed call's ring, answer and hangup callbacks may reach a sibling: it must find the owner from the start.
    if (deps.outbound) deps.bus.subscribe('outbound.status', (e) => this.followOutbound(e));
  }

  /** Registers live calls in `directory` from now on (it exists only once the server listens). */
  useDirectory(directory: CallDirectory): void {
    this.directory.attach(directory);
  }

  /** Resolves once no call is live (at once when none is). */
  untilIdle(): Promise<void> {
    if (this.calls.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** New calls use these speech providers from now on. */
  useSpeech(speech: Pick<LiveCallsDeps, 'audio' | 'stt' | 'ttsProvider'>): void {
    this.speech = speech;
  }

  get size(): number {
    return this.calls.size;
  }

  get(callId: string): { info: CallInfo; botName: string; session?: CallSession } | undefined {
    return this.calls.get(callId);
  }

  findCall(carrier: string, carrierCallId: string): LiveCallView | undefined {
    const call = this.byCarrierId.get(carrierKey(carrier, carrierCallId));
    if (!call) return undefined;
    return { info: call.info, ...(call.leg && !call.legEnd ? { leg: call.leg } : {}) };
  }

  endedCall(carrier: string, carrierCallId: string): string | undefined {
    return this.ended.get(carrierKey(carrier, carrierCallId));
  }

  /** The calls up now, oldest first: what the console's live list shows. */
  list(): { callId: string; info: CallInfo; botName: string; startedAt: number; connected: boolean }[] {
    return [...this.calls.values()].map((c) => ({ callId: c.info.callId, info: c.info, botName: c.botName, startedAt: c.startedAt, connected: c.session !== undefined }));
  }

  /**
   * The carrier offers a call and waits for instructions. With connectOnBotPrompt the bot is started
   * now and the answer waits (the caller hears ringing) until its first message is ready, or
   * connectOnBotPromptTimeoutMS passes.
   */
  async callAnswered(offered: CallInfo): Promise<void> {
    const request = this.deps.outbound?.request(offered.callId);
    const info: CallInfo = request ? { ...offered, direction: 'outbound', outbound: { target: request.target, metadata: request.metadata } } : offered;
    // Throws when no route takes the call: the carrier then refuses it, and nothing is registered.
    const botName = request ? (request.bot ?? DIAL_PLAN_BOT) : info.bot !== undefined ? this.deps.bots.named(info.bot).name : this.deps.bots.route(info.to, info.carrier).name;
    const at = this.deps.clock.now();
    const call: LiveCall = { info, botName, startedAt: at };
    this.calls.set(info.callId, call);
    this.byCarrierId.set(carrierKey(info.carrier, info.carrierCallId), call);
    this.directory.register({ callId: info.callId, carrier: info.carrier, carrierCallId: info.carrierCallId, direction: info.direction, from: info.from, to: info.to, bot: botName, startedAt: at, connected: false });
    this.deps.bus.publish('call.started', { callId: info.callId, carrier: info.carrier, carrierCallId: info.carrierCallId, direction: info.direction, from: info.from, to: info.to, bot: botName, at });
    try {
      const early = this.startBotEarly(call);
      if (early) await this.untilFirstPromptOrTimeout(early.connector, early.settings.connectOnBotPromptTimeoutMS);
    } catch (err) {
      // The carrier refuses the call; the record says why it ended.
      this.finish(call, { cause: `Voxgate could not start the call: ${err instanceof Error ? err.message : String(err)}`, side: 'gateway' }, 'config-error');
      throw err;
    }
    if (!this.calls.has(info.callId)) return; // hung up while ringing
    // A streamed call is answered once the carrier has its instructions.
    this.deps.bus.publish('call.answered', { callId: info.callId, at: this.deps.clock.now() });
    if (!call.session) this.reaper.answered(info);
    if (request) this.deps.outbound?.answered(info.callId);
    this.deps.logger.info({ callId: info.callId, carrier: info.carrier, from: info.from, to: info.to, bot: botName, waitedMs: this.deps.clock.now() - at }, 'call answered');
  }

  isOutbound(callId: string): boolean {
    return this.deps.outbound?.isOutbound(callId) ?? false;
  }

  callRinging(callId: string): void {
    this.deps.outbound?.ringing(callId);
  }

  carrierCallback(callId: string): void {
    this.reaper.carrierSpoke(callId);
  }

  /** An outbound call nobody answered still leaves a call record, ended with the reason. */
  callFailed(callId: string, failure: OutboundFailure, carrierCallId = callId): void {
    const outbound = this.deps.outbound;
    const request = outbound?.request(callId);
    const carrier = outbound?.carrierOf(callId);
    if (!outbound || !request || !carrier) return;
    const at = this.deps.clock.now();
    // The dialer first, so the record's call.ended below is not taken for the end of an answered call.
    const reason = outbound.failed(callId, failure);
    this.rememberEnded(carrier, carrierCallId, callId);
    this.deps.bus.publish('call.started', { callId, carrier, carrierCallId, direction: 'outbound', from: request.caller, to: request.target, bot: request.bot ?? DIAL_PLAN_BOT, at });
    this.deps.bus.publish('call.ended', { callId, at, cause: failure.cause, side: 'carrier', reason });
  }

  machineDetected(callId: string, isMachine: boolean): void {
    this.deps.outbound?.machineDetected(callId, isMachine);
    this.reaper.carrierSpoke(callId);
    const session = this.calls.get(callId)?.session;
    if (session && this.deps.outbound?.request(callId)?.machineDetection === 'detect') session.notifyBot('machineDetected', isMachine);
  }

  legStarted(info: CallInfo, leg: CarrierLeg): void {
    const call = this.calls.get(info.callId);
    const log = this.deps.logger.child({ callId: info.callId });
    if (!call) {
      log.warn('media leg for a call that is not live; hanging up');
      leg.hangup('unknown-call').catch(() => undefined);
      return;
    }
    if (call.session) {
      log.warn('second media leg for a call that already has one; hanging it up');
      leg.hangup('duplicate-stream').catch(() => undefined);
      return;
    }
    const early = call.earlyBot;
    const { connector, settings } = early ?? call.preparedBot ?? this.createConnector(call);
    call.earlyBot = undefined;
    call.preparedBot = undefined;
    const session = new CallSession({ info, leg, bot: connector, audio: this.speech.audio, settings, bus: this.deps.bus, clock: this.deps.clock, logger: this.deps.logger, stt: this.speech.stt, recordingsDir: this.deps.recordingsDir, ttsProvider: this.speech.ttsProvider, botName: call.botName, botStartedAt: early?.connector.startedAt });
    call.session = session;
    call.leg = leg;
    this.directory.update(info.callId, { connected: true });
    this.reaper.streamOpened(info, leg);
    leg.once('hangup', (h) => {
      call.legEnd = h;
      if (!this.calls.has(info.callId)) return; // the carrier's callback already ended the call
      this.reaper.streamClosed(info, session.endedWith?.reason === 'transferred');
    });
    session.start().catch((err: unknown) => log.error({ err }, 'session failed to start'));
  }

  callEnded(callId: string, end: CallEnd): void {
    const call = this.calls.get(callId);
    if (!call) {
      this.deps.logger.info({ callId, cause: end.cause }, 'hangup callback for a call that is not live');
      return;
    }
    call.session?.end({ reason: end.side === 'caller' ? 'caller-hangup' : 'carrier-hangup', byGateway: false, detail: end.cause });
    this.finish(call, end, end.reason);
    call.leg?.endFromCarrier(end);
  }

  /** The reaper gave up on a call the carrier went quiet on: end its conversation and release its stream. */
  private endReaped(callId: string, { end, reason }: Reaped): void {
    const call = this.calls.get(callId);
    if (!call) return; // the carrier's callback came while the carrier was being asked
    if (reason) call.session?.end({ reason: 'carrier-hangup', byGateway: true, detail: end?.cause ?? reason });
    this.finish(call, end, reason);
    if (end && !call.legEnd) call.leg?.endFromCarrier(end);
  }

  /**
   * Hangs up every live call and ends its record with reason `shutdown` (shutdown, or a drain whose
   * deadline passed): through its leg when the media is up, else through the carrier's API, so no
   * caller is left on a line nobody serves.
   */
  endAll(detail = 'gateway shutting down'): void {
    for (const call of [...this.calls.values()]) {
      call.session?.end({ reason: 'carrier-hangup', byGateway: true, detail });
      if (call.leg && !call.legEnd) call.leg.hangup('gateway-shutdown').catch(() => undefined);
      else this.hangUpAtCarrier(call.info);
      this.finish(call, { cause: 'Gateway Shutdown', side: 'gateway' }, 'shutdown');
    }
  }

  private hangUpAtCarrier(info: CallInfo): void {
    const carrier = this.deps.carriers?.get(info.carrier);
    if (!carrier?.hangupCall) return;
    carrier.hangupCall(info.carrierCallId).catch((err: unknown) => this.deps.logger.warn({ err, callId: info.callId, carrier: info.carrier }, 'could not hang the call up at the carrier'));
  }

  /** Outbound calls are in the directory from the moment they are placed until they end or fail. */
  private followOutbound(e: OutboundStatusEvent): void {
    const callId = e.conversationId;
    if (e.status === 'initiated') {
      const request = this.deps.outbound?.request(callId);
      if (!request || this.calls.has(callId)) return;
      this.directory.register({ callId, carrier: e.carrier ?? request.carrier ?? '', direction: 'outbound', from: request.caller, to: request.target, bot: request.bot ?? DIAL_PLAN_BOT, startedAt: e.at, connected: false });
    } else if ((e.status === 'failed' || e.status === 'completed') && !this.calls.has(callId)) {
      this.directory.unregister(callId);
    }
  }

  private startBotEarly(call: LiveCall): LiveCall['earlyBot'] {
    const created = this.createConnector(call);
    let conversation;
    try {
      conversation = created.settings.connectOnBotPrompt ? botConversationInfo(call.info, created.settings, this.deps.clock.now()) : undefined;
    } catch {
      conversation = undefined; // a settings error: the session reports it and ends the call
    }
    if (!conversation) {
      call.preparedBot = created;
      return undefined;
    }
    call.earlyBot = { connector: new EarlyStartedConnector(created.connector, conversation, this.deps.clock.now()), settings: created.settings };
    return call.earlyBot;
  }

  /** The configured bot, or for a dial-plan call the dialer's dial-plan connector with the default settings. */
  private createConnector(call: LiveCall): { connector: BotConnector; settings: CallSettings } {
    const dialPlan = this.deps.outbound?.dialPlanConnector(call.info.callId);
    return dialPlan ? this.deps.bots.withDefaults(dialPlan) : this.deps.bots.create(call.botName, call.info, this.deps.logger);
  }

  private async untilFirstPromptOrTimeout(connector: EarlyStartedConnector, timeoutMs: number): Promise<void> {
    let timer: TimerHandle | undefined;
    await Promise.race([connector.firstPrompt, new Promise<void>((resolve) => (timer = this.deps.clock.setTimeout(resolve, timeoutMs)))]);
    timer?.cancel();
  }

  private rememberEnded(carrier: string, carrierCallId: string, callId: string): void {
    this.ended.set(carrierKey(carrier, carrierCallId), callId);
    if (this.ended.size > ENDED_MEMORY) this.ended.delete(this.ended.keys().next().value as string);
  }

  /** `reason` when the call did not end as a conversation does: Voxgate could not start it, or it was reaped. */
  private finish(call: LiveCall, carrierEnd: CallEnd | undefined, reason?: 'config-error' | 'shutdown' | ReapReason | CallEnd['reason']): void {
    if (!this.calls.delete(call.info.callId)) return;
    this.directory.unregister(call.info.callId);
    const key = carrierKey(call.info.carrier, call.info.carrierCallId);
    if (this.byCarrierId.get(key) === call) this.byCarrierId.delete(key);
    this.rememberEnded(call.info.carrier, call.info.carrierCallId, call.info.callId);
    this.reaper.forget(call.info.callId);
    // Started while ringing, but the media never came: the bot still hears that the call is over.
    call.earlyBot?.connector.end('client-disconnected', 'caller hung up before the call connected').catch(() => undefined);
    const sessionEnd: SessionEnd | undefined = call.session?.endedWith;
    const cause = carrierEnd?.cause ?? call.legEnd?.cause ?? 'Media Closed';
    // A transferred call may go on after the bot (a bridge): who ended it is then what the carrier says.
    const gatewayEnded = sessionEnd?.byGateway && !(sessionEnd.reason === 'transferred' && carrierEnd);
    const side = gatewayEnded ? 'gateway' : (carrierEnd?.side ?? call.legEnd?.side ?? 'carrier');
    // A conversation the far end ended takes the carrier's word for who hung up (the stream may have closed first).
    const sessionReason = sessionEnd?.byGateway || !carrierEnd ? sessionEnd?.reason : undefined;
    const endReason = reason ?? sessionReason ?? (side === 'caller' ? 'caller-hangup' : 'carrier-hangup');
    const at = this.deps.clock.now();
    this.deps.bus.publish('call.ended', { callId: call.info.callId, at, cause, side, reason: endReason, durationSec: carrierEnd?.durationSec });
    this.deps.logger.info({ callId: call.info.callId, cause, side, reason: endReason, durationSec: carrierEnd?.durationSec }, 'call ended');
    if (this.calls.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }
}
