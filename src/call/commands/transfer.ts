/** The bot moves the caller elsewhere, once they have heard what it said before. */
import type { CommandHandler } from './command.js';

export const transfer: CommandHandler<'transfer'> = {
  kind: 'transfer',
  needs: 'transfer',
  answersTurn: true,
  run(command, ctx) {
    ctx.exit.requestTransfer(command.target, command.headers, ctx.activityId);
  },
};
