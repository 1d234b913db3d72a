/** When a failed status callback is tried again, and when it is given up. */

export interface CallbackRetryOptions {
  /** Delay after the first failed attempt; doubles each attempt. Default 1000 ms. */
  baseDelayMs?: number;
  /** Cap on the doubling. Default 300000 ms (5 minutes). */
  maxDelayMs?: number;
  /** Up to this fraction of each delay is taken off at random, so many failed callbacks do not retry in lockstep. Default 0.2. */
  jitter?: number;
  /** Attempts in all (first send included) before the callback is marked failed. Default 15 (about 35 minutes). */
  maxAttempts?: number;
  /** No attempt starts later than this after the callback was queued. Default 24 h. */
  maxAgeMs?: number;
  /** A receiver's Retry-After is honoured up to this long. Default 3600000 ms (1 h). */
  maxRetryAfterMs?: number;
  /** Random source in [0, 1) for the jitter (tests pass () => 0 for an exact schedule). */
  random?: () => number;
}

export type RetryDecision = { retryAt: number } | { giveUp: string };

export class CallbackRetryPolicy {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly jitter: number;
  readonly maxAttempts: number;
  readonly maxAgeMs: number;
  readonly maxRetryAfterMs: number;
  private readonly random: () => number;

  constructor(opts: CallbackRetryOptions = {}) {
    this.baseDelayMs = positive('baseDelayMs', opts.baseDelayMs ?? 1000);
    this.maxDelayMs = positive('maxDelayMs', opts.maxDelayMs ?? 300_000);
    this.jitter = opts.jitter ?? 0.2;
    if (!(this.jitter >= 0 && this.jitter < 1)) throw new RangeError(`status notifier: retry jitter must be in [0, 1), got ${opts.jitter}`);
    this.maxAttempts = positive('maxAttempts', opts.maxAttempts ?? 15);
    this.maxAgeMs = positive('maxAgeMs', opts.maxAgeMs ?? 24 * 3600_000);
    this.maxRetryAfterMs = positive('maxRetryAfterMs', opts.maxRetryAfterMs ?? 3600_000);
    this.random = opts.random ?? Math.random;
  }

  /** Backoff before attempt `attemptsMade + 1`: base * 2^(attemptsMade-1), capped, minus jitter. */
  backoffMs(attemptsMade: number): number {
    const exponent = Math.max(0, attemptsMade - 1);
    const capped = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(exponent, 40));
    return Math.round(capped * (1 - this.jitter * this.random()));
  }

  /**
   * Before attempt number `attemptNo` starts at `now`: why it must not (a process down past the
   * age limit, or attempts lost to crashes), or undefined when it may go.
   */
  tooLate(attemptNo: number, createdAt: number, now: number): string | undefined {
    if (now > createdAt + this.maxAgeMs) return `not sent: queued ${seconds(now - createdAt)} ago, past the ${seconds(this.maxAgeMs)} age limit`;
    if (attemptNo > this.maxAttempts) return `gave up: ${attemptNo - 1} attempts made`;
    return undefined;
  }

  /**
   * After attempt number `attemptsMade` failed with a retryable error at `now`: the next attempt
   * time, or why to give up. A receiver's Retry-After replaces the backoff (never below the base delay).
   */
  next(attemptsMade: number, createdAt: number, now: number, retryAfterMs?: number): RetryDecision {
    const ageText = seconds(now - createdAt);
    if (attemptsMade >= this.maxAttempts) return { giveUp: `gave up after ${attemptsMade} attempts over ${ageText}` };
    const delay = retryAfterMs === undefined
      ? this.backoffMs(attemptsMade)
      : Math.min(this.maxRetryAfterMs, Math.max(this.baseDelayMs, retryAfterMs));
    const retryAt = now + delay;
    if (retryAt > createdAt + this.maxAgeMs) {
      return { giveUp: `gave up after ${attemptsMade} attempts over ${ageText}: the next one would pass the ${seconds(this.maxAgeMs)} age limit` };
    }
    return { retryAt };
  }
}

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`status notifier: ${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}
