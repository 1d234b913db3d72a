/**
 * Records a call as a stereo WAV file: the caller on the left, what the caller heard from Voxgate on
 * the right. Caller frames arrive at the carrier's real-time pace and are the recording's clock; bot
 * audio is handed to the carrier ahead of playout, so it is placed where it will play (after what is
 * already queued) and cut back when barge-in clears the carrier's queue. Finished seconds are written
 * as they complete, so a long call never sits in memory; the header is patched on stop().
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { wavHeader } from './wav.js';

export interface RecordingFile {
  path: string;
  sampleRate: number;
  channels: 2;
  /** Recorded audio (paused stretches are not in the file). */
  durationMs: number;
}

export class CallRecorder {
  /** Samples recorded so far (the caller track's length): the recording's clock. */
  private position = 0;
  /** Samples already written to the file. */
  private written = 0;
  /** Caller samples from `written` to `position`. */
  private caller: Int16Array;
  /** Bot samples from `written` on; may run ahead of `position` (audio queued at the carrier). */
  private bot: Int16Array;
  private botEnd = 0;
  private paused = false;
  private stopped = false;
  private stopping: Promise<RecordingFile> | undefined;
  private readonly out: WriteStream;
  private failure: Error | undefined;
  private readonly flushSamples: number;

  constructor(
    readonly path: string,
    readonly sampleRate: number,
  ) {
    this.flushSamples = sampleRate; // write once per recorded second
    this.caller = new Int16Array(sampleRate * 2);
    this.bot = new Int16Array(sampleRate * 2);
    this.out = createWriteStream(path);
    this.out.on('error', (err) => (this.failure ??= err));
    this.out.write(wavHeader(0, sampleRate, 2));
  }

  get isPaused(): boolean {
    return this.paused;
  }

  callerAudio(frame: Int16Array): void {
    if (this.paused || this.stopped) return;
    const at = this.position - this.written;
    this.caller = ensure(this.caller, at + frame.length);
    this.caller.set(frame, at);
    this.position += frame.length;
    if (this.position - this.written >= this.flushSamples) this.flush(this.position);
  }

  /** Audio handed to the carrier: it plays after everything queued before it. */
  botAudio(samples: Int16Array): void {
    if (this.paused || this.stopped) return;
    const start = Math.max(this.position, this.botEnd);
    const at = start - this.written;
    this.bot = ensure(this.bot, at + samples.length);
    this.bot.set(samples, at);
    this.botEnd = start + samples.length;
  }

  /** The carrier dropped its queue (barge-in): audio not yet played never reached the caller. */
  botCleared(): void {
    if (this.botEnd > this.position) this.bot.fill(0, this.position - this.written, this.botEnd - this.written);
    this.botEnd = Math.min(this.botEnd, this.position);
  }

  pause(): void {
    if (this.stopped || this.paused) return;
    this.botCleared(); // queued audio plays while paused, so it is not recorded
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** Writes what was recorded and completes the header. Safe to call twice: every caller waits for the same complete file. */
  stop(): Promise<RecordingFile> {
    this.stopping ??= this.finish();
    return this.stopping;
  }

  private async finish(): Promise<RecordingFile> {
    this.stopped = true;
    this.flush(this.position);
    this.out.end();
    // A stream that failed to open is already closed: waiting for 'close' again would never return.
    if (!this.out.closed) await new Promise<void>((resolve) => this.out.once('close', resolve));
    if (this.failure) throw this.failure;
    const file = await open(this.path, 'r+');
    try {
      await file.write(wavHeader(this.position * 4, this.sampleRate, 2), 0, 44, 0);
    } finally {
      await file.close();
    }
    return { path: this.path, sampleRate: this.sampleRate, channels: 2, durationMs: Math.round((this.position * 1000) / this.sampleRate) };
  }

  private flush(upTo: number): void {
    const n = upTo - this.written;
    if (n <= 0) return;
    const interleaved = Buffer.alloc(n * 4);
    for (let i = 0; i < n; i++) {
      interleaved.writeInt16LE(this.caller[i], i * 4);
      interleaved.writeInt16LE(this.bot[i], i * 4 + 2);
    }
    this.out.write(interleaved);
    // Keep the unwritten tail at the start of each track.
    this.caller.copyWithin(0, n, this.position - this.written);
    const botTail = Math.max(0, this.botEnd - upTo);
    this.bot.copyWithin(0, n, n + botTail);
    this.bot.fill(0, botTail);
    this.written = upTo;
  }
}

function ensure(buf: Int16Array, length: number): Int16Array {
  if (buf.length >= length) return buf;
  const grown = new Int16Array(Math.max(length, buf.length * 2));
  grown.set(buf);
  return grown;
}
