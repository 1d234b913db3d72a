/** The bot's playUrl: audio from a URL played to the caller. */
import type { CommandHandler } from './command.js';

export const play: CommandHandler<'play'> = {
  kind: 'play',
  answersTurn: true,
  run(command, ctx) {
    ctx.channel.messageArrived();
    ctx.voice.play(command, ctx.settings);
  },
};
