/**
 * The call's recordings, driven by the bot (startCallRecording, stopCallRecording, pauseCallRecording,
 * resumeCallRecording) or by `recordCall`. Each start..stop is one stereo WAV file under the
 * recordings directory; pause/resume leave the paused stretch out of the same file.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { RecordingSavedEvent } from '../events/call-events.js';
import { CallRecorder } from '../media/call-recorder.js';
import type { Clock } from '../runtime/clock.js';

export type RecordingAction = 'start' | 'stop' | 'pause' | 'resume';

export interface CallRecordingOptions {
  callId: string;
  /** Where files go; without it recording requests are refused with a warning. */
  dir?: string;
  sampleRate: number;
  clock: Clock;
  publish: (saved: RecordingSavedEvent) => void;
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
    try {
      mkdirSync(dir, { recursive: true });
      this.recorder = new CallRecorder(join(dir, `${callId}-${++this.files}.wav`), sampleRate);
      this.startedAt = clock.now();
      log.info({ path: this.recorder.path }, 'recording started');
    } catch (err) {
      log.error({ err, dir }, 'recording could not be started');
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
      (err: unknown) => log.error({ err, path: recorder.path }, 'recording could not be written'),
    );
    this.finishing.add(done);
    void done.finally(() => this.finishing.delete(done));
  }
}
