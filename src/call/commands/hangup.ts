/** The bot ends the call, once the caller has heard what it said before. Every leg can hang up. */
import type { CommandHandler } from './command.js';

export const hangup: CommandHandler<'hangup'> = {
  kind: 'hangup',
  answersTurn: true,
  run(command, ctx) {
    ctx.exit.requestHangup(command.reason, 'bot-hangup');
  },
};
