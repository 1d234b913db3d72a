import type { Logger } from 'pino';
import type { PromptAudioSource, SpeakOptions } from '../call/prompt-audio.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import type { TtsCache } from './tts/cache.js';
import { TtsError, type TtsProvider, type TtsRequest } from './tts/provider.js';
import { DEFAULT_TTS_IDLE_TIMEOUT_MS, StallGuardedTts, TtsStallError } from './tts/stall-guard.js';
import { loadPlayUrlAudio } from './play-url.js';

export interface SpeechPromptAudioOptions {
  cache?: TtsCache;
  /**
   * Speaks a prompt the main provider could not start (error or deadline), so a vendor outage
   * degrades the voice instead of silencing the call. Typically the local eSpeak NG voice.
   */
  fallback?: TtsProvider;
  /**
   * Once a prompt's audio started, the longest gap between two chunks (config `tts.idleTimeoutMs`);
   * a stream that stalls longer is aborted and the fallback voice speaks the prompt. Default 5000;
   * 0 turns the deadline off.
   */
  idleTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/** Prompt audio for calls: bot text through the shared TTS cache, playUrl audio fetched and converted. */
export class SpeechPromptAudio implements PromptAudioSource {
  private readonly clock: Clock;
  private readonly tts: TtsProvider;
  private readonly fallback: TtsProvider | undefined;

  constructor(tts: TtsProvider, private readonly options: SpeechPromptAudioOptions = {}) {
    this.clock = options.clock ?? systemClock;
    const idleMs = options.idleTimeoutMs ?? DEFAULT_TTS_IDLE_TIMEOUT_MS;
    const guard = (p: TtsProvider) => (idleMs > 0 ? new StallGuardedTts(p, { clock: this.clock, idleMs, logger: options.logger }) : p);
    this.tts = guard(tts);
    this.fallback = options.fallback && options.fallback !== tts ? guard(options.fallback) : undefined;
  }

  async *speak(req: TtsRequest, opts: SpeakOptions): AsyncIterable<Int16Array> {
    let started = false;
    try {
      for await (const chunk of this.withFirstAudioDeadline(this.tts, req, opts)) {
        started = true;
        yield chunk;
      }
    } catch (err) {
      const { fallback } = this;
      const stalled = err instanceof TtsStallError;
      // Once the caller heard part of it, a second voice restarting the sentence is worse than
      // stopping; a stalled stream does not stop, though, it leaves the caller in silence.
      if ((started && !stalled) || opts.signal.aborted || !fallback) throw err;
      const log = opts.log ?? this.options.logger;
      const what = stalled ? 'TTS stalled mid-prompt' : 'TTS failed before any audio';
      log?.warn({ err: errorText(err), provider: this.tts.name, fallback: fallback.name, ...(stalled ? { stalledMs: err.stalledMs, heardMs: err.audioMs } : {}) }, `${what}; speaking the prompt with the fallback voice`);
      opts.onFallback?.(err instanceof Error ? err : new Error(String(err)), fallback.name);
      yield* this.synthesize(fallback, { ...req, voice: undefined, ssml: req.ssml }, opts);
    }
  }

  async *playUrl(url: string, opts: { mediaFormat?: string; sampleRate: number; signal: AbortSignal }): AsyncIterable<Int16Array> {
    yield await loadPlayUrlAudio(url, opts);
  }

  private synthesize(provider: TtsProvider, req: TtsRequest, opts: SpeakOptions): AsyncIterable<Int16Array> {
    const { cache } = this.options;
    return cache ? cache.synthesize(provider, req, opts) : provider.synthesize(req, opts.signal);
  }

  /** The provider must produce its first audio within `firstAudioTimeoutMs`, or the request is aborted. */
  private async *withFirstAudioDeadline(provider: TtsProvider, req: TtsRequest, opts: SpeakOptions): AsyncIterable<Int16Array> {
    const timeoutMs = opts.firstAudioTimeoutMs ?? 0;
    if (timeoutMs <= 0) {
      yield* this.synthesize(provider, req, opts);
      return;
    }
    const abort = new AbortController();
    const onOuterAbort = () => abort.abort(opts.signal.reason);
    opts.signal.addEventListener('abort', onOuterAbort, { once: true });
    const iterator = this.synthesize(provider, req, { ...opts, signal: abort.signal })[Symbol.asyncIterator]();
    try {
      let expired!: () => void;
      const deadline = new Promise<'expired'>((resolve) => (expired = () => resolve('expired')));
      const timer = this.clock.setTimeout(expired, timeoutMs);
      const first = await Promise.race([iterator.next(), deadline]);
      timer.cancel();
      if (first === 'expired') {
        abort.abort();
        throw new TtsError(provider.name, `no audio within ${timeoutMs} ms (ttsTimeoutMS)`);
      }
      if (first.done) return;
      yield first.value;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      opts.signal.removeEventListener('abort', onOuterAbort);
      // Not awaited: a provider stuck past its deadline must not hold the prompt queue.
      iterator.return?.().catch(() => undefined);
    }
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
