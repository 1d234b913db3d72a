// The config section lives in ./rasa-config.js, imported on its own: src/config/secrets.ts and
// load.ts import each other, so pulling secrets.ts in before schema.ts fails at module load.
export { RasaConnector, DEFAULT_RASA_DTMF_TEMPLATE, DEFAULT_RASA_START_MESSAGE, type RasaConnectorOptions } from './rasa-connector.js';
export { RasaError, rasaWebhookUrl, type RasaErrorKind } from './rasa-http.js';
export { rasaAnswerActivities, customPayloadActivities, RasaAnswerError } from './rasa-messages.js';
