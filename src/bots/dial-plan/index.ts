export { dialPlanSchema, dialPlanVerbSchema, type DialPlan, type DialPlanInput, type DialPlanVerb } from './dial-plan.js';
export { DialPlanBot, DIAL_PLAN_COMPLETED, type DialPlanBotOptions, type DialPlanResult, type DialPlanOutcomeEventMap } from './dial-plan-bot.js';
export type { CollectEventPayload, CollectStatus, DialPlanCollectResult } from './collect-event.js';
export { DialPlanError } from './plan-segments.js';
export { seed002EscalationPlan, escalationAnswer, ESCALATION_MENU_TEXT, type EscalationAnswer, type EscalationPlanOptions } from './escalation-plan.js';
