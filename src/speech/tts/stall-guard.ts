/**
 * The idle deadline of a TTS audio stream, for every provider: once audio started, the next chunk
 * must come within `idleMs`, or the request is aborted (its socket closed) and the synthesis fails
 * with a TtsStallError. The guard wraps the provider itself, so a synthesis shared through the TTS
 * cache fails for every call waiting on it at once, and the cache stores nothing of it.
 */
import type { Logger } from '../../logger.js';
import type { Clock } from '../../runtime/clock.js';
import { withIdleDeadline } from '../../runtime/idle-watchdog.js';
import { TtsError, type TtsProvider, type TtsRequest } from './provider.js';

export const DEFAULT_TTS_IDLE_TIMEOUT_MS = 5000;

/** The provider sent some audio, then nothing for `stalledMs` with the stream still open. */
export class TtsStallError extends TtsError {
  constructor(
    provider: string,
    readonly stalledMs: number,
    /** Audio received before the stall, in ms. */
    readonly audioMs: number,
  ) {
    super(provider, `the audio stream stalled: nothing for ${stalledMs} ms after ${audioMs} ms of audio (tts.idleTimeoutMs)`);
    this.name = 'TtsStallError';
  }
}

export interface StallGuardOptions {
  clock: Clock;
  /** Longest gap between two audio chunks once audio started. */
  idleMs: number;
  logger?: Logger;
}

export class StallGuardedTts implements TtsProvider {
  constructor(
    private readonly inner: TtsProvider,
    private readonly options: StallGuardOptions,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  /** The cache key stays the provider's own: guarding a provider does not change its audio. */
  get cacheScope(): string | undefined {
    return this.inner.cacheScope;
  }

  async *synthesize(req: TtsRequest, signal?: AbortSignal): AsyncIterable<Int16Array> {
    const { clock, idleMs, logger } = this.options;
    const controller = new AbortController();
    const onOuterAbort = () => controller.abort(signal!.reason);
    if (signal?.aborted) onOuterAbort();
    else signal?.addEventListener('abort', onOuterAbort, { once: true });
    let samples = 0;
    const onStall = (stalledMs: number): Error => {
      const error = new TtsStallError(this.inner.name, stalledMs, Math.round((samples * 1000) / req.sampleRate));
      logger?.warn({ provider: this.inner.name, stalledMs, audioMs: error.audioMs }, 'TTS audio stream stalled; request aborted');
      // Aborting the request closes the vendor's socket; the stalled body is never read again.
      controller.abort(error);
      return error;
    };
    try {
      for await (const chunk of withIdleDeadline(this.inner.synthesize(req, controller.signal), { clock, idleMs, onStall })) {
        samples += chunk.length;
        yield chunk;
      }
    } finally {
      signal?.removeEventListener('abort', onOuterAbort);
    }
  }
}
