export { DirectLineConnector, type DirectLineConnectorOptions } from './direct-line-connector.js';
export { directLineConfigSchema, directLineOptionsFromConfig, type DirectLineConfig } from './direct-line-config.js';
export { DirectLineError, DIRECT_LINE_PUBLIC_BASE_URL, type DirectLineErrorKind } from './direct-line-http.js';
export { fromBotFramework, toBotFramework, parseActivitySet, type ActivitySet, type BotFrameworkActivity } from './direct-line-activities.js';
