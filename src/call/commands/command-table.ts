/** Which handler runs each kind of bot command: the call's command vocabulary at a glance. */
import type { BotCommand } from '../bot-command.js';
import { abortPrompts } from './abort-prompts.js';
import type { CommandHandler } from './command.js';
import { expectAnotherBotMessage } from './expect-another-bot-message.js';
import { hangup } from './hangup.js';
import { none } from './none.js';
import { play } from './play.js';
import { record } from './record.js';
import { sendDtmf } from './send-dtmf.js';
import { sendMetaData } from './send-metadata.js';
import { speak } from './speak.js';
import { transfer } from './transfer.js';

const HANDLERS: { [K in BotCommand['kind']]: CommandHandler<K> } = {
  speak,
  play,
  hangup,
  transfer,
  sendDtmf,
  abortPrompts,
  sendMetaData,
  expectAnotherBotMessage,
  record,
  none,
};

/** The handler for a command. (The table pairs each kind with its handler; the lookup loses that pairing for TypeScript, hence the widening.) */
export function handlerFor(command: BotCommand): CommandHandler {
  return HANDLERS[command.kind] as CommandHandler;
}
