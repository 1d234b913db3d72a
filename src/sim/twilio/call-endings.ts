/**
 * How a Twilio call ends. Twilio reports a final CallStatus (an answered call is always `completed`;
 * an unanswered one busy, no-answer, failed or canceled) and, on the completed status callback, the SIP
 * response code behind it. Twilio has no status for a callee who declines: the handset's decline
 * reaches Twilio as a busy indication (Twilio error 34002: "the called device ... rejected the call with
 * a busy status"), so it is reported `busy`, told apart from a busy line only by SipResponseCode 603.
 */

export type TwilioCallStatus = 'queued' | 'initiated' | 'ringing' | 'in-progress' | 'completed' | 'busy' | 'failed' | 'no-answer' | 'canceled';
export type TwilioFinalStatus = 'completed' | 'busy' | 'failed' | 'no-answer' | 'canceled';

/** Who ended the call (the timeline's `source`). */
export type TwilioEndedBy = 'caller' | 'callee' | 'api' | 'twiml' | 'twilio' | 'carrier';

export interface TwilioCallEnding {
  /** What ended the call, for the timeline. */
  description: string;
  endedBy: TwilioEndedBy;
  /** The final status when the call was never answered (answered calls end `completed`). */
  unansweredStatus: TwilioFinalStatus;
  /** The SIP response of an unanswered call (answered calls report 200). */
  unansweredSipCode: number;
  /** Set when the application failed: Twilio says so to the party, then hangs up. */
  applicationError?: { code: number; message: string };
}

const ending = (description: string, endedBy: TwilioEndedBy, unansweredStatus: TwilioFinalStatus, unansweredSipCode: number): TwilioCallEnding => ({
  description,
  endedBy,
  unansweredStatus,
  unansweredSipCode,
});

export const TWILIO_ENDINGS = {
  callerHungUp: ending('the caller hung up', 'caller', 'canceled', 487),
  calleeHungUp: ending('the callee hung up', 'callee', 'completed', 200),
  hangupVerb: ending('<Hangup>', 'twiml', 'completed', 200),
  endOfTwiml: ending('the TwiML ran out of verbs', 'twilio', 'completed', 200),
  apiCompleted: ending('the REST API set Status=completed', 'api', 'canceled', 487),
  apiCanceled: ending('the REST API set Status=canceled', 'api', 'canceled', 487),
  busy: ending('the line is busy', 'callee', 'busy', 486),
  declined: ending('the callee declined', 'callee', 'busy', 603),
  noAnswer: ending('nobody answered before Timeout', 'twilio', 'no-answer', 487),
  unreachable: ending('the number is out of service', 'carrier', 'failed', 480),
  unknownNumber: ending('no party answers at this number', 'twilio', 'failed', 404),
  rejectBusy: ending('<Reject reason="busy">', 'twiml', 'busy', 486),
  rejected: ending('<Reject>', 'twiml', 'no-answer', 603),
  mediaFailure: ending('the simulated media loop failed', 'twilio', 'failed', 500),
  simulatorClosed: ending('the simulator closed', 'twilio', 'canceled', 487),
} as const satisfies Record<string, TwilioCallEnding>;

/** Twilio ends a call whose application failed (HTTP retrieval failure 11200, invalid TwiML 12100/12200). */
export function applicationErrorEnding(code: number, message: string): TwilioCallEnding {
  return { ...ending(`application error ${code}`, 'twilio', 'failed', 500), applicationError: { code, message } };
}

export function finalStatus(end: TwilioCallEnding, answered: boolean): TwilioFinalStatus {
  return answered ? 'completed' : end.unansweredStatus;
}

export function finalSipCode(end: TwilioCallEnding, answered: boolean): number {
  return answered ? 200 : end.unansweredSipCode;
}
