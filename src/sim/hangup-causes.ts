/**
 * Plivo hangup causes the simulator reports: `HangupCauseName`/`HangupCauseCode` from Plivo's "Hangup
 * Causes" table, and `HangupCause`, the telephony (Q.850 / FreeSWITCH) name Plivo sends beside them.
 *
 * Sources: 1000/2000/2010/4000/4010 from Plivo's hangup-causes page; 3010 Busy Line, 3020 Rejected,
 * 6000 Scheduled Hangup, 6010 Ring Timeout, 7011 Error Reaching Answer URL, 8011 Invalid Answer XML and
 * 9100 Machine Detected from Plivo's own voice-agent troubleshooting guide (its code table; the 3010/3020
 * pairing there is taken from call records). The earlier 3000/3010/3020/7000/7010 values were wrong.
 */
export interface HangupCause {
  name: string;
  code: number;
  /** Plivo's `HangupCause` parameter: the switch's telephony cause name. */
  telephony: string;
}

export const HANGUP_CAUSES = {
  normal: { name: 'Normal Hangup', code: 4000, telephony: 'NORMAL_CLEARING' },
  endOfXml: { name: 'End Of XML Instructions', code: 4010, telephony: 'NORMAL_CLEARING' },
  canceled: { name: 'Canceled', code: 1000, telephony: 'ORIGINATOR_CANCEL' },
  invalidDestination: { name: 'Invalid Destination Address', code: 2000, telephony: 'UNALLOCATED_NUMBER' },
  destinationOutOfService: { name: 'Destination Out Of Service', code: 2010, telephony: 'DESTINATION_OUT_OF_ORDER' },
  busy: { name: 'Busy Line', code: 3010, telephony: 'USER_BUSY' },
  rejected: { name: 'Rejected', code: 3020, telephony: 'CALL_REJECTED' },
  timeLimit: { name: 'Scheduled Hangup', code: 6000, telephony: 'ALLOTTED_TIMEOUT' },
  ringTimeout: { name: 'Ring Timeout', code: 6010, telephony: 'NO_ANSWER' },
  answerUrlUnreachable: { name: 'Error Reaching Answer URL', code: 7011, telephony: 'NORMAL_CLEARING' },
  invalidAnswerXml: { name: 'Invalid Answer XML', code: 8011, telephony: 'NORMAL_CLEARING' },
  machineDetected: { name: 'Machine Detected', code: 9100, telephony: 'NORMAL_CLEARING' },
} as const satisfies Record<string, HangupCause>;

/** Plivo's HangupSource values. */
export type HangupSource = 'Caller' | 'Callee' | 'Plivo' | 'API Request' | 'Answer XML' | 'Error' | 'Carrier';

/**
 * Final CallStatus for a call that ended with `cause`. Answered calls are `completed` (a machine hung up
 * on included); unanswered ones are busy, no-answer, cancel (API cancel, and a callee who declines: Plivo's
 * status page defines cancel as "canceled by the callee without answering") or failed.
 */
export function finalCallStatus(cause: HangupCause, answered: boolean): string {
  if (answered) return 'completed';
  switch (cause.code) {
    case HANGUP_CAUSES.busy.code:
      return 'busy';
    case HANGUP_CAUSES.ringTimeout.code:
      return 'no-answer';
    case HANGUP_CAUSES.canceled.code:
    case HANGUP_CAUSES.rejected.code:
      return 'cancel';
    default:
      return 'failed';
  }
}
