/** The bot stops what it is saying: the prompt playing is cut, those queued are dropped. */
import type { CommandHandler } from './command.js';

export const abortPrompts: CommandHandler<'abortPrompts'> = {
  kind: 'abortPrompts',
  answersTurn: true,
  run(_command, ctx) {
    ctx.voice.abort();
  },
};
