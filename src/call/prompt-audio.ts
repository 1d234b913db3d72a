/** Where prompt audio comes from: TTS for bot text, fetched audio for playUrl. */
import type { TtsRequest } from '../speech/tts/provider.js';

export interface PromptAudioSource {
  speak(req: TtsRequest, opts: { noCache: boolean; signal: AbortSignal }): AsyncIterable<Int16Array>;
  playUrl(url: string, opts: { mediaFormat?: string; sampleRate: number; signal: AbortSignal }): AsyncIterable<Int16Array>;
}
