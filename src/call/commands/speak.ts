/** The bot's message: spoken to the caller. */
import type { CommandHandler } from './command.js';

export const speak: CommandHandler<'speak'> = {
  kind: 'speak',
  answersTurn: true,
  run(command, ctx) {
    ctx.channel.messageArrived();
    ctx.voice.say(command.text, ctx.settings, { who: 'bot', activityId: command.activityId, ssml: command.ssml, language: command.language });
  },
};
