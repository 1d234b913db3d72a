/** The bot plays DTMF tones to the far end (an IVR behind the call). */
import { errorMessage } from '../session-types.js';
import type { CommandHandler } from './command.js';

export const sendDtmf: CommandHandler<'sendDtmf'> = {
  kind: 'sendDtmf',
  needs: 'sendDtmf',
  answersTurn: true,
  run(command, ctx) {
    try {
      ctx.leg.sendDtmf(command.digits);
    } catch (err) {
      // A leg throws on digits it cannot send: the bot hears that they were not sent.
      const reason = errorMessage(err);
      ctx.log.warn({ err, digits: command.digits }, `bot command sendDtmf failed: ${reason}`);
      ctx.channel.commandFailed('sendDtmf', ctx.activityId, reason);
    }
  },
};
