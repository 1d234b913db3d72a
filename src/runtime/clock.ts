/** Time source for the conversation controller, so timers and turn-taking run under a fake clock in tests. */

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds (epoch-based for the system clock). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};
