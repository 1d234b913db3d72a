/**
 * Records a call as a stereo WAV file: the caller on the left, what the caller heard from Voxgate on
 * the right. Caller frames arrive at the carrier's real-time pace and are the recording's clock; bot
 * audio is handed to the carrier ahead of playout, so it is placed where it will play (after what is
 * already queued) and cut back when barge-in clears the carrier's queue. Finished seconds are written
 * as they complete, so a long call never sits in memory; the header is patched on stop().
 *
 * A write that fails (disk full, I/O error) ends the recording, not the call: audio after it is
 * dropped, and stop() rejects with a RecordingWriteError. What reached the disk is kept as a shorter
 * but valid WAV (the file cut to whole frames, the header patched to match) when there is any;
 * otherwise the file is removed, so nothing points at a broken file.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { open, stat, unlink } from 'node:fs/promises';
import { wavHeader } from './wav.js';

const HEADER_BYTES = 44;
/** Bytes per stereo PCM16 frame. */
const FRAME_BYTES = 4;

/** Writing the recording failed; `partial` is what could be kept of it (undefined: the file was removed). */
export class RecordingWriteError extends Error {
  constructor(
    readonly path: string,
    readonly partial: RecordingFile | undefined,
    cause: Error,
  ) {
    super(`recording ${path}: ${cause.message}${partial ? `; kept the first ${partial.durationMs} ms` : '; file removed'}`, { cause });
    this.name = 'RecordingWriteError';
  }
}

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
    /** Told at once when a write fails (stop() still reports it, with what was kept). */
    onWriteError?: (err: Error) => void,
  ) {
    this.flushSamples = sampleRate; // write once per recorded second
    this.caller = new Int16Array(sampleRate * 2);
    this.bot = new Int16Array(sampleRate * 2);
    this.out = createWriteStream(path);
    this.out.on('error', (err) => {
      if (this.failure) return;
      this.failure = err;
      onWriteError?.(err);
    });
    this.out.write(wavHeader(0, sampleRate, 2));
  }

  get isPaused(): boolean {
    return this.paused;
  }

  callerAudio(frame: Int16Array): void {
    if (this.paused || this.stopped || this.failure) return;
    const at = this.position - this.written;
    this.caller = ensure(this.caller, at + frame.length);
    this.caller.set(frame, at);
    this.position += frame.length;
    if (this.position - this.written >= this.flushSamples) this.flush(this.position);
  }

  /** Audio handed to the carrier: it plays after everything queued before it. */
  botAudio(samples: Int16Array): void {
    if (this.paused || this.stopped || this.failure) return;
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
    if (this.failure) throw new RecordingWriteError(this.path, await this.salvage(), this.failure);
    await this.patchHeader(this.position * FRAME_BYTES);
    return this.described(this.position * FRAME_BYTES);
  }

  /** Keeps what reached the disk as a valid WAV: cut to whole frames, header patched. Neither needs new space. */
  private async salvage(): Promise<RecordingFile | undefined> {
    try {
      const info = await stat(this.path);
      // Only ever a file this recorder made; never a device or anything else the path may name.
      if (!info.isFile()) return undefined;
      const dataBytes = Math.max(0, Math.floor((info.size - HEADER_BYTES) / FRAME_BYTES) * FRAME_BYTES);
      if (dataBytes > 0) {
        await this.patchHeader(dataBytes, HEADER_BYTES + dataBytes);
        return this.described(dataBytes);
      }
      await unlink(this.path);
    } catch {
      await unlink(this.path).catch(() => undefined);
    }
    return undefined;
  }

  private async patchHeader(dataBytes: number, truncateTo?: number): Promise<void> {
    const file = await open(this.path, 'r+');
    try {
      if (truncateTo !== undefined) await file.truncate(truncateTo);
      await file.write(wavHeader(dataBytes, this.sampleRate, 2), 0, HEADER_BYTES, 0);
    } finally {
      await file.close();
    }
  }

  private described(dataBytes: number): RecordingFile {
    return { path: this.path, sampleRate: this.sampleRate, channels: 2, durationMs: Math.round((dataBytes / FRAME_BYTES) * 1000 / this.sampleRate) };
  }

  private flush(upTo: number): void {
    const n = upTo - this.written;
    if (n <= 0) return;
    if (this.failure) {
      this.written = upTo; // the file is closed: nothing more goes to it
      return;
    }
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
