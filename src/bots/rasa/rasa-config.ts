/** The `rasa` config section of a bot of type rasa (Rasa's REST channel). */
import { z } from 'zod';
import { resolveSecret, secretSchema } from '../../runtime/secrets.js';
import type { RasaConnectorOptions } from './rasa-connector.js';

const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:$/.test(new URL(u).protocol), { message: 'must be an http(s) URL' })
  .refine((u) => !new URL(u).username && !new URL(u).password, { message: 'must not contain credentials; use token or bearerToken' });

export const rasaConfigSchema = z
  .object({
    /** The Rasa server (`rasa run`), e.g. http://rasa:5005; messages go to {url}/webhooks/{channel}/webhook. */
    url: httpUrl,
    /** Input channel name: `rest`, or a custom channel derived from RestInput. */
    channel: z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be a Rasa channel name (letters, digits, _ or -)').default('rest'),
    /** Sent as the `token` query parameter (Rasa's --auth-token convention; prefer `{ env: NAME }`). */
    token: secretSchema.optional(),
    /** Sent as `Authorization: Bearer` (a JWT signed with Rasa's --jwt-secret). */
    bearerToken: secretSchema.optional(),
    /** First message of each call: an intent trigger (`/greet`, `/session_start{"lang":"en"}`) or plain text. */
    startMessage: z.string().min(1).default('/greet'),
    /** Message for caller DTMF; `${digits}` is replaced, e.g. `/dtmf{"digits":"${digits}"}`. */
    dtmfTemplate: z.string().min(1).default('${digits}'),
    /** Gateway events sent to Rasa, by name, e.g. `noUserInput: /no_user_input`; `${value}` is replaced. Others are not sent. */
    eventMessages: z.record(z.string().min(1), z.string().min(1)).default({}),
    /** Sent when the call ends, e.g. `/session_end`; `${reasonCode}`/`${reason}` are replaced. Off when absent. */
    endMessage: z.string().min(1).optional(),
    /** Longest wait for Rasa's answer to one message. */
    requestTimeoutMs: z.number().int().positive().default(10_000),
  })
  .strict();

export type RasaConfig = z.infer<typeof rasaConfigSchema>;

/** Connector options from a validated config section; `key` names the section in config errors. */
export function rasaOptionsFromConfig(name: string, config: RasaConfig, env: NodeJS.ProcessEnv, key = `bots.${name}.rasa`): RasaConnectorOptions {
  return {
    name,
    url: config.url,
    channel: config.channel,
    token: resolveSecret(config.token, `${key}.token`, env),
    bearerToken: resolveSecret(config.bearerToken, `${key}.bearerToken`, env),
    startMessage: config.startMessage,
    dtmfTemplate: config.dtmfTemplate,
    eventMessages: config.eventMessages,
    endMessage: config.endMessage,
    requestTimeoutMs: config.requestTimeoutMs,
  };
}
