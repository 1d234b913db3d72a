/**
 * A media output stage that watches the carrier confirm each clear (barge-in) with a `cleared`
 * event. The confirmation's latency is logged at debug; a carrier that has not confirmed within 2 s
 * may still be playing the cut prompt to the caller, which is worth one warning per call.
 */
import type { LegMedia } from '../carriers/leg.js';
import type { TimerHandle } from '../runtime/clock.js';
import type { PlayoutSink } from './prompt-queue.js';
import type { CallScope } from './session-types.js';

export const CLEAR_CONFIRMATION_TIMEOUT_MS = 2000;

export class ClearConfirmationWatch implements PlayoutSink {
  /** When the oldest unconfirmed clear was sent; one confirmation answers every clear before it (a carrier may coalesce them). */
  private unconfirmedSince: number | undefined;
  private deadline: TimerHandle | undefined;
  private warned = false;
  private readonly onCleared = () => this.confirmed();

  constructor(
    private readonly output: PlayoutSink,
    private readonly leg: LegMedia,
    private readonly scope: Pick<CallScope, 'clock' | 'log'>,
  ) {
    leg.on('cleared', this.onCleared);
  }

  play(samples: Int16Array): void {
    this.output.play(samples);
  }

  mark(name: string): void {
    this.output.mark(name);
  }

  clear(): void {
    if (this.unconfirmedSince === undefined) {
      this.unconfirmedSince = this.scope.clock.now();
      this.deadline = this.scope.clock.setTimeout(() => this.overdue(), CLEAR_CONFIRMATION_TIMEOUT_MS);
    }
    this.output.clear();
  }

  /** The call is over: a confirmation still owed no longer matters. */
  close(): void {
    this.deadline?.cancel();
    this.deadline = undefined;
    this.leg.off('cleared', this.onCleared);
  }

  private confirmed(): void {
    if (this.unconfirmedSince === undefined) return;
    this.scope.log.debug({ latencyMs: this.scope.clock.now() - this.unconfirmedSince }, 'carrier confirmed clearing playout');
    this.unconfirmedSince = undefined;
    this.deadline?.cancel();
    this.deadline = undefined;
  }

  /** Still unconfirmed: warn once per call. A late confirmation is still logged with its latency. */
  private overdue(): void {
    this.deadline = undefined;
    if (this.warned) return;
    this.warned = true;
    this.scope.log.warn({ waitedMs: CLEAR_CONFIRMATION_TIMEOUT_MS }, 'carrier did not confirm clearing playout; the caller may still hear the cut prompt');
  }
}
