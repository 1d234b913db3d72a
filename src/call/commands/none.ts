/** An activity with nothing to do beyond the settings it carries (config, empty message, unknown event); not an answer. */
import type { CommandHandler } from './command.js';

export const none: CommandHandler<'none'> = {
  kind: 'none',
  answersTurn: false,
  run(command, ctx) {
    if (command.unknownEvent) ctx.log.debug({ name: command.unknownEvent }, 'bot event not handled by this gateway');
  },
};
