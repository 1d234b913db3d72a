/** The status a call Voxgate placed goes through, as published on the bus (`outbound.status`). */

export type OutboundStatus = 'initiated' | 'ringing' | 'answered' | 'completed' | 'failed';
export type OutboundReasonCode = 'no-answer' | 'busy' | 'declined' | 'error' | 'machine-detected';

export interface OutboundStatusEvent {
  conversationId: string;
  /** The carrier the call goes through (its name, as on call records). */
  carrier?: string;
  status: OutboundStatus;
  /** failed (and completed after a machine hangup): why. */
  reasonCode?: OutboundReasonCode;
  reason?: string;
  at: number;
  /** completed: the callee's input: a dial plan's collected digits, else every DTMF digit pressed, in order. */
  dtmf?: string;
  /** completed: why the conversation ended (bot-hangup, caller-hangup, no-input...). */
  endReason?: string;
  /** completed: talk time. */
  durationMs?: number;
}
