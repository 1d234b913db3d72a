/**
 * Graceful drain (SIGTERM, an orchestrator's rolling update): from the first moment the instance says
 * it is draining (readiness 503, `draining` in the call directory, so the load balancer and siblings
 * send new calls elsewhere), lets its live calls finish up to `server.drainTimeoutMs`, then hangs up
 * whatever is still up (reason `shutdown`). Closing the gateway is the caller's next step.
 */
import type { Logger } from '../logger.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { CallDirectory } from './call-directory.js';

export interface DrainDeps {
  calls: { readonly size: number; untilIdle(): Promise<void>; endAll(detail?: string): void };
  /** The call directory, once it exists. */
  directory: () => CallDirectory | undefined;
  /** `server.drainTimeoutMs`. */
  timeoutMs: number;
  clock: Clock;
  logger: Logger;
}

export interface DrainOutcome {
  /** Calls live when the drain began. */
  liveAtStart: number;
  /** Calls still up at the deadline, hung up. */
  hungUp: number;
  waitedMs: number;
}

export class GatewayDrain {
  private drained: Promise<DrainOutcome> | undefined;

  constructor(private readonly deps: DrainDeps) {
    if (!Number.isInteger(deps.timeoutMs) || deps.timeoutMs < 0) throw new RangeError(`drain: timeoutMs must be a whole number of milliseconds >= 0, got ${deps.timeoutMs}`);
  }

  get draining(): boolean {
    return this.drained !== undefined;
  }

  /** Readiness: the reason this instance takes no new calls, while it drains. */
  readinessProblem(): string | undefined {
    if (!this.draining) return undefined;
    return `draining: ${this.deps.calls.size} live calls finishing (up to ${Math.round(this.deps.timeoutMs / 1000)} s), no new calls taken`;
  }

  /** Starts the drain (once; later calls get the same outcome). */
  drain(): Promise<DrainOutcome> {
    return (this.drained ??= this.run());
  }

  private async run(): Promise<DrainOutcome> {
    const { calls, clock, logger, timeoutMs } = this.deps;
    const startedAt = clock.now();
    const liveAtStart = calls.size;
    const directory = this.deps.directory();
    directory?.setDraining(true).catch((err: unknown) => logger.warn({ err }, 'drain: the call directory was not told; siblings may still send calls here until the lease lapses'));
    let timer: TimerHandle | undefined;
    await Promise.race([calls.untilIdle(), new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, timeoutMs)))]);
    timer?.cancel();
    const hungUp = calls.size;
    if (hungUp > 0) calls.endAll(`gateway draining: ${Math.round(timeoutMs / 1000)} s drain deadline passed`);
    return { liveAtStart, hungUp, waitedMs: clock.now() - startedAt };
  }
}
