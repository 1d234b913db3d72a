/**
 * The bot's metadata, forwarded to whoever the call belongs to: POSTed to the call's sendMetaDataUrl,
 * and sent in the call's own signalling (SIP INFO) on legs that can carry it (seed 004, 6.13.2).
 */
import type { CommandHandler } from './command.js';

export const sendMetaData: CommandHandler<'sendMetaData'> = {
  kind: 'sendMetaData',
  answersTurn: true,
  run(command, ctx) {
    const { leg } = ctx;
    const inSignalling = ctx.settings.sendMetaDataSipInfo && leg.capabilities.sendMetadata && leg.sendMetadata !== undefined;
    if (inSignalling) leg.sendMetadata!(command.metadata).catch((err: unknown) => ctx.log.warn({ err }, 'metadata not delivered in the call signalling'));
    ctx.metadata?.forward(command.metadata, inSignalling);
  },
};
