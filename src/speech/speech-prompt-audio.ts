import type { PromptAudioSource } from '../call/prompt-audio.js';
import type { TtsCache } from './tts/cache.js';
import type { TtsProvider, TtsRequest } from './tts/provider.js';
import { loadPlayUrlAudio } from './play-url.js';

/** Prompt audio for calls: bot text through the shared TTS cache, playUrl audio fetched and converted. */
export class SpeechPromptAudio implements PromptAudioSource {
  constructor(
    private readonly tts: TtsProvider,
    private readonly cache?: TtsCache,
  ) {}

  speak(req: TtsRequest, opts: { noCache: boolean; signal: AbortSignal }): AsyncIterable<Int16Array> {
    return this.cache ? this.cache.synthesize(this.tts, req, opts) : this.tts.synthesize(req, opts.signal);
  }

  async *playUrl(url: string, opts: { mediaFormat?: string; sampleRate: number; signal: AbortSignal }): AsyncIterable<Int16Array> {
    yield await loadPlayUrlAudio(url, opts);
  }
}
