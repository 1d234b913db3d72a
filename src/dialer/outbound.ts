/**
 * The outbound-call vocabulary shared by the dialout API, the conversation API (dial plans) and
 * campaigns: what is asked for, and the status a placed call goes through.
 */
import type { DialPlan } from '../bots/dial-plan/dial-plan.js';

export interface OutboundCallRequest {
  /** Configured bot that talks to the callee; or `dialPlan`. */
  bot?: string;
  /** Verbs run on the call instead of a bot (conversation API, campaigns). */
  dialPlan?: DialPlan;
  /** E.164 number, with or without `tel:`. */
  target: string;
  /** Caller id shown to the callee. */
  caller: string;
  /** The carrier to call through; default: the carrier the caller number's route names, else the only one configured. */
  carrier?: string;
  callerDisplayName?: string;
  /** `detect`: the call goes on and the bot is told; `disconnect`: a machine ends the call (reason machine-detected). */
  machineDetection?: 'detect' | 'disconnect';
  /** Passed to the bot as `dialoutMetadata`. */
  metadata?: Record<string, unknown>;
  /** `${name}` values for prompts (campaign contact variables). */
  variables?: Record<string, string>;
  /** Who asked: for logs and records. */
  source: 'dialout' | 'conversation-api' | 'campaign';
}

/** Places calls; every status change is published on the bus as `outbound.status`. */
export interface CallPlacer {
  /** Resolves once the carrier accepted (or queued) the call; throws OutboundRequestError for bad requests. */
  place(request: OutboundCallRequest): Promise<{ conversationId: string }>;
  /** Throws OutboundRequestError, naming the field, when calls like this could not be placed (unknown bot or carrier). */
  check?(request: Pick<OutboundCallRequest, 'bot' | 'carrier' | 'caller' | 'dialPlan'>): void;
}

/** A request that cannot be placed (unknown bot, bad number...); the message names the field. */
export class OutboundRequestError extends Error {}
