/**
 * The user no-input timer: armed when the bot has finished talking and waits for the caller.
 * Each expiry is a reprompt until the retries run out, then a give-up. Any caller input resets
 * the count. When the bot owns the policy (it asked for noUserInput events) there is no give-up.
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { CallSettings } from './settings.js';

export interface NoInputOptions {
  /** 0 disables the timer. */
  timeoutMs: number;
  retries: number;
  botOwnsGiveUp: boolean;
}

/** Waiting for the caller after the bot finished talking. */
export function callerNoInputOptions(s: CallSettings): NoInputOptions {
  return { timeoutMs: s.userNoInputTimeoutMS, retries: s.userNoInputRetries, botOwnsGiveUp: s.userNoInputSendEvent };
}

/** The same waiting shape, for the bot: armed when a turn went to it, cleared by its answer. */
export function botNoResponseOptions(s: CallSettings): NoInputOptions {
  return { timeoutMs: s.botNoInputTimeoutMS, retries: s.botNoInputRetries, botOwnsGiveUp: false };
}

export interface NoInputTimerEventMap {
  /** `attempt` counts the consecutive timeouts, starting at 1. */
  reprompt: [attempt: number];
  giveUp: [attempts: number];
}

export class NoInputTimer extends EventEmitter<NoInputTimerEventMap> {
  private timer: TimerHandle | undefined;
  private attempts = 0;

  constructor(
    private readonly clock: Clock,
    private options: NoInputOptions,
  ) {
    super();
  }

  configure(options: NoInputOptions): void {
    this.options = options;
  }

  get armed(): boolean {
    return this.timer !== undefined;
  }

  /** The caller's turn begins (prompts finished): start waiting. */
  arm(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.options.timeoutMs <= 0) return;
    this.timer = this.clock.setTimeout(() => this.expire(), this.options.timeoutMs);
  }

  /** The bot is talking or thinking: stop waiting, keep the count. */
  pause(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** The caller said or pressed something: stop waiting and forget earlier timeouts. */
  userInput(): void {
    this.pause();
    this.attempts = 0;
  }

  private expire(): void {
    this.timer = undefined;
    this.attempts++;
    if (!this.options.botOwnsGiveUp && this.attempts > this.options.retries) this.emit('giveUp', this.attempts);
    else this.emit('reprompt', this.attempts);
  }
}
