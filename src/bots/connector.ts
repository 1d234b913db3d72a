/**
 * A bot connector is one conversation with one bot. The gateway sends it activities (start event,
 * user text, DTMF, notifications); the bot's activities arrive through the `activities` event,
 * whether they came back as the answer to a request or asynchronously (bot-api websocket).
 */
import type { EventEmitter } from 'node:events';
import type { Activity } from './activity.js';
import type { CallDirection } from '../events/call-events.js';

export interface BotConversationInfo {
  /** Voxgate's call id; used as the bot conversation id. */
  conversationId: string;
  direction: CallDirection;
  caller: string;
  callee: string;
  callerHost?: string;
  calleeHost?: string;
  callerDisplayName?: string;
  /** Extra start parameters (SIP headers mapped to the bot, dial-out metadata...). */
  parameters?: Record<string, unknown>;
  /**
   * Replaces the connector's own `start` activity (configured override), or null to send none.
   * Honoured by connectors whose protocol has a start activity (Bot API); undefined = the default.
   */
  initialActivity?: Activity | null;
  /** Activities sent before the start activity, each in a request of its own, in order (e.g. `dialoutInitiated`). */
  prelude?: Activity[];
}

export interface BotConnectorEventMap {
  activities: [activities: Activity[]];
  /** The bot is unreachable or answered with an error; the session applies its failure policy. */
  failure: [error: Error];
}

export type BotDisconnectReason =
  | 'client-disconnected'
  | 'bot-disconnected'
  | 'transferred'
  | 'error'
  | 'machine-detected'
  | 'no-answer'
  | 'busy'
  | 'declined';

export interface BotConnector extends EventEmitter<BotConnectorEventMap> {
  readonly botName: string;
  /**
   * The bot wants `event promptInterrupted` (value `{activityId, heardFraction}`) when barge-in cuts
   * one of its messages, e.g. to keep an LLM's history to what the caller heard. Off for protocols
   * whose bots do not expect it.
   */
  readonly wantsPromptInterruptions?: boolean;
  /** Opens the conversation and sends the `start` event. */
  start(info: BotConversationInfo): Promise<void>;
  /** Delivers one gateway -> bot activity. */
  send(activity: Activity): Promise<void>;
  /** Ends the conversation; safe to call more than once. */
  end(reasonCode: BotDisconnectReason, reason?: string): Promise<void>;
}
