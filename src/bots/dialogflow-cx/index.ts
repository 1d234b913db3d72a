export { DialogflowCxConnector, DIALOGFLOW_SCOPE, dialogflowCxBaseUrl, dialogflowCxSessionId, type DialogflowCxConnectorOptions } from './dialogflow-cx-connector.js';
export { dialogflowCxConfigSchema, dialogflowCxOptionsFromConfig, type DialogflowCxConfig } from './dialogflow-cx-config.js';
export { DialogflowCxError, type DialogflowCxErrorKind } from './dialogflow-cx-http.js';
