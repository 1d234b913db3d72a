/**
 * A media output with the call recording on it: audio handed to the output is recorded as sent, and
 * a clear (barge-in) cuts the recording's bot track where playout was cut, so the recording holds
 * what the caller heard. Wraps the leg's output the way any other output stage would.
 */
import type { CallRecording } from './call-recording.js';
import type { PlayoutSink } from './prompt-queue.js';

export class RecordedOutput implements PlayoutSink {
  constructor(
    private readonly output: PlayoutSink,
    private readonly recording: Pick<CallRecording, 'botAudio' | 'botCleared'>,
  ) {}

  play(samples: Int16Array): void {
    this.output.play(samples);
    this.recording.botAudio(samples);
  }

  mark(name: string): void {
    this.output.mark(name);
  }

  clear(): void {
    this.output.clear();
    this.recording.botCleared();
  }
}
