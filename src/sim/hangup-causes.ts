/**
 * Plivo hangup causes the simulator reports (Plivo's "Hangup Causes" table). Codes 4000/4010/1000/2000
 * are from docs/protocols/plivo.md; the 3xxx/6xxx/7xxx ones follow Plivo's published table as best known.
 */
export interface HangupCause {
  name: string;
  code: number;
}

export const HANGUP_CAUSES = {
  normal: { name: 'Normal Hangup', code: 4000 },
  endOfXml: { name: 'End Of XML Instructions', code: 4010 },
  canceled: { name: 'Canceled', code: 1000 },
  invalidDestination: { name: 'Invalid Destination Address', code: 2000 },
  busy: { name: 'Busy Line', code: 3000 },
  rejected: { name: 'Rejected', code: 3010 },
  noAnswer: { name: 'No Answer', code: 3020 },
  timeLimit: { name: 'Scheduled Hangup', code: 6000 },
  invalidAnswerXml: { name: 'Invalid Answer XML', code: 7000 },
  answerUrlUnreachable: { name: 'Unreachable Answer URL', code: 7010 },
} as const satisfies Record<string, HangupCause>;

/** Plivo's HangupSource values. */
export type HangupSource = 'Caller' | 'Callee' | 'Plivo' | 'API Request' | 'Answer XML' | 'Error' | 'Carrier';

/** Final CallStatus for a call that ended with `cause` (Plivo reports busy/no-answer/failed/cancel for unanswered calls). */
export function finalCallStatus(cause: HangupCause, answered: boolean): string {
  if (answered) return 'completed';
  if (cause.code === HANGUP_CAUSES.busy.code || cause.code === HANGUP_CAUSES.rejected.code) return 'busy';
  if (cause.code === HANGUP_CAUSES.noAnswer.code) return 'no-answer';
  if (cause.code === HANGUP_CAUSES.canceled.code) return 'cancel';
  return 'failed';
}
