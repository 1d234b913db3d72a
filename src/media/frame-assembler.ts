/**
 * Cuts PCM arriving in chunks of any length (an Opus packet of 10, 20 or 60 ms) into 20 ms frames,
 * handing each to `onFrame` in one array reused for every frame (listeners copy what they keep, as the
 * leg contract says). Nothing is allocated after construction.
 */
import { samplesPerFrame } from './audio.js';

export class FrameAssembler {
  private readonly frame: Int16Array;
  private filled = 0;

  constructor(
    sampleRate: number,
    private readonly onFrame: (frame: Int16Array) => void,
  ) {
    this.frame = new Int16Array(samplesPerFrame(sampleRate));
  }

  /** Appends samples [0, count) of `chunk`; emits every frame that fills up. */
  push(chunk: Int16Array, count = chunk.length): void {
    const frame = this.frame;
    let i = 0;
    while (i < count) {
      const take = Math.min(frame.length - this.filled, count - i);
      for (let k = 0; k < take; k++) frame[this.filled + k] = chunk[i + k];
      this.filled += take;
      i += take;
      if (this.filled === frame.length) {
        this.filled = 0;
        this.onFrame(frame);
      }
    }
  }

  /** Drops a partial frame (the stream restarted). */
  reset(): void {
    this.filled = 0;
  }
}
