/** Text-to-speech providers stream PCM16 as they produce it. */

export interface TtsRequest {
  /** Plain text, or SSML when `ssml` is true. */
  text: string;
  ssml?: boolean;
  /** Language tag such as "en-US". */
  language: string;
  /** Provider-specific voice name; providers fall back to a default for the language. */
  voice?: string;
  /** Output sample rate of the PCM16 the provider yields (the leg's rate). */
  sampleRate: number;
}

export interface TtsProvider {
  readonly name: string;
  /** Provider settings that change the audio beyond the request (speaking rate...); part of the cache key. */
  readonly cacheScope?: string;
  /** Yields PCM16 mono chunks at `req.sampleRate`, the first as early as the engine allows. */
  synthesize(req: TtsRequest, signal?: AbortSignal): AsyncIterable<Int16Array>;
}

export class TtsError extends Error {
  constructor(
    readonly provider: string,
    message: string,
  ) {
    super(`TTS provider "${provider}": ${message}`);
  }
}
