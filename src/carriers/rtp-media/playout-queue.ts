/**
 * What a leg has still to play to the caller: PCM chunks and marks, in order. A paced sender (an RTP
 * session's 20 ms tick) takes one frame at a time; a mark is due once everything queued before it has
 * been taken, so marks say what the caller has heard (give or take the network and their jitter
 * buffer). Shared by the SIP RTP session and the WebRTC leg; nothing here allocates per frame.
 */

interface AudioItem {
  samples: Int16Array;
  offset: number;
  mark?: undefined;
}
interface MarkItem {
  mark: string;
}
type QueueItem = AudioItem | MarkItem;

export class PlayoutQueue {
  private readonly items: QueueItem[] = [];

  /** `onMark` is called for each mark that became due (from emitDueMarks). */
  constructor(private readonly onMark: (name: string) => void) {}

  /** Queues PCM (takes ownership of the array). */
  play(samples: Int16Array): void {
    if (samples.length > 0) this.items.push({ samples, offset: 0 });
  }

  mark(name: string): void {
    this.items.push({ mark: name });
  }

  /** Whether anything (audio or a mark) is queued. */
  get isEmpty(): boolean {
    return this.items.length === 0;
  }

  /**
   * Barge-in: drops the queued audio and returns the marks that were waiting, in order (the audio
   * they waited for will never play; whoever waits on them must still hear of them).
   */
  clear(): string[] {
    const marks: string[] = [];
    for (const item of this.items) if (item.mark !== undefined) marks.push(item.mark);
    this.items.length = 0;
    return marks;
  }

  /** Forgets everything, marks included (the leg is closing). */
  reset(): void {
    this.items.length = 0;
  }

  /** Calls `onMark` for the marks at the head of the queue: everything before them has been taken. */
  emitDueMarks(): void {
    const q = this.items;
    while (q.length > 0) {
      const head = q[0];
      if (head.mark === undefined) return;
      q.shift();
      this.onMark(head.mark);
    }
  }

  /**
   * Fills `pcm` with queued audio up to the next mark (a mark ends the frame: it is due right after
   * this frame is sent) and zero-fills the rest; returns how many samples came from the queue.
   */
  fill(pcm: Int16Array): number {
    const n = pcm.length;
    const q = this.items;
    let filled = 0;
    while (filled < n && q.length > 0) {
      const item = q[0];
      if (item.mark !== undefined) break;
      const src = item.samples;
      const take = Math.min(n - filled, src.length - item.offset);
      for (let i = 0, j = item.offset; i < take; i++, j++) pcm[filled + i] = src[j];
      filled += take;
      item.offset += take;
      if (item.offset >= src.length) q.shift();
    }
    if (filled < n) pcm.fill(0, filled);
    return filled;
  }
}
