/** The `dialogflowCx` config section of a bot of type dialogflow-cx (Google Dialogflow CX agent). */
import { z } from 'zod';
import { googleCredentialsSchema, resolveGoogleCredentials, sharedGoogleAccessTokenSource } from '../../auth/google-service-account.js';
import type { Clock } from '../../runtime/clock.js';
import type { Logger } from '../../logger.js';
import { DIALOGFLOW_SCOPE, type DialogflowCxConnectorOptions } from './dialogflow-cx-connector.js';

/** Resource ids as the CX console shows them: no slashes, which would change the REST path. */
const resourceId = (what: string) => z.string().min(1).regex(/^[^/\s]+$/, `${what} must be a single id without "/" or spaces`);

export const dialogflowCxConfigSchema = z
  .object({
    /** Google Cloud project id. */
    project: resourceId('project'),
    /** `global`, or the agent's region such as `us-central1` or `europe-west2`. */
    location: resourceId('location').default('global'),
    /** Agent id (the UUID in the agent's resource name). */
    agent: resourceId('agent'),
    /** Environment id of a published version; the draft agent when absent. */
    environment: resourceId('environment').optional(),
    /** A service account with the Dialogflow API Client role. */
    credentials: googleCredentialsSchema,
    /** QueryInput.languageCode; one of the agent's languages. */
    languageCode: z.string().min(2).default('en'),
    /** Custom event sent at call start; a flow's event handler for it plays the greeting. */
    startEvent: z.string().min(1).default('welcome'),
    /** Event sent when the caller stays silent (gateway noUserInput). */
    noInputEvent: z.string().min(1).default('sys.no-input-default'),
    /** API root override (tests, private endpoints); default the location's endpoint. */
    baseUrl: z.string().url().optional(),
    /** OAuth token URL override; default the key's token_uri or https://oauth2.googleapis.com/token. */
    tokenUrl: z.string().url().optional(),
    /** Per detectIntent; CX itself allows webhooks up to 30 s. */
    requestTimeoutMs: z.number().int().positive().default(10_000),
    /** Where a liveAgentHandoff goes when its metadata has no transferTarget (tel: or sip: URI). */
    defaultTransferTarget: z.string().min(1).optional(),
  })
  .strict();

export type DialogflowCxConfig = z.infer<typeof dialogflowCxConfigSchema>;

/**
 * Connector options (everything but a per-call logger) from a validated config section; the token
 * source is shared by every call of the bot. `key` names the section in config errors.
 */
export function dialogflowCxOptionsFromConfig(
  name: string,
  config: DialogflowCxConfig,
  env: NodeJS.ProcessEnv,
  key = `bots.${name}.dialogflowCx`,
  deps: { clock?: Clock; logger?: Logger } = {},
): DialogflowCxConnectorOptions {
  const credentials = resolveGoogleCredentials(config.credentials, `${key}.credentials`, env);
  const tokens = sharedGoogleAccessTokenSource({ credentials, scopes: [DIALOGFLOW_SCOPE], tokenUrl: config.tokenUrl, clock: deps.clock, logger: deps.logger });
  return {
    name,
    project: config.project,
    location: config.location,
    agent: config.agent,
    environment: config.environment,
    languageCode: config.languageCode,
    startEvent: config.startEvent,
    noInputEvent: config.noInputEvent,
    baseUrl: config.baseUrl,
    requestTimeoutMs: config.requestTimeoutMs,
    defaultTransferTarget: config.defaultTransferTarget,
    getAccessToken: tokens.getAccessToken,
    invalidateAccessToken: (token) => tokens.invalidate(token),
    clock: deps.clock,
  };
}
