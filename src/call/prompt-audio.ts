/** Where prompt audio comes from: TTS for bot text, fetched audio for playUrl. */
import type { Logger } from 'pino';
import type { TtsRequest } from '../speech/tts/provider.js';

export interface SpeakOptions {
  noCache: boolean;
  signal: AbortSignal;
  /** ttsTimeoutMS: the first audio must come within this long; 0 or absent = no deadline. */
  firstAudioTimeoutMs?: number;
  /** The call's logger: failures are logged naming the call. */
  log?: Logger;
  /** The main voice failed (error, deadline, stall) and `fallback` speaks the prompt instead: the call reports the failure. */
  onFallback?: (error: Error, fallback: string) => void;
}

export interface PromptAudioSource {
  speak(req: TtsRequest, opts: SpeakOptions): AsyncIterable<Int16Array>;
  playUrl(url: string, opts: { mediaFormat?: string; sampleRate: number; signal: AbortSignal }): AsyncIterable<Int16Array>;
}
