/**
 * Plays prompts one after another on a leg and tracks what the caller actually heard.
 * Audio is handed to the leg as soon as it is synthesized (carriers queue it); a mark after each
 * prompt tells us when playout reached its end. Clearing (barge-in) cuts the prompt being heard
 * and purges the ones queued behind it.
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../runtime/clock.js';

export interface Prompt {
  id: string;
  /** The bot activity this prompt speaks, when it came from one. */
  activityId?: string;
  /** What is spoken, or the URL played; kept for records and logs. */
  text: string;
  /** Set when the prompt plays a URL instead of speaking text. */
  playUrl?: string;
  /** Speech may interrupt this prompt. */
  bargeIn: boolean;
  /** A key press may interrupt this prompt. */
  bargeInOnDTMF: boolean;
  /** Produces the prompt's audio at the leg's rate; stops early when the signal aborts. */
  audio: (signal: AbortSignal) => AsyncIterable<Int16Array>;
}

/** The part of a carrier leg the queue drives. */
export interface PlayoutSink {
  play(samples: Int16Array): void;
  mark(name: string): void;
  clear(): void;
}

export interface PromptOutcome {
  prompt: Prompt;
  /** When the caller started hearing it; undefined when it was purged before any of it played. */
  startedAt?: number;
  endedAt: number;
  heardInFull: boolean;
  /** Samples of the prompt handed to the leg, and whether that was all of it. */
  sentSamples: number;
  fullySent: boolean;
}

export interface PromptQueueEventMap {
  finished: [outcome: PromptOutcome];
  failed: [prompt: Prompt, error: Error];
  /** The prompt's first audio went to the carrier (turn timing). */
  audioStarted: [prompt: Prompt, at: number];
  /** Nothing is queued or playing any more. */
  idle: [];
}

interface Entry {
  prompt: Prompt;
  abort: AbortController;
  sentSamples: number;
  sentAudio: boolean;
  sent: boolean;
  startedAt?: number;
}

const MARK_PREFIX = 'prompt:';

export class PromptQueue extends EventEmitter<PromptQueueEventMap> {
  /** Prompts not yet fully heard, in playout order; the first is the one the caller hears now. */
  private readonly entries: Entry[] = [];
  private sending = false;
  private closed = false;

  constructor(
    private readonly sink: PlayoutSink,
    private readonly clock: Clock,
  ) {
    super();
  }

  enqueue(prompt: Prompt): void {
    if (this.closed) return;
    this.entries.push({ prompt, abort: new AbortController(), sentSamples: 0, sentAudio: false, sent: false });
    void this.pump();
  }

  /** The prompt the caller is hearing (or about to hear), if any. */
  get current(): Prompt | undefined {
    return this.entries[0]?.prompt;
  }

  get busy(): boolean {
    return this.entries.length > 0;
  }

  /** Feeds a leg `mark` event; returns false for marks this queue did not send. */
  onMark(name: string): boolean {
    if (!name.startsWith(MARK_PREFIX)) return false;
    const id = name.slice(MARK_PREFIX.length);
    const idx = this.entries.findIndex((e) => e.prompt.id === id && e.sent);
    if (idx < 0) return true; // a mark for a prompt already cleared: the carrier echoes it, nothing to do
    const now = this.clock.now();
    // Marks arrive in playout order, so everything before this one has played too.
    const done = this.entries.splice(0, idx + 1);
    for (const e of done) this.emit('finished', { ...this.outcome(e, now, true), startedAt: e.startedAt ?? now });
    const head = this.entries[0];
    if (head && head.sentAudio && head.startedAt === undefined) head.startedAt = now;
    if (this.entries.length === 0) this.emit('idle');
    return true;
  }

  /** Barge-in: stop what plays, drop what is queued. Returns what was cut. */
  clear(): PromptOutcome[] {
    if (this.entries.length === 0) return [];
    const now = this.clock.now();
    const cut = this.entries.splice(0, this.entries.length);
    for (const e of cut) e.abort.abort();
    this.sink.clear();
    const outcomes = cut.map((e) => this.outcome(e, now, false));
    for (const o of outcomes) this.emit('finished', o);
    this.emit('idle');
    return outcomes;
  }

  /** The call ended: whatever had not finished was not heard in full. No audio commands are sent. */
  close(): PromptOutcome[] {
    this.closed = true;
    const now = this.clock.now();
    const cut = this.entries.splice(0, this.entries.length);
    for (const e of cut) e.abort.abort();
    const outcomes = cut.map((e) => this.outcome(e, now, false));
    for (const o of outcomes) this.emit('finished', o);
    return outcomes;
  }

  private outcome(e: Entry, endedAt: number, heardInFull: boolean): PromptOutcome {
    return { prompt: e.prompt, startedAt: e.startedAt, endedAt, heardInFull, sentSamples: e.sentSamples, fullySent: e.sent };
  }

  /** Sends prompts' audio strictly in order: the next prompt's audio waits for the previous one's. */
  private async pump(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      for (;;) {
        const entry = this.entries.find((e) => !e.sent);
        if (!entry || this.closed) return;
        await this.send(entry);
      }
    } finally {
      this.sending = false;
    }
  }

  private async send(entry: Entry): Promise<void> {
    const { signal } = entry.abort;
    try {
      for await (const chunk of entry.prompt.audio(signal)) {
        if (signal.aborted) return;
        if (chunk.length === 0) continue;
        if (!entry.sentAudio) {
          entry.sentAudio = true;
          const now = this.clock.now();
          if (this.entries[0] === entry) entry.startedAt = now;
          this.emit('audioStarted', entry.prompt, now);
        }
        entry.sentSamples += chunk.length;
        this.sink.play(chunk);
      }
      if (signal.aborted) return;
      entry.sent = true;
      this.sink.mark(MARK_PREFIX + entry.prompt.id);
    } catch (err) {
      if (signal.aborted) return;
      const idx = this.entries.indexOf(entry);
      if (idx >= 0) this.entries.splice(idx, 1);
      this.emit('failed', entry.prompt, err instanceof Error ? err : new Error(String(err)));
      // Audio already handed to the leg still plays; only an empty queue is idle.
      if (this.entries.length === 0) this.emit('idle');
    }
  }
}
