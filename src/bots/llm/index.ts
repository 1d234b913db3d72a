export { LlmBotConnector, type LlmBotOptions } from './llm-bot.js';
export type { LlmHttpTool } from './llm-tools.js';
export { ChatCompletionError, type ChatMessage } from './chat-completion-stream.js';
