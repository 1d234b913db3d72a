/**
 * What the simulated network plays into a party's ear: PCM16 8 kHz segments and markers, pulled one
 * 20 ms frame per tick. A marker fires when every sample queued before it has been pulled (played).
 */
interface AudioItem {
  samples: Int16Array;
  offset: number;
}
interface MarkerItem {
  marker: () => void;
}
type QueueItem = AudioItem | MarkerItem;

export class PlayoutQueue {
  private items: QueueItem[] = [];
  private head = 0;
  private queuedSamples = 0;

  /** Samples waiting to be played. */
  get pendingSamples(): number {
    return this.queuedSamples;
  }

  get isEmpty(): boolean {
    return this.head >= this.items.length;
  }

  push(samples: Int16Array): void {
    if (samples.length === 0) return;
    this.items.push({ samples, offset: 0 });
    this.queuedSamples += samples.length;
  }

  /** Calls `fn` once everything queued so far has played (at once on the next pull when nothing is queued). */
  mark(fn: () => void): void {
    this.items.push({ marker: fn });
  }

  /** Resolves once everything queued so far has played, or when the queue is cleared. */
  drained(): Promise<void> {
    return new Promise((resolve) => this.mark(resolve));
  }

  /**
   * Drops queued audio. Dropped markers fire when `fireDroppedMarkers` (verbs awaiting their own audio,
   * so an interrupted Speak ends instead of hanging); otherwise they are forgotten (stream checkpoints).
   */
  clear(fireDroppedMarkers: boolean): void {
    const dropped = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    this.queuedSamples = 0;
    if (fireDroppedMarkers) for (const item of dropped) if ('marker' in item) item.marker();
  }

  /**
   * Fills `out` with the next frame (zero-padded) and returns how many samples were real audio.
   * Markers reached are fired after the frame is filled.
   */
  pull(out: Int16Array): number {
    let filled = 0;
    while (this.head < this.items.length) {
      const item = this.items[this.head];
      if ('marker' in item) {
        // A marker after audio fires only once that audio has been heard, i.e. in the frame that finishes it.
        this.head++;
        item.marker();
        continue;
      }
      if (filled === out.length) break;
      const take = Math.min(out.length - filled, item.samples.length - item.offset);
      out.set(item.samples.subarray(item.offset, item.offset + take), filled);
      filled += take;
      item.offset += take;
      this.queuedSamples -= take;
      if (item.offset === item.samples.length) this.head++;
    }
    if (filled < out.length) out.fill(0, filled);
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return filled;
  }
}
