export { WebhookBotConnector, WebhookBotError, type WebhookBotOptions } from './webhook-bot-connector.js';
export { WebhookReplyRouter, webhookResponseRoutes, type WebhookDelivery, type WebhookReplyTarget, type WebhookResponseRoutesOptions } from './webhook-reply-router.js';
export { parseWebhookReply, parseSyncAnswer, replyActivity, WebhookReplyError, type WebhookReply } from './webhook-reply.js';
