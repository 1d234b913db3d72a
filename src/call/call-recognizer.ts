/**
 * The call's speech recognizer: one STT session at a time, opened with the call's current speech
 * settings and reopened when the bot changes them mid-call (language, phrases, punctuation). It also
 * owns the STT deadline: once the VAD heard the caller stop, a final result must follow in time.
 */
import { EventEmitter } from 'node:events';
import type { SttProvider, SttResult, SttSession, SttSessionOptions } from '../speech/stt/provider.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { CallSettings } from './settings.js';

export interface CallRecognizerEventMap {
  result: [result: SttResult];
  /** The provider failed, or gave no final result within the deadline. */
  failure: [error: Error];
}

export class SttDeadlineError extends Error {}

export function sttOptionsFor(s: CallSettings, sampleRate: number): SttSessionOptions {
  return {
    language: s.sttLanguage ?? s.language,
    sampleRate,
    hints: s.sttContextPhrases.length ? s.sttContextPhrases : undefined,
    hintBoost: s.sttContextBoost,
    punctuation: !s.sttDisablePunctuation,
  };
}

export class CallRecognizer extends EventEmitter<CallRecognizerEventMap> {
  private session: SttSession | undefined;
  private options: SttSessionOptions;
  private deadline: TimerHandle | undefined;
  private closed = false;

  constructor(
    private readonly provider: SttProvider,
    settings: CallSettings,
    private readonly sampleRate: number,
    private readonly clock: Clock,
    private timeoutMs: number,
  ) {
    super();
    this.options = sttOptionsFor(settings, sampleRate);
  }

  get providerName(): string {
    return this.provider.name;
  }

  open(): void {
    if (this.closed || this.session) return;
    const session = this.provider.startSession(this.options);
    session.on('result', (r) => {
      if (session !== this.session) return; // a result of a session replaced mid-call
      if (r.final) this.clearDeadline();
      this.emit('result', r);
    });
    session.on('failure', (err) => {
      if (session !== this.session) return;
      this.clearDeadline();
      this.emit('failure', err);
    });
    this.session = session;
  }

  /** New settings: a session whose recognition options changed is replaced before the next utterance. */
  configure(settings: CallSettings): void {
    this.timeoutMs = settings.sttTimeoutMS;
    const next = sttOptionsFor(settings, this.sampleRate);
    if (JSON.stringify(next) === JSON.stringify(this.options)) return;
    this.options = next;
    if (!this.session) return;
    const old = this.session;
    this.session = undefined;
    this.clearDeadline();
    old.close();
    this.open();
  }

  write(frame: Int16Array): void {
    this.session?.write(frame);
  }

  endOfUtterance(): void {
    if (!this.session) return;
    this.session.endOfUtterance();
    if (this.timeoutMs > 0 && !this.deadline) {
      this.deadline = this.clock.setTimeout(() => {
        this.deadline = undefined;
        this.emit('failure', new SttDeadlineError(`STT provider "${this.provider.name}" gave no final result within ${this.timeoutMs} ms of the end of speech`));
      }, this.timeoutMs);
    }
  }

  close(): void {
    this.closed = true;
    this.clearDeadline();
    this.session?.close();
    this.session = undefined;
  }

  private clearDeadline(): void {
    this.deadline?.cancel();
    this.deadline = undefined;
  }
}
