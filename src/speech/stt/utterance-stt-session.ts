/**
 * The session half of recognizers that send one request per caller utterance and get one final
 * result back (Google's sync recognize, Azure's short-audio REST). The vendor decides when an
 * utterance starts and ends and how its request goes out; this class keeps what every such session
 * must do the same way:
 * - finals are emitted in utterance order, even when a later request is answered first;
 * - a failed utterance is reported and the session goes on, except for a permanent failure (bad
 *   credentials), which is reported once and stops the session;
 * - close() aborts the requests still in flight and nothing is emitted afterwards;
 * - invalid session options are reported once the caller could attach listeners.
 *
 * OpenAI transcription keeps its own queue: it streams interim results while a request runs and
 * reports every failed utterance, which this one-final, one-report-per-session shape does not do.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../logger.js';
import type { SttResult, SttSession, SttSessionEventMap } from './provider.js';

/** A failed recognition; a `permanent` one means every later utterance would fail the same way. */
export type UtteranceFailure = Error & { readonly permanent: boolean };

/** Why the session ends a request early; the vendor words it into its own error. */
export type UtteranceAbortReason = 'session closed' | 'session failed';

/** One utterance's request as the session tracks it. */
export interface UtteranceRequest {
  /** The utterance's final result (undefined: no speech was heard), or a rejection with what went wrong. */
  readonly outcome: Promise<SttResult | undefined>;
  /** Stops the request; its outcome is ignored afterwards. */
  abort(reason: UtteranceAbortReason): void;
}

type Outcome = { result: SttResult | undefined } | { error: UtteranceFailure };

export abstract class UtteranceSttSession extends EventEmitter<SttSessionEventMap> implements SttSession {
  private state: 'open' | 'failed' | 'closed' = 'open';
  private readonly inFlight = new Set<UtteranceRequest>();
  /** Outcomes are delivered from this chain, so a quick second answer waits for the first. */
  private delivery: Promise<void> = Promise.resolve();

  constructor(
    protected readonly log: Logger,
    /** Log message of every reported failure, e.g. "google stt recognition failed". */
    private readonly failureLog: string,
  ) {
    super();
  }

  abstract write(frame: Int16Array): void;
  abstract endOfUtterance(): void;

  /** Whether the session still takes audio (neither failed nor closed). */
  protected get isOpen(): boolean {
    return this.state === 'open';
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.discardAudio();
    for (const request of this.inFlight) request.abort('session closed');
    this.inFlight.clear();
  }

  /** The vendor's error for whatever a request's outcome rejected with. */
  protected abstract asFailure(error: unknown): UtteranceFailure;

  /** Drops the audio of the utterance under way (the session closed). */
  protected abstract discardAudio(): void;

  /** A permanent failure stopped the session; a vendor that can stop its requests under way does so here. */
  protected onPermanentFailure(): void {}

  /** Aborts every request still in flight (they stay tracked until their outcomes settle). */
  protected abortInFlight(reason: UtteranceAbortReason): void {
    for (const request of this.inFlight) request.abort(reason);
  }

  /** The session options were unusable: reported once the caller had a chance to attach listeners. */
  protected failAtStart(error: Error): void {
    this.state = 'failed';
    queueMicrotask(() => this.emitFailure(error));
  }

  /** Tracks an utterance's request; its outcome is delivered after those of the utterances before it. */
  protected track(request: UtteranceRequest): void {
    this.inFlight.add(request);
    const outcome = request.outcome
      .then(
        (result): Outcome => ({ result }),
        (error: unknown): Outcome => ({ error: this.asFailure(error) }),
      )
      .finally(() => this.inFlight.delete(request));
    this.delivery = this.delivery.then(() => outcome).then((o) => this.deliver(o));
  }

  private deliver(outcome: Outcome): void {
    if (this.state === 'closed') return;
    if ('error' in outcome) {
      // One report per session for bad credentials: later uploads fail the same way.
      if (this.state === 'failed') return;
      if (outcome.error.permanent) {
        this.state = 'failed';
        this.onPermanentFailure();
      }
      this.emitFailure(outcome.error);
      return;
    }
    if (outcome.result) this.emit('result', outcome.result);
  }

  private emitFailure(error: Error): void {
    this.log.warn({ err: error.message }, this.failureLog);
    this.emit('failure', error);
  }
}
