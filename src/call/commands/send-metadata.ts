/** The bot's metadata, POSTed to the call's sendMetaDataUrl. */
import type { CommandHandler } from './command.js';

export const sendMetaData: CommandHandler<'sendMetaData'> = {
  kind: 'sendMetaData',
  answersTurn: true,
  run(command, ctx) {
    ctx.metadata?.forward(command.metadata);
  },
};
