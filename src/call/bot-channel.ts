/**
 * Talking to the bot. The caller's turns and the gateway's events go out through here (optional
 * events only when the bot listed them in sendEventsToBot), each turn is timed (TurnTimeline), and a
 * bot slow to answer gets please-wait prompts, then a give-up (the bot no-response timer). It also
 * tells the bot what became of its prompts.
 */
import { EventEmitter } from 'node:events';
import type { Activity } from '../bots/activity.js';
import { eventActivity, messageActivity } from '../bots/activity.js';
import type { BotConnector, BotConversationInfo, BotDisconnectReason } from '../bots/connector.js';
import type { BotCommand } from './bot-command.js';
import type { LiveSettings } from './live-settings.js';
import { NoInputTimer, botNoResponseOptions } from './no-input-timer.js';
import type { PlayedPrompt, PromptVoice } from './prompt-voice.js';
import type { CallScope, CallerTurn, SessionEnd } from './session-types.js';
import { TurnTimeline } from './turn-timeline.js';

export interface BotChannelEventMap {
  /** The bot did not start, could not be reached, or reported a failure; the failure policy applies. */
  failed: [error: unknown];
  /** The bot stayed silent through every please-wait prompt. */
  gaveUp: [attempts: number];
}

export interface BotChannelDeps {
  bot: BotConnector;
  /** The bot's name in records and provider errors. */
  botName: string;
  sttProvider?: string;
  ttsProvider?: string;
  settings: LiveSettings;
  voice: PromptVoice;
  scope: CallScope;
}

export class BotChannel extends EventEmitter<BotChannelEventMap> {
  readonly botName: string;
  private readonly bot: BotConnector;
  private readonly settings: LiveSettings;
  private readonly voice: PromptVoice;
  private readonly scope: CallScope;
  private readonly turns: TurnTimeline;
  /** The same waiting shape as the caller's no-input timer: armed when a turn went to the bot, cleared by its answer. */
  private readonly noResponse: NoInputTimer;
  private promisedMessage = false;
  private closed = false;

  constructor(deps: BotChannelDeps) {
    super();
    const { bot, settings, voice, scope } = deps;
    this.botName = deps.botName;
    this.bot = bot;
    this.settings = settings;
    this.voice = voice;
    this.scope = scope;
    this.turns = new TurnTimeline({ callId: scope.callId, bot: deps.botName, sttProvider: deps.sttProvider, ttsProvider: deps.ttsProvider, publish: (turn) => scope.bus.publish('turn', turn) });
    this.noResponse = new NoInputTimer(scope.clock, botNoResponseOptions(settings.current));
    settings.on('changed', (s) => this.noResponse.configure(botNoResponseOptions(s)));
    this.noResponse.on('reprompt', (attempt) => this.stillSilent(attempt));
    this.noResponse.on('giveUp', (attempts) => {
      scope.log.warn({ attempts }, 'bot did not answer: giving up');
      this.emit('gaveUp', attempts);
    });
    bot.on('failure', (err) => {
      scope.log.error({ err, bot: bot.botName }, 'bot failed');
      this.emit('failed', err);
    });
    voice.on('ended', (o) => this.reportPrompt(o));
    voice.on('urlFailed', (prompt, err) => this.notify('playUrlFailed', { url: prompt.playUrl, activityId: prompt.activityId, reason: err.message }));
    // Only the bot's own prompts answer a turn; please-wait and welcome prompts do not.
    voice.on('audioStarted', (prompt, at) => prompt.activityId && this.turns.audioStarted(at));
  }

  /** The bot promised another message (expectAnotherBotMessage) and has not sent it yet: the caller is not waited for meanwhile. */
  get awaitingPromisedMessage(): boolean {
    return this.promisedMessage;
  }

  /** Opens the conversation; the opening turn counts from `startedAt` (earlier when the bot was started while ringing). */
  async start(conversation: BotConversationInfo, startedAt: number): Promise<void> {
    this.turns.input('start', null, startedAt);
    this.turns.botSent(startedAt);
    try {
      await this.bot.start(conversation);
    } catch (err) {
      this.scope.log.error({ err, bot: this.bot.botName }, 'bot did not start');
      this.emit('failed', err);
      return;
    }
    const initialText = this.settings.current.initialMessageToBot;
    if (initialText) this.send(messageActivity(initialText, {}, this.scope.clock.now()));
  }

  /** The caller's turn: the bot now owes an answer. */
  sendTurn(turn: CallerTurn): void {
    const now = this.scope.clock.now();
    const activity = turn.kind === 'dtmf' ? eventActivity('DTMF', { value: turn.digits }, now) : messageActivity(turn.text, { parameters: turn.parameters }, now);
    this.turns.input(turn.kind, turn.kind === 'dtmf' ? turn.digits : turn.text, now);
    this.turns.botSent(now);
    this.noResponse.arm();
    this.send(activity);
  }

  /** The bot sent something for the call to do: its answer to the open turn. */
  botAnswered(): void {
    this.turns.botAnswered(this.scope.clock.now());
    this.noResponse.userInput();
  }

  expectAnotherMessage(): void {
    this.promisedMessage = true;
    this.noResponse.arm();
  }

  /** The bot spoke or played something: a promised message, if any, has come. */
  messageArrived(): void {
    this.promisedMessage = false;
  }

  callerStartedSpeaking(): void {
    this.turns.speechStarted();
    this.notify('voiceDetected');
  }

  callerStoppedSpeaking(): void {
    this.turns.speechEnded(this.scope.clock.now());
    this.notify('silenceDetected');
  }

  /** The open turn ends in a failure (the bot's or the answer's speech synthesis). */
  turnFailed(outcome: 'bot-error' | 'tts-error', error: string): void {
    this.turns.failed(outcome, error, this.scope.clock.now());
  }

  /** The call is failing over: the bot's answer is no longer waited for. */
  stopWaiting(): void {
    this.noResponse.pause();
  }

  /** A command the bot sent did not happen (refused or failed); always sent, since the bot is waiting on it. */
  commandFailed(command: BotCommand['kind'], activityId: string, reason: string): void {
    this.send(eventActivity('commandFailed', { value: { command, activityId, reason } }, this.scope.clock.now()));
  }

  /** An activity that could not be carried out as sent (the same report the Bot API connector gives a malformed one). */
  activityRefused(activity: Activity, reason: string): void {
    const type = activity.type === 'event' && activity.name ? activity.name : activity.type;
    this.send(eventActivity('commandFailed', { value: { command: 'invalidActivity', type, activityId: activity.id, reason } }, this.scope.clock.now()));
  }

  /** The carrier rejected the bot's transfer and the conversation goes on: commandFailed, and transferStatus if the bot listed it. */
  transferFailed(activityId: string, reason: string): void {
    this.commandFailed('transfer', activityId, reason);
    this.notify('transferStatus', { status: 'failed', reason });
  }

  /** Optional gateway events (also from outside the call, e.g. machine detection), sent only when the bot listed them in sendEventsToBot. */
  notify(name: string, value?: unknown): void {
    if (this.settings.wantsEvent(name)) this.send(eventActivity(name, value === undefined ? {} : { value }, this.scope.clock.now()));
  }

  send(activity: Activity): void {
    if (!this.closed) this.deliver(activity);
  }

  /** The conversation ended: the last turn is recorded, the bot hears why (conversationEnd, if it asked) and is disconnected. */
  close(end: SessionEnd): void {
    if (this.closed) return;
    this.closed = true;
    const now = this.scope.clock.now();
    this.noResponse.pause();
    this.turns.close(now);
    if (this.settings.wantsEvent('conversationEnd')) this.deliver(eventActivity('conversationEnd', { value: { reason: end.reason, detail: end.detail } }, now));
    const code: BotDisconnectReason =
      end.reason === 'transferred' ? 'transferred' : end.reason === 'bot-hangup' ? 'bot-disconnected' : end.reason.endsWith('-error') ? 'error' : 'client-disconnected';
    this.bot.end(code, end.detail ?? end.reason).catch((err: unknown) => this.scope.log.warn({ err }, 'bot disconnect failed'));
  }

  private deliver(activity: Activity): void {
    this.bot.send(activity).catch((err: unknown) => {
      this.scope.log.error({ err, activity: activity.name ?? activity.type }, 'sending to bot failed');
      this.emit('failed', err);
    });
  }

  /** The bot is slow to answer: tell the caller to hold on, if configured. */
  private stillSilent(attempt: number): void {
    const s = this.settings.current;
    this.scope.log.info({ attempt }, 'bot has not answered yet');
    if (s.botNoInputSpeech && !this.voice.busy) this.voice.say(s.botNoInputSpeech, s, { who: 'system' });
    this.noResponse.arm();
  }

  private reportPrompt(o: PlayedPrompt): void {
    if (o.heardInFull) this.notify('playFinished', { activityId: o.prompt.activityId });
    if (!o.heardInFull && o.prompt.activityId && this.bot.wantsPromptInterruptions) {
      // Audio still being synthesized when cut is not counted, so this errs toward "heard more".
      const audioMs = (o.sentSamples * 1000) / this.voice.sampleRate;
      const heardFraction = audioMs > 0 ? Math.min(1, (o.endedAt - o.startedAt) / audioMs) : 0;
      this.send(eventActivity('promptInterrupted', { value: { activityId: o.prompt.activityId, heardFraction } }, this.scope.clock.now()));
    }
  }
}
