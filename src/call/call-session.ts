/**
 * One call: joins a carrier leg, the caller's speech (VAD, optional STT), the bot connector and
 * prompt playout. Behaviour lives in the collaborators (PromptQueue, BargeInPolicy, DtmfCollector,
 * NoInputTimer); this class routes events between them and maps bot activities to actions.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Activity } from '../bots/activity.js';
import { eventActivity, messageActivity } from '../bots/activity.js';
import type { BotConnector, BotDisconnectReason } from '../bots/connector.js';
import type { CallInfo, CarrierLeg } from '../carriers/leg.js';
import type { EventBus } from '../events/bus.js';
import { VoiceActivityDetector } from '../media/vad.js';
import type { SttProvider, SttResult, SttSession } from '../speech/stt/provider.js';
import { BargeInPolicy } from './barge-in-policy.js';
import { decodeBotActivity } from './bot-command.js';
import { MetadataForwarder } from './metadata-forwarder.js';
import type { Clock } from './clock.js';
import { DtmfCollector, type DtmfCollectOptions } from './dtmf-collector.js';
import { NoInputTimer, type NoInputOptions } from './no-input-timer.js';
import { UtteranceCollector, type UtteranceCollectorOptions } from './utterance-collector.js';
import type { PromptAudioSource } from './prompt-audio.js';
import { PromptQueue, type Prompt, type PromptOutcome } from './prompt-queue.js';
import { mergeSettings, parseSettingsOverrides, type CallSettings } from './settings.js';

export interface CallSessionDeps {
  info: CallInfo;
  leg: CarrierLeg;
  bot: BotConnector;
  audio: PromptAudioSource;
  /** Settings from defaults, base bot and bot, already merged. */
  settings: CallSettings;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  stt?: SttProvider;
}

/** Why the conversation ended, as recorded on the call. */
export type EndReason = 'caller-hangup' | 'bot-hangup' | 'transferred' | 'no-input' | 'bot-no-response' | 'bot-error' | 'config-error' | 'carrier-hangup';

export interface SessionEnd {
  reason: EndReason;
  /** The hangup was Voxgate's doing (bot hangup, give-up, transfer). */
  byGateway: boolean;
  detail?: string;
}

export interface CallSessionEventMap {
  ended: [end: SessionEnd];
}

type PendingAction = { kind: 'hangup'; reason: string; endReason: EndReason } | { kind: 'transfer'; target: string; headers: Record<string, string> };

const DTMF_DIGITS = /^[0-9*#A-D]$/;

export class CallSession extends EventEmitter<CallSessionEventMap> {
  readonly callId: string;
  private settings: CallSettings;
  private readonly log: Logger;
  private readonly queue: PromptQueue;
  private readonly bargeIn = new BargeInPolicy();
  private readonly dtmf: DtmfCollector;
  private readonly utterances: UtteranceCollector;
  private readonly noInput: NoInputTimer;
  /** The same waiting shape, for the bot: armed when a turn went to it, cleared by its answer. */
  private readonly botNoResponse: NoInputTimer;
  private vad: VoiceActivityDetector;
  private stt: SttSession | undefined;
  private pending: PendingAction | undefined;
  private failing = false;
  private metadata: MetadataForwarder | undefined;
  private expectBotMessage = false;
  private ended: SessionEnd | undefined;
  private readonly onLegAudio = (frame: Int16Array) => this.handleAudio(frame);

  constructor(private readonly deps: CallSessionDeps) {
    super();
    this.callId = deps.info.callId;
    this.settings = deps.settings;
    this.log = deps.logger.child({ callId: this.callId });
    this.queue = new PromptQueue(deps.leg, deps.clock);
    this.dtmf = new DtmfCollector(deps.clock, this.dtmfOptions());
    this.utterances = new UtteranceCollector(deps.clock, this.utteranceOptions());
    this.noInput = new NoInputTimer(deps.clock, this.noInputOptions());
    this.botNoResponse = new NoInputTimer(deps.clock, this.botNoResponseOptions());
    this.vad = this.createVad();
  }

  get currentSettings(): Readonly<CallSettings> {
    return this.settings;
  }

  get endedWith(): SessionEnd | undefined {
    return this.ended;
  }

  async start(): Promise<void> {
    const { leg, bot, info } = this.deps;
    leg.on('audio', this.onLegAudio);
    leg.on('dtmf', (digit) => this.handleDtmf(digit));
    leg.on('mark', (name) => this.queue.onMark(name));
    leg.on('hangup', (h) => this.end({ reason: h.side === 'caller' ? 'caller-hangup' : 'carrier-hangup', byGateway: false, detail: h.cause }));
    this.queue.on('finished', (o) => this.recordPrompt(o));
    this.queue.on('failed', (prompt, err) => this.log.error({ err, promptId: prompt.id }, 'prompt audio failed; skipped'));
    this.queue.on('idle', () => this.onPlayoutIdle());
    this.dtmf.on('submit', (digits) => this.sendTurnToBot(eventActivity('DTMF', { value: digits }, this.deps.clock.now())));
    this.utterances.on('submit', (text, parts) => this.sendTurnToBot(messageActivity(text, { parameters: { recognitions: parts } }, this.deps.clock.now())));
    this.noInput.on('reprompt', (attempt) => this.reprompt(attempt));
    this.botNoResponse.on('reprompt', (attempt) => this.botStillSilent(attempt));
    this.botNoResponse.on('giveUp', (attempts) => {
      this.log.warn({ attempts }, 'bot did not answer: giving up');
      this.requestHangup('bot-no-response', 'bot-no-response');
    });
    this.noInput.on('giveUp', (attempts) => {
      this.log.info({ attempts }, 'no caller input: giving up');
      this.requestHangup('no-input', 'no-input');
    });
    bot.on('activities', (activities) => this.handleActivities(activities));
    bot.on('failure', (err) => {
      this.log.error({ err, bot: bot.botName }, 'bot failed');
      this.failed();
    });
    if (this.deps.stt) this.openStt(this.deps.stt);
    try {
      this.metadata = new MetadataForwarder(this.settings.sendMetaDataUrl, info, this.log);
    } catch (err) {
      // A placeholder that cannot be resolved is a configuration error: end the call rather than run it half-configured.
      this.log.error({ err }, 'call settings could not be resolved; ending the call');
      this.requestHangup('config-error', 'config-error');
      return;
    }
    this.log.info({ from: info.from, to: info.to, bot: bot.botName, carrier: info.carrier }, 'conversation started');
    try {
      await bot.start({
        conversationId: info.callId,
        direction: info.direction,
        caller: info.from,
        callee: info.to,
        callerDisplayName: info.callerDisplayName,
        parameters: info.extra,
      });
    } catch (err) {
      this.log.error({ err, bot: bot.botName }, 'bot did not start');
      this.failed();
    }
  }

  /** Ends the conversation (idempotent). The leg is not touched: the caller is already gone or the hangup was sent. */
  end(end: SessionEnd): void {
    if (this.ended) return;
    this.ended = end;
    this.deps.leg.off('audio', this.onLegAudio);
    this.noInput.pause();
    this.botNoResponse.pause();
    this.dtmf.reset();
    this.utterances.reset();
    this.queue.close();
    this.stt?.close();
    const code: BotDisconnectReason = end.reason === 'transferred' ? 'transferred' : end.reason === 'bot-hangup' ? 'bot-disconnected' : end.reason === 'bot-error' ? 'error' : 'client-disconnected';
    this.deps.bot.end(code, end.detail ?? end.reason).catch((err: unknown) => this.log.warn({ err }, 'bot disconnect failed'));
    this.log.info({ reason: end.reason, detail: end.detail }, 'conversation ended');
    this.emit('ended', end);
  }

  // ---- caller input -------------------------------------------------------------------------

  private handleAudio(frame: Int16Array): void {
    this.stt?.write(frame);
    const event = this.vad.process(frame);
    if (!event) return;
    if (event.type === 'speech-end') {
      this.stt?.endOfUtterance();
      this.utterances.speechEnded();
      return;
    }
    this.utterances.speechStarted();
    const decision = this.bargeIn.onSpeech(this.queue.current);
    if (decision === 'ignore') return;
    // With a word minimum the recognizer decides (onSttResult); the VAD alone cannot count words.
    if (decision === 'interrupt' && !(this.stt && this.settings.bargeInMinWordCount > 0)) this.interrupt('speech');
    this.noInput.userInput();
  }

  private handleDtmf(digit: string): void {
    if (this.ended) return;
    if (!DTMF_DIGITS.test(digit)) {
      this.log.warn({ digit }, 'ignored invalid DTMF digit');
      return;
    }
    this.deps.bus.publish('dtmf', { callId: this.callId, at: this.deps.clock.now(), digit });
    const decision = this.bargeIn.onDtmf(this.queue.current);
    if (decision === 'ignore') {
      this.log.debug({ digit }, 'DTMF during prompt ignored (barge-in on DTMF is off)');
      return;
    }
    if (decision === 'interrupt') this.interrupt('dtmf');
    this.noInput.userInput();
    if (this.utterances.digit(digit)) return;
    if (this.settings.sendDTMF) this.dtmf.press(digit);
  }

  private onSttResult(result: SttResult): void {
    if (!result.text.trim() || this.ended) return;
    const minWords = this.settings.bargeInMinWordCount;
    const playing = this.queue.current;
    if (playing && minWords > 0) {
      const decision = this.bargeIn.onRecognizedWords(playing, result.text.trim().split(/\s+/).length, minWords);
      if (decision === 'interrupt') this.interrupt('speech');
      // Too few words over a playing prompt: a backchannel, neither an interruption nor a turn.
      else if (decision === 'ignore') return;
    }
    if (!result.final) return;
    // Speech recognized while a non-interruptible prompt plays was not meant for the bot.
    if (this.bargeIn.onSpeech(this.queue.current) === 'ignore') return;
    this.noInput.userInput();
    this.deps.bus.publish('transcript', { callId: this.callId, at: this.deps.clock.now(), who: 'caller', text: result.text });
    if (this.utterances.enabled) {
      this.utterances.add(result.text);
      return;
    }
    const parameters = result.confidence === undefined ? undefined : { confidence: result.confidence };
    this.sendTurnToBot(messageActivity(result.text, { parameters }, this.deps.clock.now()));
  }

  private interrupt(by: 'speech' | 'dtmf'): void {
    const cut = this.queue.clear();
    if (cut.length) this.log.info({ by, cutPrompts: cut.length }, 'barge-in: playback cleared');
  }

  // ---- bot output ---------------------------------------------------------------------------

  private handleActivities(activities: Activity[]): void {
    for (const activity of activities) {
      if (this.ended) return;
      try {
        this.handleActivity(activity);
      } catch (err) {
        this.log.error({ err, activityId: activity.id }, 'bot activity could not be handled; skipped');
      }
    }
  }

  private handleActivity(a: Activity): void {
    if (a.sessionParams) this.applySessionParams(a.sessionParams);
    const command = decodeBotActivity(a);
    if (command.kind !== 'none' && command.kind !== 'expectAnotherBotMessage') this.botNoResponse.userInput();
    const settings = this.activitySettings(a.activityParams);
    const { leg, bus, audio, clock } = this.deps;
    switch (command.kind) {
      case 'speak':
      case 'play': {
        this.expectBotMessage = false;
        const text = command.kind === 'speak' ? command.text : command.label;
        bus.publish('transcript', { callId: this.callId, at: clock.now(), who: 'bot', text });
        this.enqueue(text, settings, command.activityId, (signal) =>
          command.kind === 'speak'
            ? audio.speak({ text, ssml: command.ssml, language: command.language ?? settings.language, voice: settings.voiceName, sampleRate: leg.sampleRate }, { noCache: settings.disableTtsCache, signal })
            : audio.playUrl(command.url, { mediaFormat: command.mediaFormat, sampleRate: leg.sampleRate, signal }),
        );
        return;
      }
      case 'hangup':
        this.requestHangup(command.reason, 'bot-hangup');
        return;
      case 'transfer':
        this.pending = { kind: 'transfer', target: command.target, headers: command.headers };
        this.onPlayoutIdle();
        return;
      case 'sendDtmf':
        leg.sendDtmf(command.digits);
        return;
      case 'abortPrompts':
        this.queue.clear();
        return;
      case 'sendMetaData':
        this.metadata?.forward(command.metadata);
        return;
      case 'expectAnotherBotMessage':
        this.expectBotMessage = true;
        this.noInput.pause();
        this.botNoResponse.arm();
        return;
      case 'none':
        if (command.unknownEvent) this.log.debug({ name: command.unknownEvent }, 'bot event not handled by this gateway');
    }
  }

  private enqueue(text: string, settings: CallSettings, activityId: string | undefined, audio: Prompt['audio']): void {
    this.noInput.pause();
    this.queue.enqueue({ id: randomUUID(), activityId, text, bargeIn: settings.bargeIn, bargeInOnDTMF: settings.bargeInOnDTMF, audio });
  }

  private requestHangup(reason: string, endReason: EndReason): void {
    if (this.pending?.kind === 'hangup' || this.ended) return;
    this.pending = { kind: 'hangup', reason, endReason };
    this.onPlayoutIdle();
  }

  /** The bot failed: apologize, then transfer to a person or hang up, so the caller is never left in silence. */
  private failed(): void {
    if (this.failing || this.ended) return;
    this.failing = true;
    this.noInput.pause();
    this.botNoResponse.pause();
    const s = this.settings;
    if (s.failureSpeech) {
      this.deps.bus.publish('transcript', { callId: this.callId, at: this.deps.clock.now(), who: 'system', text: s.failureSpeech });
      this.enqueue(s.failureSpeech, s, undefined, (signal) =>
        this.deps.audio.speak({ text: s.failureSpeech, language: s.language, voice: s.voiceName, sampleRate: this.deps.leg.sampleRate }, { noCache: false, signal }),
      );
    }
    if (s.failureTransferTarget) {
      this.pending = { kind: 'transfer', target: s.failureTransferTarget, headers: {} };
      this.onPlayoutIdle();
    } else {
      this.requestHangup('bot-error', 'bot-error');
    }
  }

  /** The caller has heard everything queued: run a pending hangup/transfer, or start waiting for input. */
  private onPlayoutIdle(): void {
    if (this.ended || this.queue.busy) return;
    const action = this.pending;
    if (action?.kind === 'hangup') {
      this.end({ reason: action.endReason, byGateway: true, detail: action.reason });
      this.deps.leg.hangup(action.reason).catch((err: unknown) => this.log.error({ err }, 'carrier hangup failed'));
      return;
    }
    if (action?.kind === 'transfer') {
      this.pending = undefined;
      this.deps.leg.transfer(action.target, action.headers).then(
        () => this.end({ reason: 'transferred', byGateway: true, detail: action.target }),
        (err: unknown) => this.log.error({ err, target: action.target }, 'transfer failed; conversation continues'),
      );
      return;
    }
    if (!this.expectBotMessage) this.noInput.arm();
  }

  private reprompt(attempt: number): void {
    const s = this.settings;
    this.log.info({ attempt }, 'no caller input: reprompting');
    if (s.userNoInputSendEvent) this.sendToBot(eventActivity('noUserInput', { value: attempt }, this.deps.clock.now()));
    if (s.userNoInputSpeech) {
      this.deps.bus.publish('transcript', { callId: this.callId, at: this.deps.clock.now(), who: 'bot', text: s.userNoInputSpeech });
      this.enqueue(s.userNoInputSpeech, s, undefined, (signal) =>
        this.deps.audio.speak({ text: s.userNoInputSpeech!, language: s.language, voice: s.voiceName, sampleRate: this.deps.leg.sampleRate }, { noCache: s.disableTtsCache, signal }),
      );
    } else if (!s.userNoInputSendEvent) {
      this.noInput.arm();
    }
  }

  /** The caller's turn: the bot now owes an answer. */
  private sendTurnToBot(activity: Activity): void {
    this.botNoResponse.arm();
    this.sendToBot(activity);
  }

  /** The bot is slow to answer: tell the caller to hold on, if configured. */
  private botStillSilent(attempt: number): void {
    const s = this.settings;
    this.log.info({ attempt }, 'bot has not answered yet');
    if (s.botNoInputSpeech && !this.queue.busy) {
      this.enqueue(s.botNoInputSpeech, s, undefined, (signal) =>
        this.deps.audio.speak({ text: s.botNoInputSpeech!, language: s.language, voice: s.voiceName, sampleRate: this.deps.leg.sampleRate }, { noCache: s.disableTtsCache, signal }),
      );
    }
    this.botNoResponse.arm();
  }

  private sendToBot(activity: Activity): void {
    if (this.ended) return;
    this.deps.bot.send(activity).catch((err: unknown) => {
      this.log.error({ err, activity: activity.name ?? activity.type }, 'sending to bot failed');
      this.failed();
    });
  }

  // ---- settings and records -----------------------------------------------------------------

  private applySessionParams(params: Record<string, unknown>): void {
    const { overrides, problems } = parseSettingsOverrides(params);
    for (const p of problems) this.log.warn({ setting: p.key, problem: p.message }, 'bot sent an invalid setting; ignored');
    const before = this.settings;
    this.settings = mergeSettings(this.settings, overrides);
    if (before.bargeInMinSpeechMs !== this.settings.bargeInMinSpeechMs || before.vadSilenceMs !== this.settings.vadSilenceMs) this.vad = this.createVad();
    this.dtmf.configure(this.dtmfOptions());
    this.utterances.configure(this.utteranceOptions());
    this.noInput.configure(this.noInputOptions());
    this.botNoResponse.configure(this.botNoResponseOptions());
  }

  private activitySettings(params: Record<string, unknown> | undefined): CallSettings {
    if (!params) return this.settings;
    const { overrides } = parseSettingsOverrides(params);
    return mergeSettings(this.settings, overrides);
  }

  private createVad(): VoiceActivityDetector {
    return new VoiceActivityDetector({ sampleRate: this.deps.leg.sampleRate, minSpeechMs: this.settings.bargeInMinSpeechMs, silenceMs: this.settings.vadSilenceMs });
  }

  private dtmfOptions(): DtmfCollectOptions {
    const s = this.settings;
    return { collect: s.dtmfCollect, maxDigits: s.dtmfCollectMaxDigits, interDigitTimeoutMs: s.dtmfCollectInterDigitTimeoutMS, submitDigit: s.dtmfCollectSubmitDigit };
  }

  private noInputOptions(): NoInputOptions {
    const s = this.settings;
    return { timeoutMs: s.userNoInputTimeoutMS, retries: s.userNoInputRetries, botOwnsGiveUp: s.userNoInputSendEvent };
  }

  private utteranceOptions(): UtteranceCollectorOptions {
    const s = this.settings;
    return { enabled: s.continuousASR, timeoutMs: s.continuousASRTimeoutInMS, submitDigit: s.continuousASRDigits };
  }

  private botNoResponseOptions(): NoInputOptions {
    const s = this.settings;
    return { timeoutMs: s.botNoInputTimeoutMS, retries: s.botNoInputRetries, botOwnsGiveUp: false };
  }

  private recordPrompt(o: PromptOutcome): void {
    if (o.startedAt === undefined) return; // purged before any of it played
    this.deps.bus.publish('prompt.played', { callId: this.callId, promptId: o.prompt.id, text: o.prompt.text, startedAt: o.startedAt, endedAt: o.endedAt, heardInFull: o.heardInFull });
    if (!o.heardInFull && o.prompt.activityId && this.deps.bot.wantsPromptInterruptions && !this.ended) {
      // Audio still being synthesized when cut is not counted, so this errs toward "heard more".
      const audioMs = (o.sentSamples * 1000) / this.deps.leg.sampleRate;
      const heardFraction = audioMs > 0 ? Math.min(1, (o.endedAt - o.startedAt) / audioMs) : 0;
      this.sendToBot(eventActivity('promptInterrupted', { value: { activityId: o.prompt.activityId, heardFraction } }, this.deps.clock.now()));
    }
  }

  private openStt(provider: SttProvider): void {
    const s = this.settings;
    const session = provider.startSession({ language: s.language, sampleRate: this.deps.leg.sampleRate });
    session.on('result', (r) => this.onSttResult(r));
    session.on('failure', (err) => this.log.error({ err, stt: provider.name }, 'speech recognition failed'));
    this.stt = session;
  }
}
