import { describe, expect, it } from 'vitest';
import { CallRateLimiter } from '../../src/dialer/call-rate-limiter.js';
import { FakeClock } from '../support/fake-clock.js';

describe('call rate limiter', () => {
  it('starts the first call at once and the rest one interval apart, in order', () => {
    const clock = new FakeClock();
    const limiter = new CallRateLimiter(4, clock);
    const started: [number, number][] = [];
    const t0 = clock.now();
    for (let i = 0; i < 5; i++) limiter.schedule(() => started.push([i, clock.now() - t0]));
    expect(started).toEqual([[0, 0]]);
    expect(limiter.waiting).toBe(4);
    clock.advance(1000);
    expect(started).toEqual([[0, 0], [1, 250], [2, 500], [3, 750], [4, 1000]]);
  });

  it('after a stall makes up at most one missed slot instead of releasing a burst', () => {
    const clock = new FakeClock();
    const limiter = new CallRateLimiter(10, clock);
    const starts: number[] = [];
    limiter.schedule(() => starts.push(clock.now()));
    // Nothing queued for a while: idle time is not saved up as a burst either.
    clock.advance(5000);
    for (let i = 0; i < 3; i++) limiter.schedule(() => starts.push(clock.now()));
    clock.advance(1000);
    const t = starts[1];
    expect(starts.slice(1).map((s) => s - t)).toEqual([0, 100, 200]);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new CallRateLimiter(0, new FakeClock())).toThrow(/callsPerSecond must be a positive number, got 0/);
  });

  it('close() drops what was waiting', () => {
    const clock = new FakeClock();
    const limiter = new CallRateLimiter(1, clock);
    let n = 0;
    for (let i = 0; i < 3; i++) limiter.schedule(() => n++);
    limiter.close();
    clock.advance(10_000);
    expect(n).toBe(1);
  });
});
