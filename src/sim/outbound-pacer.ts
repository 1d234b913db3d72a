/**
 * An account's outbound calls per second, as carriers enforce it: calls beyond the rate are queued and
 * fired in request order as the one-second window allows. A call that ended while queued (canceled
 * over the API) never reaches the network and uses no slot.
 */
import type { Clock, TimerHandle } from '../runtime/clock.js';

const CPS_WINDOW_MS = 1000;

export interface PacedCall {
  readonly isEnded: boolean;
  firedAt: number | undefined;
}

export class OutboundPacer<Call extends PacedCall> {
  /** Calls waiting for the window, in request order. */
  private readonly queue: { call: Call; start: () => void }[] = [];
  /** Fire times inside the current window. */
  private recentFires: number[] = [];
  private drainTimer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly callsPerSecond: number,
    /** Told of each call as it fires, before `start` runs. */
    private readonly onFire: (call: Call) => void,
  ) {}

  /** Queues `call`; `start` runs when it fires. Returns true when the call had to wait. */
  enqueue(call: Call, start: () => void): boolean {
    this.queue.push({ call, start });
    this.drain();
    return this.queue.some((q) => q.call === call);
  }

  /** Calls still waiting (and not canceled). */
  waiting(): Call[] {
    return this.queue.map((q) => q.call).filter((c) => !c.isEnded);
  }

  stop(): void {
    this.drainTimer?.cancel();
    this.drainTimer = undefined;
  }

  /** Fires queued calls in order while the last second holds fewer than `callsPerSecond` fires, then waits for the window. */
  private drain(): void {
    if (this.drainTimer) return;
    while (this.queue.length > 0) {
      const now = this.clock.now();
      this.recentFires = this.recentFires.filter((t) => t > now - CPS_WINDOW_MS);
      if (this.recentFires.length >= this.callsPerSecond) {
        this.drainTimer = this.clock.setTimeout(() => {
          this.drainTimer = undefined;
          this.drain();
        }, this.recentFires[0] + CPS_WINDOW_MS - now);
        return;
      }
      const next = this.queue.shift()!;
      if (next.call.isEnded) continue;
      this.recentFires.push(now);
      next.call.firedAt = now;
      this.onFire(next.call);
      next.start();
    }
  }
}
