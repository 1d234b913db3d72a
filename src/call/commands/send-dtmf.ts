/** The bot plays DTMF tones to the far end (an IVR behind the call). */
import type { CommandHandler } from './command.js';

export const sendDtmf: CommandHandler<'sendDtmf'> = {
  kind: 'sendDtmf',
  answersTurn: true,
  run(command, ctx) {
    ctx.leg.sendDtmf(command.digits);
  },
};
