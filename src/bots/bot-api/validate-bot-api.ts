/** The bot-api validation call (`GET botURL`), for config checks and the admin "test bot" button. */
import { systemClock, type Clock } from '../../runtime/clock.js';
import { silentLogger, type Logger } from '../../logger.js';
import { BotApiError, botApiRequest, type BotApiAuth } from './bot-api-http.js';

export interface ValidateBotApiOptions {
  timeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/** Resolves when the bot answers `{"type":"ac-bot-api","success":true}`; otherwise throws a BotApiError saying what was wrong. */
export async function validateBotApi(botUrl: string, auth: BotApiAuth = {}, options: ValidateBotApiOptions = {}): Promise<void> {
  const answer = await botApiRequest({
    method: 'GET',
    url: botUrl,
    auth,
    clock: options.clock ?? systemClock,
    log: options.logger ?? silentLogger(),
    timeoutMs: options.timeoutMs ?? 5000,
    retries: 0,
  });
  const body = answer as { type?: unknown; success?: unknown };
  if (body.type !== 'ac-bot-api') {
    throw new BotApiError('malformed', botUrl, `GET ${botUrl} is not a bot-api bot: "type" is ${JSON.stringify(body.type)}, expected "ac-bot-api"`);
  }
  if (body.success !== true) {
    throw new BotApiError('malformed', botUrl, `GET ${botUrl}: the bot reports "success": ${JSON.stringify(body.success)}`);
  }
}
