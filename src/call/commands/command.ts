/**
 * The shape every bot command handler has: the command kind it runs, the leg capability it cannot
 * run without (the session refuses the command when the leg lacks it), whether it answers the
 * caller's turn, and `run`.
 */
import type { Logger } from 'pino';
import type { LegCallControl, LegCapabilities } from '../../carriers/leg.js';
import type { BotChannel } from '../bot-channel.js';
import type { BotCommand } from '../bot-command.js';
import type { CallExit } from '../call-exit.js';
import type { CallRecording } from '../call-recording.js';
import type { CallerInput } from '../caller-input.js';
import type { MetadataForwarder } from '../metadata-forwarder.js';
import type { PromptVoice } from '../prompt-voice.js';
import type { CallSettings } from '../settings.js';

/** What a command may act on, for one bot activity. */
export interface CommandContext {
  /** The activity that carried the command. */
  activityId: string;
  /** This activity's settings: its activityParams over the call's. */
  settings: CallSettings;
  leg: LegCallControl;
  voice: PromptVoice;
  channel: BotChannel;
  input: CallerInput;
  exit: CallExit;
  recording: CallRecording;
  /** Absent when the call's settings could not be resolved (the call is ending). */
  metadata: MetadataForwarder | undefined;
  log: Logger;
}

export interface CommandHandler<K extends BotCommand['kind'] = BotCommand['kind']> {
  readonly kind: K;
  /** The leg capability the command needs; without it the command is refused, never attempted. */
  readonly needs?: keyof LegCapabilities;
  /** The command is the bot's answer to the caller's turn (times the turn, stops the bot no-response timer). */
  readonly answersTurn: boolean;
  run(command: Extract<BotCommand, { kind: K }>, ctx: CommandContext): void;
}
