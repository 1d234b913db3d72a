/**
 * Turns key presses into what the bot receives: one event per digit, or (collect mode) the digits
 * gathered until the maximum count, the submit digit, or the inter-digit timeout.
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { CallSettings } from './settings.js';

export interface DtmfCollectOptions {
  collect: boolean;
  maxDigits: number;
  interDigitTimeoutMs: number;
  /** Ends collection without being included; '' for none. */
  submitDigit: string;
}

export function dtmfCollectOptions(s: CallSettings): DtmfCollectOptions {
  return { collect: s.dtmfCollect, maxDigits: s.dtmfCollectMaxDigits, interDigitTimeoutMs: s.dtmfCollectInterDigitTimeoutMS, submitDigit: s.dtmfCollectSubmitDigit };
}

export type DtmfSubmitReason = 'digit' | 'max-digits' | 'submit-digit' | 'inter-digit-timeout';

export interface DtmfCollectorEventMap {
  submit: [digits: string, reason: DtmfSubmitReason];
}

export class DtmfCollector extends EventEmitter<DtmfCollectorEventMap> {
  private buffer = '';
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private options: DtmfCollectOptions,
  ) {
    super();
  }

  /** New options apply to the next digit; digits already collected are kept. */
  configure(options: DtmfCollectOptions): void {
    this.options = options;
    if (!options.collect && this.buffer) this.submit('inter-digit-timeout');
  }

  get pending(): string {
    return this.buffer;
  }

  press(digit: string): void {
    const { collect, maxDigits, interDigitTimeoutMs, submitDigit } = this.options;
    if (!collect) {
      this.emit('submit', digit, 'digit');
      return;
    }
    this.timer?.cancel();
    if (submitDigit && digit === submitDigit) {
      this.submit('submit-digit');
      return;
    }
    this.buffer += digit;
    if (this.buffer.length >= maxDigits) {
      this.submit('max-digits');
      return;
    }
    this.timer = this.clock.setTimeout(() => this.submit('inter-digit-timeout'), interDigitTimeoutMs);
  }

  /** Drops collected digits without sending them (call end). */
  reset(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.buffer = '';
  }

  private submit(reason: DtmfSubmitReason): void {
    this.timer?.cancel();
    this.timer = undefined;
    const digits = this.buffer;
    this.buffer = '';
    // A lone submit digit with nothing collected still tells the bot the caller pressed it.
    this.emit('submit', digits, reason);
  }
}
