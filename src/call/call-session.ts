/**
 * One call: joins a carrier leg, the caller's speech, the bot and prompt playout. The behaviour
 * lives in named collaborators, layered one way (each knows only those built before it):
 * LiveSettings, PromptVoice, BotChannel, CallerInput, CallExit; and in one handler per bot command
 * (commands/). This class builds them, connects their events and dispatches the bot's commands.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Activity } from '../bots/activity.js';
import type { BotConnector, BotConversationInfo } from '../bots/connector.js';
import type { CallInfo, CarrierLeg } from '../carriers/leg.js';
import type { EventBus } from '../events/bus.js';
import type { Clock } from '../runtime/clock.js';
import type { SttProvider } from '../speech/stt/provider.js';
import { BotChannel } from './bot-channel.js';
import { BotActivityError, decodeBotActivity } from './bot-command.js';
import { CallExit } from './call-exit.js';
import { CallRecording } from './call-recording.js';
import { CallerInput } from './caller-input.js';
import type { CommandContext } from './commands/command.js';
import { handlerFor } from './commands/command-table.js';
import { botConversationInfo } from './conversation-opening.js';
import { missingCapability } from './leg-capabilities.js';
import { LiveSettings } from './live-settings.js';
import { MetadataForwarder } from './metadata-forwarder.js';
import type { PromptAudioSource } from './prompt-audio.js';
import { PromptVoice } from './prompt-voice.js';
import type { CallSettings } from './settings.js';
import type { CallScope, SessionEnd } from './session-types.js';

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
  private readonly log: Logger;
  private readonly settings: LiveSettings;
  private readonly recording: CallRecording;
  private readonly voice: PromptVoice;
  private readonly channel: BotChannel;
  private readonly input: CallerInput;
  private readonly exit: CallExit;
  private metadata: MetadataForwarder | undefined;

  constructor(private readonly deps: CallSessionDeps) {
    super();
    const { leg, bot, clock, bus } = deps;
    this.callId = deps.info.callId;
    this.log = deps.logger.child({ callId: this.callId });
    const scope: CallScope = { callId: this.callId, clock, bus, log: this.log };
    this.settings = new LiveSettings(deps.settings, this.log);
    this.recording = new CallRecording({ callId: this.callId, dir: deps.recordingsDir, sampleRate: leg.sampleRate, clock, publish: (saved) => bus.publish('recording.saved', saved), reportFailure: (failure) => bus.publish('provider.error', failure), log: this.log });
    this.voice = new PromptVoice(leg, deps.audio, this.recording, scope);
    this.channel = new BotChannel({ bot, botName: deps.botName ?? bot.botName, sttProvider: deps.stt?.name, ttsProvider: deps.ttsProvider, settings: this.settings, voice: this.voice, scope });
    this.input = new CallerInput({ leg, settings: this.settings, voice: this.voice, channel: this.channel, recording: this.recording, stt: deps.stt, scope });
    this.exit = new CallExit({ leg, settings: this.settings, voice: this.voice, channel: this.channel, input: this.input, recording: this.recording, ttsProvider: deps.ttsProvider, scope });
  }

  get currentSettings(): Readonly<CallSettings> {
    return this.settings.current;
  }

  get endedWith(): SessionEnd | undefined {
    return this.exit.ended;
  }

  async start(): Promise<void> {
    const { bot, info, clock } = this.deps;
    this.connect();
    this.input.listen();
    const s = this.settings.current;
    if (s.recordCall) this.recording.apply('start');
    let conversation: BotConversationInfo;
    try {
      this.metadata = new MetadataForwarder(s.sendMetaDataUrl, info, this.log);
      conversation = botConversationInfo(info, s, clock.now());
    } catch (err) {
      // A placeholder that cannot be resolved is a configuration error: end the call rather than run it half-configured.
      this.log.error({ err }, 'call settings could not be resolved; ending the call');
      this.exit.requestHangup('config-error', 'config-error');
      return;
    }
    this.log.info({ from: info.from, to: info.to, bot: bot.botName, carrier: info.carrier }, 'conversation started');
    const botStartedAt = this.deps.botStartedAt ?? clock.now();
    if (s.welcomeMessage) this.voice.say(s.welcomeMessage, s, { who: 'bot' });
    await this.channel.start(conversation, botStartedAt);
  }

  /** Ends the conversation (idempotent). The leg is not touched: the caller is already gone or the hangup was sent. */
  end(end: SessionEnd): void {
    this.exit.end(end);
  }

  /** Optional gateway events (also from outside the call, e.g. machine detection), sent only when the bot listed them in sendEventsToBot. */
  notifyBot(name: string, value?: unknown): void {
    this.channel.notify(name, value);
  }

  /** Routes what happens on the leg, from the bot and between the collaborators. */
  private connect(): void {
    const { leg, bot } = this.deps;
    const { input, channel, voice, exit } = this;
    leg.on('hangup', (h) => this.end({ reason: h.side === 'caller' ? 'caller-hangup' : 'carrier-hangup', byGateway: false, detail: h.cause }));
    bot.on('activities', (activities) => this.handleActivities(activities));
    input.on('turn', (turn) => channel.sendTurn(turn));
    input.on('failed', (err) => exit.failed('stt', err));
    input.on('gaveUp', () => exit.requestHangup('no-input', 'no-input'));
    channel.on('failed', (err) => exit.failed('bot', err));
    channel.on('gaveUp', () => exit.requestHangup('bot-no-response', 'bot-no-response'));
    voice.on('synthesisFailed', (_prompt, err) => {
      channel.turnFailed('tts-error', err.message);
      exit.failed('tts', err);
    });
    exit.on('ended', (end) => this.emit('ended', end));
  }

  private handleActivities(activities: Activity[]): void {
    for (const activity of activities) {
      if (this.exit.ended) return;
      try {
        this.handleActivity(activity);
      } catch (err) {
        if (err instanceof BotActivityError) {
          // Well-formed but unusable (a playUrl without a URL): the bot is waiting on it, so it hears which and why.
          this.log.warn({ activityId: activity.id, type: activity.type, name: activity.name, reason: err.message }, 'bot activity refused; skipped');
          this.channel.activityRefused(activity, err.message);
        } else {
          this.log.error({ err, activityId: activity.id }, 'bot activity could not be handled; skipped');
        }
      }
    }
  }

  private handleActivity(a: Activity): void {
    if (a.sessionParams) this.settings.applySessionParams(a.sessionParams);
    const command = decodeBotActivity(a);
    const handler = handlerFor(command);
    if (handler.answersTurn) this.channel.botAnswered();
    const { leg } = this.deps;
    const missing = handler.needs && missingCapability(leg, handler.needs);
    if (missing) {
      // Refused visibly: the bot asked for something that will not happen, so it hears so (not gated by sendEventsToBot).
      this.log.warn({ command: command.kind, capability: handler.needs, carrier: leg.carrier, activityId: a.id }, `bot command ${command.kind} refused: ${missing}`);
      this.channel.commandFailed(command.kind, a.id, missing);
      return;
    }
    handler.run(command, this.commandContext(a));
  }

  private commandContext(a: Activity): CommandContext {
    const { leg } = this.deps;
    const { voice, channel, input, exit, recording, metadata, log } = this;
    return { activityId: a.id, settings: this.settings.forActivity(a.activityParams), leg, voice, channel, input, exit, recording, metadata, log };
  }
}
