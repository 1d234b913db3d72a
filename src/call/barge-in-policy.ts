/**
 * Decides what caller input does while a prompt plays. With barge-in off (the default) input
 * during playback is ignored, as the commercial gateways do; with it on, input stops the prompt.
 */
import type { Prompt } from './prompt-queue.js';

export type InputDecision = 'accept' | 'interrupt' | 'ignore';

export class BargeInPolicy {
  /** Caller speech (already past the minimum speech duration) while `playing` is heard. */
  onSpeech(playing: Prompt | undefined): InputDecision {
    if (!playing) return 'accept';
    return playing.bargeIn ? 'interrupt' : 'ignore';
  }

  /**
   * Recognized words (interim or final) while `playing` is heard: with a minimum word count, speech
   * interrupts only once enough words are recognized, so backchannels ("mm-hm", "okay") do not.
   */
  onRecognizedWords(playing: Prompt | undefined, words: number, minWords: number): InputDecision {
    if (!playing) return 'accept';
    if (!playing.bargeIn) return 'ignore';
    return words >= minWords ? 'interrupt' : 'ignore';
  }

  /** A key press while `playing` is heard. */
  onDtmf(playing: Prompt | undefined): InputDecision {
    if (!playing) return 'accept';
    return playing.bargeInOnDTMF ? 'interrupt' : 'ignore';
  }
}
