/** Records what an LLM bot connector emits and lets a test wait for the n-th activity or failure. */
import type { Activity } from '../../src/bots/activity.js';
import type { BotConnector } from '../../src/bots/connector.js';

export class BotOutputRecorder {
  readonly activities: Activity[] = [];
  readonly failures: Error[] = [];
  private waiters: Array<() => void> = [];

  constructor(bot: BotConnector) {
    bot.on('activities', (batch) => {
      this.activities.push(...batch);
      this.wake();
    });
    bot.on('failure', (err) => {
      this.failures.push(err);
      this.wake();
    });
  }

  /** Activity number `n` (0-based), once emitted. */
  async activity(n: number): Promise<Activity> {
    await this.until(() => this.activities.length > n);
    return this.activities[n];
  }

  async failure(): Promise<Error> {
    await this.until(() => this.failures.length > 0);
    return this.failures[0];
  }

  get texts(): string[] {
    return this.activities.filter((a) => a.type === 'message').map((a) => a.text ?? '');
  }

  private async until(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
