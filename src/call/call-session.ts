/**
 * One call: joins a carrier leg, the caller's speech (VAD, optional STT), the bot connector and
 * prompt playout. Behaviour lives in the collaborators (PromptQueue, BargeInPolicy, DtmfCollector,
 * NoInputTimer); this class routes events between them and maps bot activities to actions.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Activity } from '../bots/activity.js';
import { eventActivity, messageActivity } from '../bots/activity.js';
import type { BotConnector, BotConversationInfo, BotDisconnectReason } from '../bots/connector.js';
import type { CallInfo, CarrierLeg } from '../carriers/leg.js';
import type { EventBus } from '../events/bus.js';
import { VoiceActivityDetector } from '../media/vad.js';
import type { SttProvider, SttResult } from '../speech/stt/provider.js';
import { BargeInPolicy } from './barge-in-policy.js';
import { decodeBotActivity } from './bot-command.js';
import { CallRecognizer } from './call-recognizer.js';
import { CallRecording } from './call-recording.js';
import { botConversationInfo } from './conversation-opening.js';
import { TurnTimeline } from './turn-timeline.js';
import { MetadataForwarder } from './metadata-forwarder.js';
import type { Clock } from '../runtime/clock.js';
import { DtmfCollector, dtmfCollectOptions } from './dtmf-collector.js';
import { NoInputTimer, botNoResponseOptions, callerNoInputOptions } from './no-input-timer.js';
import { UtteranceCollector, utteranceOptions } from './utterance-collector.js';
import type { PromptAudioSource } from './prompt-audio.js';
import { PromptVoice, type PlayedPrompt } from './prompt-voice.js';
import type { CallSettings } from './settings.js';
import { LiveSettings } from './live-settings.js';
import type { EndReason, FailedPart, SessionEnd } from './session-types.js';

export type { EndReason, SessionEnd } from './session-types.js';

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
  /** Where call recordings are written; without it the bot's recording requests are refused. */
  recordingsDir?: string;
  /** The TTS provider's name, for the per-turn records. */
  ttsProvider?: string;
  /** The configured bot's name for the records (the connector's own name otherwise). */
  botName?: string;
  /** When the bot was started, if before the session (connect on bot prompt): the opening turn starts there. */
  botStartedAt?: number;
}

export interface CallSessionEventMap {
  ended: [end: SessionEnd];
}

type PendingAction = { kind: 'hangup'; reason: string; endReason: EndReason } | { kind: 'transfer'; target: string; headers: Record<string, string> };

const DTMF_DIGITS = /^[0-9*#A-D]$/;

export class CallSession extends EventEmitter<CallSessionEventMap> {
  readonly callId: string;
  private readonly liveSettings: LiveSettings;
  private readonly log: Logger;
  private readonly voice: PromptVoice;
  private readonly bargeIn = new BargeInPolicy();
  private readonly dtmf: DtmfCollector;
  private readonly utterances: UtteranceCollector;
  private readonly noInput: NoInputTimer;
  /** The same waiting shape, for the bot: armed when a turn went to it, cleared by its answer. */
  private readonly botNoResponse: NoInputTimer;
  private vad: VoiceActivityDetector;
  private recognizer: CallRecognizer | undefined;
  private readonly recording: CallRecording;
  private readonly turns: TurnTimeline;
  private pending: PendingAction | undefined;
  private failing = false;
  private metadata: MetadataForwarder | undefined;
  private expectBotMessage = false;
  private ended: SessionEnd | undefined;
  private readonly onLegAudio = (frame: Int16Array) => this.handleAudio(frame);

  constructor(private readonly deps: CallSessionDeps) {
    super();
    this.callId = deps.info.callId;
    this.log = deps.logger.child({ callId: this.callId });
    this.liveSettings = new LiveSettings(deps.settings, this.log);
    this.liveSettings.on('changed', (now, before) => this.reconfigure(now, before));
    this.recording = new CallRecording({
      callId: this.callId,
      dir: deps.recordingsDir,
      sampleRate: deps.leg.sampleRate,
      clock: deps.clock,
      publish: (saved) => deps.bus.publish('recording.saved', saved),
      log: this.log,
    });
    this.voice = new PromptVoice(deps.leg, deps.audio, this.recording, { callId: this.callId, clock: deps.clock, bus: deps.bus, log: this.log });
    this.turns = new TurnTimeline({ callId: this.callId, bot: deps.botName ?? deps.bot.botName, sttProvider: deps.stt?.name, ttsProvider: deps.ttsProvider, publish: (turn) => deps.bus.publish('turn', turn) });
    this.dtmf = new DtmfCollector(deps.clock, dtmfCollectOptions(deps.settings));
    this.utterances = new UtteranceCollector(deps.clock, utteranceOptions(deps.settings));
    this.noInput = new NoInputTimer(deps.clock, callerNoInputOptions(deps.settings));
    this.botNoResponse = new NoInputTimer(deps.clock, botNoResponseOptions(deps.settings));
    this.vad = this.createVad();
  }

  get currentSettings(): Readonly<CallSettings> {
    return this.liveSettings.current;
  }

  private get settings(): CallSettings {
    return this.liveSettings.current;
  }

  get endedWith(): SessionEnd | undefined {
    return this.ended;
  }

  async start(): Promise<void> {
    const { leg, bot, info } = this.deps;
    leg.on('audio', this.onLegAudio);
    leg.on('dtmf', (digit) => this.handleDtmf(digit));
    leg.on('hangup', (h) => this.end({ reason: h.side === 'caller' ? 'caller-hangup' : 'carrier-hangup', byGateway: false, detail: h.cause }));
    this.voice.on('queued', () => this.noInput.pause());
    this.voice.on('ended', (o) => this.reportPrompt(o));
    this.voice.on('urlFailed', (prompt, err) => this.notifyBot('playUrlFailed', { url: prompt.playUrl, activityId: prompt.activityId, reason: err.message }));
    this.voice.on('synthesisFailed', (_prompt, err) => {
      this.turns.failed('tts-error', err.message, this.deps.clock.now());
      this.failed('tts', err);
    });
    // Only the bot's own prompts answer a turn; please-wait and welcome prompts do not.
    this.voice.on('audioStarted', (prompt, at) => prompt.activityId && this.turns.audioStarted(at));
    this.voice.on('idle', () => this.onPlayoutIdle());
    this.dtmf.on('submit', (digits) => this.sendTurnToBot('dtmf', eventActivity('DTMF', { value: digits }, this.deps.clock.now())));
    this.utterances.on('submit', (text, parts) => this.sendTurnToBot('speech', messageActivity(text, { parameters: { recognitions: parts } }, this.deps.clock.now())));
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
      this.failed('bot', err);
    });
    if (this.deps.stt) this.openRecognizer(this.deps.stt);
    if (this.settings.recordCall) this.recording.apply('start');
    let conversation: BotConversationInfo;
    try {
      this.metadata = new MetadataForwarder(this.settings.sendMetaDataUrl, info, this.log);
      conversation = botConversationInfo(info, this.settings, this.deps.clock.now());
    } catch (err) {
      // A placeholder that cannot be resolved is a configuration error: end the call rather than run it half-configured.
      this.log.error({ err }, 'call settings could not be resolved; ending the call');
      this.requestHangup('config-error', 'config-error');
      return;
    }
    this.log.info({ from: info.from, to: info.to, bot: bot.botName, carrier: info.carrier }, 'conversation started');
    const botStartedAt = this.deps.botStartedAt ?? this.deps.clock.now();
    this.turns.input('start', null, botStartedAt);
    if (this.settings.welcomeMessage) this.voice.say(this.settings.welcomeMessage, this.settings, { who: 'bot' });
    this.turns.botSent(botStartedAt);
    try {
      await bot.start(conversation);
    } catch (err) {
      this.log.error({ err, bot: bot.botName }, 'bot did not start');
      this.failed('bot', err);
      return;
    }
    const initialText = this.settings.initialMessageToBot;
    if (initialText) this.sendToBot(messageActivity(initialText, {}, this.deps.clock.now()));
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
    this.voice.close();
    this.recognizer?.close();
    this.turns.close(this.deps.clock.now());
    this.recording.close().catch((err: unknown) => this.log.error({ err }, 'recording could not be closed'));
    if (this.wantsEvent('conversationEnd')) this.sendToBot(eventActivity('conversationEnd', { value: { reason: end.reason, detail: end.detail } }, this.deps.clock.now()), true);
    const code: BotDisconnectReason =
      end.reason === 'transferred' ? 'transferred' : end.reason === 'bot-hangup' ? 'bot-disconnected' : end.reason.endsWith('-error') ? 'error' : 'client-disconnected';
    this.deps.bot.end(code, end.detail ?? end.reason).catch((err: unknown) => this.log.warn({ err }, 'bot disconnect failed'));
    this.log.info({ reason: end.reason, detail: end.detail }, 'conversation ended');
    this.emit('ended', end);
  }

  // ---- caller input -------------------------------------------------------------------------

  private handleAudio(frame: Int16Array): void {
    this.recording.callerAudio(frame);
    this.recognizer?.write(frame);
    const event = this.vad.process(frame);
    if (!event) return;
    if (event.type === 'speech-end') {
      this.recognizer?.endOfUtterance();
      this.utterances.speechEnded();
      this.turns.speechEnded(this.deps.clock.now());
      this.notifyBot('silenceDetected');
      return;
    }
    this.utterances.speechStarted();
    this.turns.speechStarted();
    this.notifyBot('voiceDetected');
    const decision = this.bargeIn.onSpeech(this.voice.current);
    if (decision === 'ignore') return;
    // With a word minimum the recognizer decides (onSttResult); the VAD alone cannot count words.
    if (decision === 'interrupt' && !(this.recognizer && this.settings.bargeInMinWordCount > 0)) this.voice.interrupt('speech');
    this.noInput.userInput();
  }

  private handleDtmf(digit: string): void {
    if (this.ended) return;
    if (!DTMF_DIGITS.test(digit)) {
      this.log.warn({ digit }, 'ignored invalid DTMF digit');
      return;
    }
    this.deps.bus.publish('dtmf', { callId: this.callId, at: this.deps.clock.now(), digit });
    const decision = this.bargeIn.onDtmf(this.voice.current);
    if (decision === 'ignore') {
      this.log.debug({ digit }, 'DTMF during prompt ignored (barge-in on DTMF is off)');
      return;
    }
    if (decision === 'interrupt') this.voice.interrupt('dtmf');
    this.noInput.userInput();
    if (this.utterances.digit(digit)) return;
    if (this.settings.sendDTMF) this.dtmf.press(digit);
  }

  private onSttResult(result: SttResult): void {
    if (!result.text.trim() || this.ended) return;
    const minWords = this.settings.bargeInMinWordCount;
    const playing = this.voice.current;
    if (playing && minWords > 0) {
      const decision = this.bargeIn.onRecognizedWords(playing, result.text.trim().split(/\s+/).length, minWords);
      if (decision === 'interrupt') this.voice.interrupt('speech');
      // Too few words over a playing prompt: a backchannel, neither an interruption nor a turn.
      else if (decision === 'ignore') return;
    }
    if (!result.final) {
      this.notifyBot('speechHypothesis', result.text);
      return;
    }
    // Speech recognized while a non-interruptible prompt plays was not meant for the bot.
    if (this.bargeIn.onSpeech(this.voice.current) === 'ignore') return;
    this.noInput.userInput();
    this.deps.bus.publish('transcript', { callId: this.callId, at: this.deps.clock.now(), who: 'caller', text: result.text });
    if (this.utterances.enabled) {
      this.utterances.add(result.text);
      return;
    }
    const parameters = result.confidence === undefined ? undefined : { confidence: result.confidence };
    this.sendTurnToBot('speech', messageActivity(result.text, { parameters }, this.deps.clock.now()));
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
    if (a.sessionParams) this.liveSettings.applySessionParams(a.sessionParams);
    const command = decodeBotActivity(a);
    if (command.kind !== 'none' && command.kind !== 'expectAnotherBotMessage') this.turns.botAnswered(this.deps.clock.now());
    if (command.kind !== 'none' && command.kind !== 'expectAnotherBotMessage') this.botNoResponse.userInput();
    const settings = this.liveSettings.forActivity(a.activityParams);
    const { leg } = this.deps;
    switch (command.kind) {
      case 'speak':
        this.expectBotMessage = false;
        this.voice.say(command.text, settings, { who: 'bot', activityId: command.activityId, ssml: command.ssml, language: command.language });
        return;
      case 'play':
        this.expectBotMessage = false;
        this.voice.play(command, settings);
        return;
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
        this.voice.abort();
        return;
      case 'sendMetaData':
        this.metadata?.forward(command.metadata);
        return;
      case 'expectAnotherBotMessage':
        this.expectBotMessage = true;
        this.noInput.pause();
        this.botNoResponse.arm();
        return;
      case 'record':
        this.recording.apply(command.action);
        return;
      case 'none':
        if (command.unknownEvent) this.log.debug({ name: command.unknownEvent }, 'bot event not handled by this gateway');
    }
  }

  private requestHangup(reason: string, endReason: EndReason): void {
    if (this.pending?.kind === 'hangup' || this.ended) return;
    this.pending = { kind: 'hangup', reason, endReason };
    this.onPlayoutIdle();
  }

  /**
   * The bot or a speech provider failed: apologize, then transfer to a person or hang up, so the
   * caller is never left in silence. (When TTS itself failed, the apology goes to the fallback voice.)
   */
  private failed(part: FailedPart, err?: unknown): void {
    const provider = part === 'bot' ? (this.deps.botName ?? this.deps.bot.botName) : part === 'stt' ? (this.recognizer?.providerName ?? 'stt') : (this.deps.ttsProvider ?? 'tts');
    this.deps.bus.publish('provider.error', { kind: part, provider, callId: this.callId, error: err instanceof Error ? err.message : String(err), at: this.deps.clock.now() });
    if (this.failing || this.ended) return;
    this.failing = true;
    if (part === 'bot') this.turns.failed('bot-error', err instanceof Error ? err.message : String(err), this.deps.clock.now());
    this.noInput.pause();
    this.botNoResponse.pause();
    const s = this.settings;
    if (s.failureSpeech) this.voice.say(s.failureSpeech, s, { who: 'system' });
    if (s.failureTransferTarget) {
      this.pending = { kind: 'transfer', target: s.failureTransferTarget, headers: {} };
      this.onPlayoutIdle();
    } else {
      this.requestHangup(`${part}-error`, `${part}-error`);
    }
  }

  /** The caller has heard everything queued: run a pending hangup/transfer, or start waiting for input. */
  private onPlayoutIdle(): void {
    if (this.ended || this.voice.busy) return;
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
    if (s.userNoInputSendEvent || s.sendEventsToBot.includes('noUserInput')) this.sendToBot(eventActivity('noUserInput', { value: attempt }, this.deps.clock.now()));
    if (s.userNoInputSpeech) {
      this.voice.say(s.userNoInputSpeech, s, { who: 'bot' });
    } else if (!s.userNoInputSendEvent) {
      this.noInput.arm();
    }
  }

  /** The caller's turn: the bot now owes an answer. */
  private sendTurnToBot(kind: 'speech' | 'dtmf', activity: Activity): void {
    const now = this.deps.clock.now();
    this.turns.input(kind, activity.text ?? (typeof activity.value === 'string' ? activity.value : null), now);
    this.turns.botSent(now);
    this.botNoResponse.arm();
    this.sendToBot(activity);
  }

  /** The bot is slow to answer: tell the caller to hold on, if configured. */
  private botStillSilent(attempt: number): void {
    const s = this.settings;
    this.log.info({ attempt }, 'bot has not answered yet');
    if (s.botNoInputSpeech && !this.voice.busy) this.voice.say(s.botNoInputSpeech, s, { who: 'system' });
    this.botNoResponse.arm();
  }

  /** `evenAfterEnd` is for the conversationEnd event, sent while the conversation is being closed. */
  private sendToBot(activity: Activity, evenAfterEnd = false): void {
    if (this.ended && !evenAfterEnd) return;
    this.deps.bot.send(activity).catch((err: unknown) => {
      this.log.error({ err, activity: activity.name ?? activity.type }, 'sending to bot failed');
      this.failed('bot', err);
    });
  }

  private wantsEvent(name: string): boolean {
    return this.liveSettings.wantsEvent(name);
  }

  /** Optional gateway events (also from outside the call, e.g. machine detection), sent only when the bot listed them in sendEventsToBot. */
  notifyBot(name: string, value?: unknown): void {
    if (this.wantsEvent(name)) this.sendToBot(eventActivity(name, value === undefined ? {} : { value }, this.deps.clock.now()));
  }

  // ---- settings and records -----------------------------------------------------------------

  private reconfigure(now: CallSettings, before: CallSettings): void {
    if (before.bargeInMinSpeechMs !== now.bargeInMinSpeechMs || before.vadSilenceMs !== now.vadSilenceMs) this.vad = this.createVad();
    this.dtmf.configure(dtmfCollectOptions(now));
    this.utterances.configure(utteranceOptions(now));
    this.noInput.configure(callerNoInputOptions(now));
    this.botNoResponse.configure(botNoResponseOptions(now));
    this.recognizer?.configure(now);
  }

  private createVad(): VoiceActivityDetector {
    return new VoiceActivityDetector({ sampleRate: this.deps.leg.sampleRate, minSpeechMs: this.settings.bargeInMinSpeechMs, silenceMs: this.settings.vadSilenceMs });
  }

  private reportPrompt(o: PlayedPrompt): void {
    if (o.heardInFull) this.notifyBot('playFinished', { activityId: o.prompt.activityId });
    if (!o.heardInFull && o.prompt.activityId && this.deps.bot.wantsPromptInterruptions) {
      // Audio still being synthesized when cut is not counted, so this errs toward "heard more".
      const audioMs = (o.sentSamples * 1000) / this.voice.sampleRate;
      const heardFraction = audioMs > 0 ? Math.min(1, (o.endedAt - o.startedAt) / audioMs) : 0;
      this.sendToBot(eventActivity('promptInterrupted', { value: { activityId: o.prompt.activityId, heardFraction } }, this.deps.clock.now()));
    }
  }

  private openRecognizer(provider: SttProvider): void {
    const recognizer = new CallRecognizer(provider, this.settings, this.deps.leg.sampleRate, this.deps.clock, this.settings.sttTimeoutMS);
    recognizer.on('result', (r) => this.onSttResult(r));
    recognizer.on('failure', (err) => {
      this.log.error({ err, stt: provider.name }, 'speech recognition failed');
      this.failed('stt', err);
    });
    this.recognizer = recognizer;
    recognizer.open();
  }
}
