/**
 * Logs a kind of problem the first time, then at most once per interval with how many were suppressed,
 * so a peer sending bad frames 50 times a second produces a handful of log lines, not thousands.
 */
import type { Logger } from '../logger.js';
import { systemClock, type Clock } from './clock.js';

export class RateLimitedWarnings {
  private readonly kinds = new Map<string, { lastLoggedAt: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock = systemClock,
    private readonly intervalMs = 10_000,
  ) {}

  warn(kind: string, message: string, fields: Record<string, unknown> = {}): void {
    const now = this.clock.now();
    const state = this.kinds.get(kind);
    if (state && now - state.lastLoggedAt < this.intervalMs) {
      state.suppressed++;
      return;
    }
    const suppressed = state?.suppressed ?? 0;
    this.kinds.set(kind, { lastLoggedAt: now, suppressed: 0 });
    this.logger.warn({ ...fields, kind, ...(suppressed > 0 ? { suppressedSinceLastLog: suppressed } : {}) }, message);
  }
}
