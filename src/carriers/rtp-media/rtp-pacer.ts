/**
 * One 20 ms ticker shared by every RTP session of a process: 500 calls cost one timer, not 500, and
 * their packets leave in one burst per tick. The schedule is kept against clock.now() (each tick is
 * due exactly 20 ms after the previous one was due, whatever the timer's lateness), so it never drifts;
 * after a stall longer than MAX_LATE_MS it restarts from now instead of firing a backlog. Sessions are
 * given the slot's scheduled time, and catch up on their own when it moved on by more than one slot.
 * The timer runs while at least one session is registered.
 */
import type { Clock, TimerHandle } from '../../runtime/clock.js';

export const TICK_MS = 20;
/** Further behind than this, the pacer stops trying to keep its old schedule. */
const MAX_LATE_MS = 1000;

export interface PacedSession {
  tick(now: number): void;
}

export class RtpPacer {
  private readonly sessions: (PacedSession | null)[] = [];
  private live = 0;
  private timer: TimerHandle | undefined;
  private dueAt = 0;
  private ticking = false;

  constructor(
    private readonly clock: Clock,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Registers a session; returns the function that unregisters it (idempotent). */
  add(session: PacedSession): () => void {
    this.sessions.push(session);
    this.live++;
    if (this.timer === undefined) {
      this.dueAt = this.clock.now() + TICK_MS;
      this.timer = this.clock.setTimeout(this.fire, TICK_MS);
    }
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      const i = this.sessions.indexOf(session);
      if (i >= 0) {
        if (this.ticking) this.sessions[i] = null; // compacted after the tick
        else this.sessions.splice(i, 1);
      }
      this.live--;
      if (this.live === 0) this.stop();
    };
  }

  /** Sessions registered. */
  get size(): number {
    return this.live;
  }

  private stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = this.clock.now();
    // Sessions are paced on the schedule, not on when the timer ran: with the timer's lateness in it,
    // calls whose phase sat near half a tick sent two packets on a late tick and none on the next.
    // After a stall, the schedule moves to the last slot that fell due and the sessions catch up to it.
    let due = this.dueAt;
    while (now - due >= TICK_MS) due += TICK_MS;
    this.dueAt = due;
    this.ticking = true;
    const list = this.sessions;
    for (let i = 0; i < list.length; i++) {
      const s = list[i];
      if (s === null) continue;
      try {
        s.tick(due);
      } catch (err) {
        this.onError(err);
      }
    }
    this.ticking = false;
    if (list.indexOf(null) >= 0) {
      let w = 0;
      for (let r = 0; r < list.length; r++) if (list[r] !== null) list[w++] = list[r];
      list.length = w;
    }
    if (this.live === 0 || this.timer !== undefined) return;
    this.dueAt += TICK_MS;
    const after = this.clock.now();
    if (after - this.dueAt > MAX_LATE_MS) this.dueAt = after + TICK_MS;
    this.timer = this.clock.setTimeout(this.fire, Math.max(0, this.dueAt - after));
  };
}

const shared = new WeakMap<Clock, RtpPacer>();

/** The process-wide pacer for `clock` (one per clock object), for sessions not given one. */
export function sharedPacer(clock: Clock): RtpPacer {
  let pacer = shared.get(clock);
  if (!pacer) {
    pacer = new RtpPacer(clock);
    shared.set(clock, pacer);
  }
  return pacer;
}
