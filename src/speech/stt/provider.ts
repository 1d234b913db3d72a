/** Streaming speech-to-text: one session per caller turn stream, fed 20 ms PCM16 frames. */
import type { EventEmitter } from 'node:events';

export interface SttSessionOptions {
  language: string;
  sampleRate: number;
  /** Phrases to bias recognition toward (sttContextPhrases). */
  hints?: string[];
  hintBoost?: number;
  punctuation?: boolean;
}

export interface SttResult {
  text: string;
  /** Interim results may still change; a final result closes one utterance. */
  final: boolean;
  confidence?: number;
}

export interface SttSessionEventMap {
  result: [result: SttResult];
  failure: [error: Error];
}

export interface SttSession extends EventEmitter<SttSessionEventMap> {
  write(frame: Int16Array): void;
  /** Local endpointing decided the caller stopped talking: providers that support it finalize now. */
  endOfUtterance(): void;
  close(): void;
}

export interface SttProvider {
  readonly name: string;
  startSession(options: SttSessionOptions): SttSession;
}
