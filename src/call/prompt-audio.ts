/** Where prompt audio comes from: TTS for bot text, fetched audio for playUrl. */
import type { TtsRequest } from '../speech/tts/provider.js';

export interface SpeakOptions {
  noCache: boolean;
  signal: AbortSignal;
  /** ttsTimeoutMS: the first audio must come within this long; 0 or absent = no deadline. */
  firstAudioTimeoutMs?: number;
}

export interface PromptAudioSource {
  speak(req: TtsRequest, opts: SpeakOptions): AsyncIterable<Int16Array>;
  playUrl(url: string, opts: { mediaFormat?: string; sampleRate: number; signal: AbortSignal }): AsyncIterable<Int16Array>;
}
