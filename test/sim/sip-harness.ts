/** Shared pieces of the SIP simulator tests: two simulated SIP endpoints on one fake clock, a tone, clock stepping. */
import type { TimelineEvent } from '../../src/sim/timeline.js';
import { SipSimulator, type SipSimCall } from '../../src/sim/sip/sip-simulator.js';
import { FakeClock } from '../support/fake-clock.js';

/** A 440 Hz tone of `ms` at 8 kHz, loud enough to be heard through G.711. */
export function tone(ms: number, hz = 440): Int16Array {
  const out = new Int16Array((ms * 8000) / 1000);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / 8000));
  return out;
}

/** Moves a fake clock on in 20 ms steps, letting socket I/O run between steps, until `done` holds (at most `maxMs`). */
export async function advanceUntil(clock: FakeClock, done: () => boolean, maxMs = 60_000): Promise<void> {
  for (let elapsed = 0; !done(); elapsed += 20) {
    if (elapsed > maxMs) throw new Error(`condition did not hold within ${maxMs} ms of simulated time`);
    clock.advance(20);
    // Two turns of the loop: a datagram sent on this step is read before the next one.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Resolves once the call has ended, stepping the clock meanwhile. */
export async function runUntilEnded(clock: FakeClock, ...calls: SipSimCall[]): Promise<void> {
  await advanceUntil(clock, () => calls.every((c) => c.isEnded), 120_000);
  // `ended` resolves after the party's recording is written.
  await Promise.all(calls.map((c) => c.ended));
}

export function eventsOf<T extends TimelineEvent['type']>(call: SipSimCall, type: T): Extract<TimelineEvent, { type: T }>[] {
  return call.timeline.filter((e): e is Extract<TimelineEvent, { type: T }> => e.type === type);
}

/**
 * A "far end" simulator whose callees answer, and a "near end" one whose callers dial it, on one fake
 * clock and loopback: the simulator's two SIP roles talking to each other through real sockets.
 */
export class SipPair {
  readonly clock = new FakeClock();
  readonly far = new SipSimulator({ clock: this.clock, rtpPorts: { min: 44000, max: 44999 } });
  readonly near = new SipSimulator({ clock: this.clock, rtpPorts: { min: 45000, max: 45999 }, ringTimeoutSec: 10 });
  farUri = '';

  async start(): Promise<void> {
    this.farUri = (await this.far.listen()).uri;
    await this.near.listen();
  }

  /** The near end dials `number` at the far end. */
  dial(number: string, script: Parameters<SipSimulator['dialInbound']>[0]['script'] = {}): { caller: SipSimCall; callee: () => SipSimCall | undefined } {
    const caller = this.near.dialInbound({ from: '+14155550123', to: `sip:${number}@${this.farUri.slice(4)}`, script });
    return { caller, callee: () => this.far.getCall(caller.sipCallId) };
  }

  async close(): Promise<void> {
    const closing = Promise.all([this.near.close(), this.far.close()]);
    await advanceUntil(this.clock, () => this.near.liveCalls().length + this.far.liveCalls().length === 0, 10_000);
    await closing;
  }
}
