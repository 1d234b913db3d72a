/**
 * The audio of one caller utterance for a file-based recognizer: a rolling window of the latest
 * `maxMs` of 20 ms frames (the session is fed every frame, silence included, so the window keeps the
 * end of the utterance and drops what came long before it), trimmed of leading silence on take().
 */
import { frameRms } from './utterance-frames.js';

/** Audio kept before the first loud frame, so a soft word onset is not cut off. */
const PRE_ROLL_MS = 200;

export class UtteranceAudio {
  private frames: Int16Array[] = [];
  private samples = 0;
  private readonly maxSamples: number;
  /** Samples dropped from the front since the last take(): the utterance was longer than the window. */
  private droppedSamples = 0;

  constructor(
    readonly sampleRate: number,
    maxMs: number,
    /** RMS (PCM16 units) below which a frame counts as silence; 0 keeps everything. */
    private readonly silenceRms: number,
  ) {
    this.maxSamples = Math.max(1, Math.round((maxMs / 1000) * sampleRate));
  }

  /** Copies the frame (callers may reuse their buffer) and drops the oldest audio beyond the window. */
  push(frame: Int16Array): void {
    if (frame.length === 0) return;
    this.frames.push(frame.slice());
    this.samples += frame.length;
    while (this.samples > this.maxSamples && this.frames.length > 1) {
      const dropped = this.frames.shift()!;
      this.samples -= dropped.length;
      this.droppedSamples += dropped.length;
    }
  }

  get durationMs(): number {
    return (this.samples * 1000) / this.sampleRate;
  }

  /**
   * The utterance as one buffer (leading silence trimmed to a short pre-roll), or undefined when it
   * holds no frame above the silence threshold: Whisper invents text ("Thank you.") for pure silence.
   * Resets the buffer for the next utterance.
   */
  take(): { samples: Int16Array; droppedMs: number } | undefined {
    const frames = this.frames;
    const droppedMs = (this.droppedSamples * 1000) / this.sampleRate;
    this.frames = [];
    this.samples = 0;
    this.droppedSamples = 0;
    let first = 0;
    if (this.silenceRms > 0) {
      first = frames.findIndex((f) => frameRms(f) >= this.silenceRms);
      if (first === -1) return undefined;
      let preRoll = Math.round((PRE_ROLL_MS / 1000) * this.sampleRate);
      while (first > 0 && preRoll > 0) {
        first--;
        preRoll -= frames[first]!.length;
      }
    }
    const kept = frames.slice(first);
    const out = new Int16Array(kept.reduce((n, f) => n + f.length, 0));
    let offset = 0;
    for (const f of kept) {
      out.set(f, offset);
      offset += f.length;
    }
    return out.length === 0 ? undefined : { samples: out, droppedMs };
  }

  clear(): void {
    this.frames = [];
    this.samples = 0;
    this.droppedSamples = 0;
  }
}
