/**
 * Collects the caller's audio for one utterance out of the continuous 20 ms frame stream a session
 * is fed (silence between utterances included): nothing is kept until a frame is louder than
 * `silenceRms`, then the utterance starts with a short pre-roll of the quiet frames just before it,
 * so an upload-per-utterance recognizer is neither billed for nor confused by the silence around it.
 */

/** Quiet audio kept before the first loud frame, so a soft word onset is not cut off. */
export const PRE_ROLL_MS = 240;

export function frameRms(frame: Int16Array): number {
  if (frame.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < frame.length; i++) sum += frame[i]! * frame[i]!;
  return Math.sqrt(sum / frame.length);
}

export class UtteranceFrames {
  private preRoll: Int16Array[] = [];
  private preRollSamples = 0;
  private readonly preRollMax: number;
  private frames: Int16Array[] = [];
  private samples = 0;

  constructor(
    readonly sampleRate: number,
    /** RMS (PCM16 units) at or above which a frame is speech; 0 treats every frame as speech. */
    private readonly silenceRms: number,
  ) {
    this.preRollMax = Math.round((PRE_ROLL_MS / 1000) * sampleRate);
  }

  /** True once a loud frame started the current utterance. */
  get started(): boolean {
    return this.frames.length > 0;
  }

  get durationMs(): number {
    return (this.samples * 1000) / this.sampleRate;
  }

  /**
   * Copies the frame (callers reuse their buffers). Returns the frames that just started an
   * utterance (pre-roll and this frame) when it is the first loud one, [frame copy] while an
   * utterance runs, and [] for quiet audio before an utterance.
   */
  push(frame: Int16Array): Int16Array[] {
    if (frame.length === 0) return [];
    const copy = frame.slice();
    if (this.started) {
      this.frames.push(copy);
      this.samples += copy.length;
      return [copy];
    }
    if (this.silenceRms > 0 && frameRms(copy) < this.silenceRms) {
      this.preRoll.push(copy);
      this.preRollSamples += copy.length;
      while (this.preRollSamples - this.preRoll[0]!.length >= this.preRollMax) {
        this.preRollSamples -= this.preRoll.shift()!.length;
      }
      return [];
    }
    const opening = [...this.preRoll, copy];
    this.preRoll = [];
    this.preRollSamples = 0;
    this.frames = opening.slice();
    this.samples = opening.reduce((n, f) => n + f.length, 0);
    return opening;
  }

  /** The utterance as one buffer (undefined when no loud frame started one); resets for the next. */
  take(): Int16Array | undefined {
    const frames = this.frames;
    const samples = this.samples;
    this.reset();
    if (frames.length === 0) return undefined;
    const out = new Int16Array(samples);
    let offset = 0;
    for (const f of frames) {
      out.set(f, offset);
      offset += f.length;
    }
    return out;
  }

  reset(): void {
    this.frames = [];
    this.samples = 0;
    this.preRoll = [];
    this.preRollSamples = 0;
  }
}
