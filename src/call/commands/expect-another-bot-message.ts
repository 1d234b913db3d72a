/**
 * The bot promises another message: the caller is not waited for (no reprompt) while the bot
 * no-response timer runs. A promise is not an answer to the caller's turn.
 */
import type { CommandHandler } from './command.js';

export const expectAnotherBotMessage: CommandHandler<'expectAnotherBotMessage'> = {
  kind: 'expectAnotherBotMessage',
  answersTurn: false,
  run(_command, ctx) {
    ctx.input.stopWaiting();
    ctx.channel.expectAnotherMessage();
  },
};
