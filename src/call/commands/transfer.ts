/**
 * The bot moves the caller elsewhere, once they have heard what it said before: to the target it
 * names, else the call's defaultTransferTarget; with neither, the bot is told the transfer failed and
 * the conversation goes on.
 */
import type { CommandHandler } from './command.js';

export const transfer: CommandHandler<'transfer'> = {
  kind: 'transfer',
  needs: 'transfer',
  answersTurn: true,
  run(command, ctx) {
    const target = command.target ?? ctx.settings.defaultTransferTarget;
    if (!target) {
      const reason = 'transfer without a target, and no defaultTransferTarget is configured';
      ctx.log.warn(reason);
      ctx.channel.transferFailed(ctx.activityId, reason);
      return;
    }
    ctx.exit.requestTransfer({ target, headers: command.headers, reason: command.reason, referredBy: command.referredBy }, ctx.activityId);
  },
};
