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

  /** A key press while `playing` is heard. */
  onDtmf(playing: Prompt | undefined): InputDecision {
    if (!playing) return 'accept';
    return playing.bargeInOnDTMF ? 'interrupt' : 'ignore';
  }
}
