/** The `directLine` config section of a bot of type direct-line (Microsoft Bot Framework Direct Line 3.0). */
import { z } from 'zod';
import { resolveSecret, secretSchema } from '../../runtime/secrets.js';
import type { DirectLineConnectorOptions } from './direct-line-connector.js';
import { DIRECT_LINE_PUBLIC_BASE_URL } from './direct-line-http.js';

export const directLineConfigSchema = z
  .object({
    /** The Direct Line channel secret from the Azure portal (prefer `{ env: NAME }`). */
    secret: secretSchema,
    /** API root including `/v3/directline`; regional bots use e.g. https://europe.directline.botframework.com/v3/directline. */
    baseUrl: z.string().url().default(DIRECT_LINE_PUBLIC_BASE_URL),
    /** Exchange the secret for a conversation token first (POST /tokens/generate), so the secret is sent once per call. */
    exchangeSecretForToken: z.boolean().default(false),
    /** Receive bot activities over the WebSocket stream; false polls GET .../activities instead. */
    useWebSocket: z.boolean().default(true),
    /** Polling period when the WebSocket is off or could not be opened. */
    pollIntervalMs: z.number().int().min(100).default(1000),
    /** Per HTTP request; Direct Line itself gives the bot 15 s before answering 502. */
    requestTimeoutMs: z.number().int().positive().default(20_000),
    /** `from.id` of the caller's activities; default `voxgate-<call id>`. */
    userId: z.string().min(1).optional(),
    /** `locale` of the caller's activities when the call has no language of its own, e.g. en-US. */
    locale: z.string().min(2).optional(),
  })
  .strict();

export type DirectLineConfig = z.infer<typeof directLineConfigSchema>;

/** Connector options from a validated config section; `key` names the section in config errors. */
export function directLineOptionsFromConfig(
  name: string,
  config: DirectLineConfig,
  env: NodeJS.ProcessEnv,
  key = `bots.${name}.directLine`,
): DirectLineConnectorOptions {
  return {
    name,
    secret: resolveSecret(config.secret, `${key}.secret`, env)!,
    baseUrl: config.baseUrl,
    exchangeSecretForToken: config.exchangeSecretForToken,
    useWebSocket: config.useWebSocket,
    pollIntervalMs: config.pollIntervalMs,
    requestTimeoutMs: config.requestTimeoutMs,
    userId: config.userId,
    locale: config.locale,
  };
}
