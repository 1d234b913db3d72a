/**
 * One call: joins a carrier leg, the caller's speech (VAD, optional STT), the bot connector and
 * prompt playout. Behaviour lives in the collaborators (PromptQueue, BargeInPolicy, DtmfCollector,
 * NoInputTimer); this class routes events between them and maps bot activities to actions.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Activity } from '../bots/activity.js';
import type { BotConnector, BotConversationInfo } from '../bots/connector.js';
import type { CallInfo, CarrierLeg } from '../carriers/leg.js';
import type { EventBus } from '../events/bus.js';
import type { SttProvider } from '../speech/stt/provider.js';
import { decodeBotActivity } from './bot-command.js';
import { CallRecording } from './call-recording.js';
import { botConversationInfo } from './conversation-opening.js';
import { MetadataForwarder } from './metadata-forwarder.js';
import type { Clock } from '../runtime/clock.js';
import type { PromptAudioSource } from './prompt-audio.js';
import { PromptVoice } from './prompt-voice.js';
import { BotChannel } from './bot-channel.js';
import { CallerInput } from './caller-input.js';
import type { CallSettings } from './settings.js';
import { LiveSettings } from './live-settings.js';
import type { SessionEnd } from './session-types.js';
import { CallExit } from './call-exit.js';

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

export class CallSession extends EventEmitter<CallSessionEventMap> {
  readonly callId: string;
  private readonly liveSettings: LiveSettings;
  private readonly log: Logger;
  private readonly voice: PromptVoice;
  private readonly input: CallerInput;
  private readonly recording: CallRecording;
  private readonly channel: BotChannel;
  private readonly exit: CallExit;
  private metadata: MetadataForwarder | undefined;

  constructor(private readonly deps: CallSessionDeps) {
    super();
    this.callId = deps.info.callId;
    this.log = deps.logger.child({ callId: this.callId });
    this.liveSettings = new LiveSettings(deps.settings, this.log);
    this.recording = new CallRecording({
      callId: this.callId,
      dir: deps.recordingsDir,
      sampleRate: deps.leg.sampleRate,
      clock: deps.clock,
      publish: (saved) => deps.bus.publish('recording.saved', saved),
      log: this.log,
    });
    this.voice = new PromptVoice(deps.leg, deps.audio, this.recording, { callId: this.callId, clock: deps.clock, bus: deps.bus, log: this.log });
    this.channel = new BotChannel({ bot: deps.bot, botName: deps.botName ?? deps.bot.botName, sttProvider: deps.stt?.name, ttsProvider: deps.ttsProvider, settings: this.liveSettings, voice: this.voice, scope: { callId: this.callId, clock: deps.clock, bus: deps.bus, log: this.log } });
    this.input = new CallerInput({ leg: deps.leg, settings: this.liveSettings, voice: this.voice, channel: this.channel, recording: this.recording, stt: deps.stt, scope: { callId: this.callId, clock: deps.clock, bus: deps.bus, log: this.log } });
    this.exit = new CallExit({ leg: deps.leg, settings: this.liveSettings, voice: this.voice, channel: this.channel, input: this.input, recording: this.recording, ttsProvider: deps.ttsProvider, scope: { callId: this.callId, clock: deps.clock, bus: deps.bus, log: this.log } });
  }

  get currentSettings(): Readonly<CallSettings> {
    return this.liveSettings.current;
  }

  private get settings(): CallSettings {
    return this.liveSettings.current;
  }

  get endedWith(): SessionEnd | undefined {
    return this.exit.ended;
  }

  async start(): Promise<void> {
    const { leg, bot, info } = this.deps;
    this.input.listen();
    leg.on('hangup', (h) => this.end({ reason: h.side === 'caller' ? 'caller-hangup' : 'carrier-hangup', byGateway: false, detail: h.cause }));
    this.voice.on('synthesisFailed', (_prompt, err) => {
      this.channel.turnFailed('tts-error', err.message);
      this.exit.failed('tts', err);
    });
    this.exit.on('ended', (end) => this.emit('ended', end));
    this.input.on('turn', (turn) => this.channel.sendTurn(turn));
    this.input.on('failed', (err) => this.exit.failed('stt', err));
    this.input.on('gaveUp', () => this.exit.requestHangup('no-input', 'no-input'));
    this.channel.on('gaveUp', () => this.exit.requestHangup('bot-no-response', 'bot-no-response'));
    this.channel.on('failed', (err) => this.exit.failed('bot', err));
    bot.on('activities', (activities) => this.handleActivities(activities));
    if (this.settings.recordCall) this.recording.apply('start');
    let conversation: BotConversationInfo;
    try {
      this.metadata = new MetadataForwarder(this.settings.sendMetaDataUrl, info, this.log);
      conversation = botConversationInfo(info, this.settings, this.deps.clock.now());
    } catch (err) {
      // A placeholder that cannot be resolved is a configuration error: end the call rather than run it half-configured.
      this.log.error({ err }, 'call settings could not be resolved; ending the call');
      this.exit.requestHangup('config-error', 'config-error');
      return;
    }
    this.log.info({ from: info.from, to: info.to, bot: bot.botName, carrier: info.carrier }, 'conversation started');
    const botStartedAt = this.deps.botStartedAt ?? this.deps.clock.now();
    if (this.settings.welcomeMessage) this.voice.say(this.settings.welcomeMessage, this.settings, { who: 'bot' });
    await this.channel.start(conversation, botStartedAt);
  }

  /** Ends the conversation (idempotent). The leg is not touched: the caller is already gone or the hangup was sent. */
  end(end: SessionEnd): void {
    this.exit.end(end);
  }

  // ---- bot output ---------------------------------------------------------------------------

  private handleActivities(activities: Activity[]): void {
    for (const activity of activities) {
      if (this.exit.ended) return;
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
    if (command.kind !== 'none' && command.kind !== 'expectAnotherBotMessage') this.channel.botAnswered();
    const settings = this.liveSettings.forActivity(a.activityParams);
    const { leg } = this.deps;
    switch (command.kind) {
      case 'speak':
        this.channel.messageArrived();
        this.voice.say(command.text, settings, { who: 'bot', activityId: command.activityId, ssml: command.ssml, language: command.language });
        return;
      case 'play':
        this.channel.messageArrived();
        this.voice.play(command, settings);
        return;
      case 'hangup':
        this.exit.requestHangup(command.reason, 'bot-hangup');
        return;
      case 'transfer':
        this.exit.requestTransfer(command.target, command.headers);
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
        this.input.stopWaiting();
        this.channel.expectAnotherMessage();
        return;
      case 'record':
        this.recording.apply(command.action);
        return;
      case 'none':
        if (command.unknownEvent) this.log.debug({ name: command.unknownEvent }, 'bot event not handled by this gateway');
    }
  }

  /** Optional gateway events (also from outside the call, e.g. machine detection), sent only when the bot listed them in sendEventsToBot. */
  notifyBot(name: string, value?: unknown): void {
    this.channel.notify(name, value);
  }
}
