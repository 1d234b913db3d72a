/** The local flow bot: flows in YAML/JSON run as a bot connector. */
export { FlowBot, type FlowBotOptions } from './flow-bot.js';
export {
  FlowError,
  loadFlow,
  parseFlow,
  validateFlow,
  type Flow,
  type FlowCollect,
  type FlowDefinition,
  type FlowStep,
} from './flow-schema.js';
export { DEFAULT_FLOW } from './default-flow.js';
