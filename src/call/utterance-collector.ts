/**
 * Continuous ASR: instead of one bot turn per recognized utterance, collects the caller's utterances
 * and submits them as one text after a silence timeout or on a submit digit, so a caller who pauses
 * between sentences is not cut off.
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { CallSettings } from './settings.js';

export interface UtteranceCollectorOptions {
  enabled: boolean;
  /** Silence after the last utterance that submits what was collected. */
  timeoutMs: number;
  /** Pressing it submits at once; '' for none. */
  submitDigit: string;
}

export function utteranceOptions(s: CallSettings): UtteranceCollectorOptions {
  return { enabled: s.continuousASR, timeoutMs: s.continuousASRTimeoutInMS, submitDigit: s.continuousASRDigits };
}

export interface UtteranceCollectorEventMap {
  submit: [text: string, parts: string[]];
}

export class UtteranceCollector extends EventEmitter<UtteranceCollectorEventMap> {
  private parts: string[] = [];
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private options: UtteranceCollectorOptions,
  ) {
    super();
  }

  get enabled(): boolean {
    return this.options.enabled;
  }

  configure(options: UtteranceCollectorOptions): void {
    this.options = options;
    if (!options.enabled && this.parts.length) this.submit();
  }

  /** A final recognition: keep it and (re)start the silence countdown. */
  add(text: string): void {
    this.parts.push(text.trim());
    this.restart();
  }

  /** The caller is talking again: the silence countdown waits. */
  speechStarted(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** The caller is quiet again (local endpoint) with utterances pending: count down from now. */
  speechEnded(): void {
    if (this.parts.length) this.restart();
  }

  /** Returns true when the digit submitted the collected text (and so is not a DTMF input). */
  digit(digit: string): boolean {
    if (!this.options.enabled || !this.options.submitDigit || digit !== this.options.submitDigit || this.parts.length === 0) return false;
    this.submit();
    return true;
  }

  reset(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.parts = [];
  }

  private restart(): void {
    this.timer?.cancel();
    this.timer = this.clock.setTimeout(() => this.submit(), this.options.timeoutMs);
  }

  private submit(): void {
    this.timer?.cancel();
    this.timer = undefined;
    const parts = this.parts;
    this.parts = [];
    if (parts.length) this.emit('submit', parts.join(' '), parts);
  }
}
