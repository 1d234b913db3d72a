/** What the worker's callees do, by list position and attempt: shared by the worker and the tests that check its results. */
export type WorkerCalleeResult = 'accept' | 'reject' | 'no-answer';

export function workerCalleeResult(position: number, attemptNo: number): WorkerCalleeResult {
  switch (position % 4) {
    case 0:
      return 'accept';
    case 1:
      return 'reject';
    case 2:
      return 'no-answer';
    default:
      return attemptNo >= 2 ? 'accept' : 'no-answer';
  }
}
