export { BotApiConnector, type BotApiConnectorOptions } from './bot-api-connector.js';
export { BotApiError, type BotApiAuth, type BotApiErrorKind } from './bot-api-http.js';
export { OAuthTokenCache, OAuthTokenError, sharedOAuthTokenCache, type OAuthClientCredentials, type OAuthTokenCacheOptions } from './oauth-token-cache.js';
export { validateBotApi, type ValidateBotApiOptions } from './validate-bot-api.js';
export type { BotApiConversationUrls } from './bot-api-answers.js';
