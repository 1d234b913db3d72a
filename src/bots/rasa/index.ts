export { RasaConnector, DEFAULT_RASA_DTMF_TEMPLATE, DEFAULT_RASA_START_MESSAGE, type RasaConnectorOptions } from './rasa-connector.js';
export { RasaError, rasaWebhookUrl, type RasaErrorKind } from './rasa-http.js';
export { rasaAnswerActivities, customPayloadActivities, RasaAnswerError } from './rasa-messages.js';
export { rasaConfigSchema, rasaOptionsFromConfig, type RasaConfig } from './rasa-config.js';
