import { describe, expect, it } from 'vitest';
import { FakeClock } from '../support/fake-clock.js';
import { LatenessHistogram, RealtimeTicker } from '../../src/sim/realtime-ticker.js';
import { PlayoutQueue } from '../../src/sim/playout-queue.js';
import type { Clock } from '../../src/runtime/clock.js';

describe('RealtimeTicker', () => {
  it('runs one timer for many subscribers, every 20 ms, only while someone listens', () => {
    const clock = new FakeClock();
    const ticker = new RealtimeTicker(clock);
    const counts = new Array<number>(1000).fill(0);
    const unsubscribe = counts.map((_, i) => ticker.subscribe(() => counts[i]++));
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(1000);
    expect(counts.every((c) => c === 50)).toBe(true);
    unsubscribe.forEach((u) => u());
    expect(clock.pendingTimers()).toBe(0);
  });

  it('puts a late subscriber on its grid and tells subscribers when each tick was due', () => {
    const clock = new FakeClock(1000);
    const ticker = new RealtimeTicker(clock);
    ticker.subscribe(() => undefined);
    clock.advance(27);
    // A call answered 27 ms in has its first frame due on the 40 ms tick, not at its own 47 ms phase.
    expect(ticker.nextTickAt(clock.now() + 20)).toBe(1060);
    const dues: number[] = [];
    ticker.subscribe((_now, due) => dues.push(due));
    clock.advance(60);
    expect(dues).toEqual([1040, 1060, 1080]);
  });

  it('corrects drift: ticks stay on the absolute 20 ms grid even when each timer fires late', () => {
    // A clock whose timers fire 7 ms late, like a busy event loop.
    const fake = new FakeClock(0);
    const lateClock: Clock = { now: () => fake.now(), setTimeout: (fn, ms) => fake.setTimeout(fn, ms + 7) };
    const ticker = new RealtimeTicker(lateClock);
    const at: number[] = [];
    ticker.subscribe((now) => at.push(now));
    fake.advance(1000);
    // With per-tick setTimeout(20) the 10th tick would be at 270 ms; on the grid it is at 200 + 7.
    expect(at[9]).toBe(207);
    expect(at.length).toBeGreaterThanOrEqual(49);
    expect(ticker.tickLateness.percentile(99)).toBe(7);
  });
});

describe('LatenessHistogram', () => {
  it('reports percentiles at 0.1 ms resolution', () => {
    const h = new LatenessHistogram();
    for (let i = 1; i <= 100; i++) h.record(i / 10);
    expect(h.percentile(50)).toBe(5);
    expect(h.percentile(99)).toBe(9.9);
    expect(h.maxMs).toBe(10);
  });
});

describe('PlayoutQueue', () => {
  it('fires a marker in the frame that finishes the audio before it, not earlier', () => {
    const q = new PlayoutQueue();
    const frame = new Int16Array(160);
    q.push(new Int16Array(300).fill(1));
    let fired = 0;
    q.mark(() => fired++);
    expect(q.pull(frame)).toBe(160);
    expect(fired).toBe(0);
    expect(q.pull(frame)).toBe(140);
    expect(frame[139]).toBe(1);
    expect(frame[140]).toBe(0);
    expect(fired).toBe(1);
  });

  it('clear drops audio and (for stream checkpoints) the markers behind it', () => {
    const q = new PlayoutQueue();
    let fired = 0;
    q.push(new Int16Array(1600));
    q.mark(() => fired++);
    q.clear(false);
    expect(q.pull(new Int16Array(160))).toBe(0);
    expect(fired).toBe(0);
    q.push(new Int16Array(10));
    q.mark(() => fired++);
    q.clear(true);
    expect(fired).toBe(1);
  });
});
