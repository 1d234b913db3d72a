/**
 * The call's recordings, driven by the bot (startCallRecording, stopCallRecording, pauseCallRecording,
 * resumeCallRecording) or by `recordCall`. Each start..stop is one stereo WAV file under the
 * recordings directory; pause/resume leave the paused stretch out of the same file.
 *
 * A recording that cannot be written (disk full) never ends the call: it is logged with the call id
 * and path, reported as a `store` provider error, and its record says `partial` (the file holds what
 * was written) or `failed` (no file), with the error.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ProviderErrorEvent, RecordingSavedEvent } from '../events/call-events.js';
import { CallRecorder, RecordingWriteError } from '../media/call-recorder.js';
import type { Clock } from '../runtime/clock.js';

export type RecordingAction = 'start' | 'stop' | 'pause' | 'resume';

export interface CallRecordingOptions {
  callId: string;
  /** Where files go; without it recording requests are refused with a warning. */
  dir?: string;
  sampleRate: number;
  clock: Clock;
  publish: (saved: RecordingSavedEvent) => void;
  /** Told when a recording cannot be written (published as `provider.error`). */
  reportFailure?: (failure: ProviderErrorEvent) => void;
  log: Logger;
}

export class CallRecording {
  private recorder: CallRecorder | undefined;
  private startedAt = 0;
  private files = 0;
  private readonly finishing = new Set<Promise<void>>();

  constructor(private readonly options: CallRecordingOptions) {}

  get active(): boolean {
    return this.recorder !== undefined;
  }

  apply(action: RecordingAction): void {
    const { log } = this.options;
    switch (action) {
      case 'start':
        if (this.recorder) return log.debug('recording already running');
        this.begin();
        return;
      case 'stop':
        if (!this.recorder) return log.debug('stopCallRecording without a running recording; ignored');
        this.finish();
        return;
      case 'pause':
        this.recorder?.pause();
        return;
      case 'resume':
        this.recorder?.resume();
    }
  }

  callerAudio(frame: Int16Array): void {
    this.recorder?.callerAudio(frame);
  }

  botAudio(samples: Int16Array): void {
    this.recorder?.botAudio(samples);
  }

  botCleared(): void {
    this.recorder?.botCleared();
  }

  /** The call ended: the running recording is closed; resolves when every file is complete. */
  async close(): Promise<void> {
    if (this.recorder) this.finish();
    await Promise.all([...this.finishing]);
  }

  private begin(): void {
    const { dir, callId, sampleRate, clock, log } = this.options;
    if (!dir) {
      log.warn('bot asked to record the call, but no recordings directory is configured; not recorded');
      return;
    }
    const path = join(dir, `${callId}-${++this.files}.wav`);
    try {
      mkdirSync(dir, { recursive: true });
      this.recorder = new CallRecorder(path, sampleRate, (err) => log.error({ err, callId, path }, 'recording write failed; recording stopped, the call goes on'));
      this.startedAt = clock.now();
      log.info({ path }, 'recording started');
    } catch (err) {
      log.error({ err, callId, path }, 'recording could not be started; the call goes on');
      const at = clock.now();
      this.failed(path, { startedAt: at, endedAt: at, durationMs: 0, status: 'failed' }, err);
    }
  }

  private finish(): void {
    const recorder = this.recorder!;
    this.recorder = undefined;
    const { callId, clock, publish, log } = this.options;
    const startedAt = this.startedAt;
    const endedAt = clock.now();
    const done = recorder.stop().then(
      (file) => {
        log.info({ path: file.path, durationMs: file.durationMs }, 'recording saved');
        publish({ callId, path: file.path, format: 'wav', sampleRate: file.sampleRate, channels: file.channels, startedAt, endedAt, durationMs: file.durationMs });
      },
      (err: unknown) => {
        log.error({ err, callId, path: recorder.path }, 'recording could not be written; the call goes on');
        const partial = err instanceof RecordingWriteError ? err.partial : undefined;
        this.failed(recorder.path, partial ? { startedAt, endedAt, durationMs: partial.durationMs, status: 'partial' } : { startedAt, endedAt, durationMs: 0, status: 'failed' }, err);
      },
    );
    this.finishing.add(done);
    void done.finally(() => this.finishing.delete(done));
  }

  /** The record of a recording that could not be written whole: what is left of it, and why. */
  private failed(path: string, what: Pick<RecordingSavedEvent, 'startedAt' | 'endedAt' | 'durationMs'> & { status: 'partial' | 'failed' }, err: unknown): void {
    const { callId, sampleRate, clock, publish, reportFailure } = this.options;
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    const error = cause instanceof Error ? cause.message : String(cause);
    publish({ callId, path, format: 'wav', sampleRate, channels: 2, ...what, error });
    reportFailure?.({ kind: 'store', provider: 'recordings', callId, error: `recording ${path}: ${error}`, at: clock.now() });
  }
}
