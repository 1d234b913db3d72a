/**
 * The idle (inter-chunk) deadline shared by every streamed provider response: TTS audio bodies, STT
 * result streams, bot answer streams. A request deadline ends once the answer starts; a vendor that
 * then sends part of its answer and stalls with the socket open would otherwise hold the call in
 * silence for good. The watchdog runs on the Clock, so the deadlines run under a fake clock in tests.
 */
import type { Clock, TimerHandle } from './clock.js';

/** Fires `onIdle` when `idleMs` passed since the last kick(); stop() disarms it. */
export class IdleWatchdog {
  private timer: TimerHandle | undefined;
  private lastKick = 0;

  constructor(
    private readonly clock: Clock,
    readonly idleMs: number,
    private readonly onIdle: (idleForMs: number) => void,
  ) {
    if (!(idleMs > 0) || !Number.isFinite(idleMs)) throw new RangeError(`idle deadline must be a positive number of ms, got ${String(idleMs)}`);
  }

  get armed(): boolean {
    return this.timer !== undefined;
  }

  /** Something arrived: the deadline starts again. */
  kick(): void {
    this.timer?.cancel();
    this.lastKick = this.clock.now();
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.onIdle(this.clock.now() - this.lastKick);
    }, this.idleMs);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}

export interface IdleDeadlineOptions {
  clock: Clock;
  /** Longest wait between two items; 0 or less passes the stream through unguarded. */
  idleMs: number;
  /** Also bound the wait for the first item (otherwise another deadline owns it). */
  includeFirst?: boolean;
  /** The error the stream fails with; also the place to abort the request so its socket closes. */
  onStall: (idleForMs: number, itemsSoFar: number) => Error;
}

/**
 * Passes `source` through, failing with `onStall(...)` when the next item takes longer than
 * `idleMs`. The stalled source is told to stop but not awaited: a provider stuck on a dead socket
 * must not hold up whoever waits for the error.
 */
export async function* withIdleDeadline<T>(source: AsyncIterable<T>, options: IdleDeadlineOptions): AsyncGenerator<T> {
  if (!(options.idleMs > 0)) {
    yield* source;
    return;
  }
  const iterator = source[Symbol.asyncIterator]();
  let items = 0;
  let stalled: ((err: Error) => void) | undefined;
  const watchdog = new IdleWatchdog(options.clock, options.idleMs, (idleFor) => stalled?.(options.onStall(idleFor, items)));
  let finished = false;
  try {
    if (options.includeFirst) watchdog.kick();
    for (;;) {
      const stall = new Promise<never>((_, reject) => (stalled = reject));
      const next = await Promise.race([iterator.next(), stall]);
      if (next.done) {
        finished = true;
        return;
      }
      items++;
      // The consumer's own pace (playout, a slow reader) is not the provider's stall.
      watchdog.stop();
      yield next.value;
      watchdog.kick();
    }
  } finally {
    watchdog.stop();
    stalled = undefined;
    if (!finished) iterator.return?.(undefined).catch(() => undefined);
  }
}
