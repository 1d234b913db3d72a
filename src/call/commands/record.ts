/**
 * The bot starts, stops, pauses or resumes the call recording. Voxgate records from the media path
 * on every leg, so this needs no carrier recording (`capabilities.record`).
 */
import type { CommandHandler } from './command.js';

export const record: CommandHandler<'record'> = {
  kind: 'record',
  answersTurn: true,
  run(command, ctx) {
    ctx.recording.apply(command.action);
  },
};
