import { describe, expect, it } from 'vitest';
import { Concealer, CONCEAL_FRAMES, JitterBuffer, PullResult, PushResult } from '../../../src/carriers/sip/rtp/jitter-buffer.js';
import { createRtpHeader, parseRtpHeader, writeRtpHeader } from '../../../src/carriers/sip/rtp/rtp-packet.js';

const UNIT = 160;
const SILENCE = 0xff;

/** A packet whose payload bytes all hold `fill` (a frame's identity), `bytes` long. */
function pkt(seq: number, ts: number, fill: number, opts: { ssrc?: number; marker?: boolean; bytes?: number } = {}) {
  const buf = Buffer.alloc(12 + (opts.bytes ?? UNIT), fill);
  writeRtpHeader(buf, { marker: opts.marker ?? false, payloadType: 0, sequence: seq, timestamp: ts, ssrc: opts.ssrc ?? 1 });
  const h = createRtpHeader();
  parseRtpHeader(buf, h);
  return { h, buf };
}

function harness(targetFrames = 3) {
  const jb = new JitterBuffer({ frameUnits: UNIT, targetFrames, silenceByte: SILENCE });
  const out = new Uint8Array(UNIT);
  const push = (seq: number, ts: number, fill: number, opts?: Parameters<typeof pkt>[3]) => {
    const p = pkt(seq, ts, fill, opts);
    return jb.push(p.h, p.buf);
  };
  /** One tick: the frame's fill byte, 'missing', 'buffering' or 'idle' (a partly filled frame shows as its bytes joined). */
  const pull = (): number | string => {
    const r = jb.pull(out);
    if (r === PullResult.Frame) return out.every((b) => b === out[0]) ? out[0] : `${out[0]}..${out[UNIT - 1]}`;
    return r === PullResult.Missing ? 'missing' : r === PullResult.Buffering ? 'buffering' : 'idle';
  };
  const pulls = (n: number) => Array.from({ length: n }, pull);
  return { jb, push, pull, pulls };
}

describe('jitter buffer', () => {
  it('is idle until the first packet, then waits the target delay (3 frames = 60 ms) before playing', () => {
    const { push, pulls } = harness();
    expect(pulls(2)).toEqual(['idle', 'idle']);
    expect(push(100, 16000, 1)).toBe(PushResult.Resynced);
    push(101, 16160, 2);
    push(102, 16320, 3);
    expect(pulls(5)).toEqual(['buffering', 'buffering', 'buffering', 1, 2]);
  });

  it('puts reordered packets back in order and plays one frame per tick', () => {
    const { push, pull } = harness();
    const order = [0, 2, 1, 3, 5, 4, 7, 6, 8, 9, 11, 10];
    const played: (number | string)[] = [];
    // Packets arrive one per tick on average, each up to two ticks early or late.
    push(1000, 0, 1); // frame 0
    for (let tick = 0; tick < 14; tick++) {
      const idx = order[tick + 1];
      if (idx !== undefined) push(1000 + idx, idx * UNIT, idx + 1);
      played.push(pull());
    }
    expect(played.filter((p) => p !== 'buffering')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('drops duplicates and late packets, and reports a lost packet as missing without stalling', () => {
    const { jb, push, pulls } = harness();
    push(10, 0, 1);
    expect(push(10, 0, 1)).toBe(PushResult.Duplicate);
    push(12, 320, 3); // 11 lost
    push(13, 480, 4);
    expect(pulls(5)).toEqual(['buffering', 'buffering', 'buffering', 1, 'missing']);
    expect(push(11, 160, 2)).toBe(PushResult.Late); // arrived after its playout time
    expect(pulls(2)).toEqual([3, 4]);
    expect(jb.stats).toMatchObject({ duplicates: 1, late: 1, missing: 1 });
  });

  it('follows the 16-bit sequence and 32-bit timestamp across their wrap, reordered at the wrap', () => {
    const { jb, push, pulls } = harness();
    const ts0 = 2 ** 32 - 2 * UNIT;
    push(65534, ts0, 1);
    push(0, (ts0 + 2 * UNIT) >>> 0, 3);
    push(65535, (ts0 + UNIT) >>> 0, 2);
    push(1, (ts0 + 3 * UNIT) >>> 0, 4);
    expect(push(65535, (ts0 + UNIT) >>> 0, 2)).toBe(PushResult.Duplicate);
    expect(pulls(7)).toEqual(['buffering', 'buffering', 'buffering', 1, 2, 3, 4]);
    expect(jb.stats.resyncs).toBe(0);
  });

  it('assembles 10 ms packets into 20 ms frames; a lost half is completed with silence', () => {
    const { push, pulls } = harness(1);
    push(1, 0, 1, { bytes: 80 });
    push(2, 80, 2, { bytes: 80 });
    push(4, 240, 4, { bytes: 80 }); // 3 lost
    push(5, 320, 5, { bytes: 80 });
    push(6, 400, 6, { bytes: 80 });
    expect(pulls(4)).toEqual(['buffering', '1..2', `${SILENCE}..4`, '5..6']);
  });

  it('plays 30 ms packets across frame boundaries', () => {
    const { push, pulls } = harness(1);
    push(1, 0, 1, { bytes: 240 });
    push(2, 240, 2, { bytes: 240 });
    expect(pulls(4)).toEqual(['buffering', 1, '1..2', 2]);
  });

  it('a new SSRC confirmed by two packets in sequence takes over at once (no frames lost from the new stream)', () => {
    const { jb, push, pulls } = harness();
    for (let i = 0; i < 3; i++) push(500 + i, 8000 + i * UNIT, 1 + i);
    expect(pulls(5)).toEqual(['buffering', 'buffering', 'buffering', 1, 2]);
    // Transfer / SBC failover: new SSRC, unrelated sequence and timestamp.
    expect(push(9000, 777_777, 50, { ssrc: 2 })).toBe(PushResult.Probation);
    expect(push(9001, 777_777 + UNIT, 51, { ssrc: 2 })).toBe(PushResult.Resynced);
    push(9002, 777_777 + 2 * UNIT, 52, { ssrc: 2 });
    expect(jb.currentSsrc).toBe(2);
    expect(pulls(6)).toEqual(['buffering', 'buffering', 'buffering', 50, 51, 52]);
  });

  it('a lone packet with a foreign SSRC (stray or forged) does not disturb the stream', () => {
    const { jb, push, pulls } = harness();
    for (let i = 0; i < 8; i++) {
      push(i, i * UNIT, i + 1);
      if (i === 4) expect(push(1234, 99_999, 200, { ssrc: 77 })).toBe(PushResult.Probation);
      if (i === 5) expect(push(4321, 5, 201, { ssrc: 78 })).toBe(PushResult.Probation);
    }
    expect(pulls(11)).toEqual(['buffering', 'buffering', 'buffering', 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(jb.currentSsrc).toBe(1);
  });

  it('a timestamp jump beyond the buffer (same SSRC, e.g. a re-INVITE restarting the stream) resynchronises', () => {
    const { jb, push, pulls } = harness(2);
    push(1, 0, 1);
    push(2, 160, 2);
    expect(pulls(3)).toEqual(['buffering', 'buffering', 1]);
    expect(push(40_000, 50_000_000, 9)).toBe(PushResult.Resynced);
    push(40_001, 50_000_160, 10);
    expect(pulls(4)).toEqual(['buffering', 'buffering', 9, 10]);
    // And backwards.
    expect(push(7, 1000, 20)).toBe(PushResult.Resynced);
    expect(pulls(3)).toEqual(['buffering', 'buffering', 20]);
    expect(jb.stats.resyncs).toBe(2);
  });

  it('a sequence jump with continuous timestamps (an SBC renumbering) plays on without a gap', () => {
    const { jb, push, pulls } = harness(2);
    push(100, 0, 1);
    push(101, 160, 2);
    expect(push(30_000, 320, 3)).toBe(PushResult.Accepted);
    push(30_001, 480, 4);
    expect(push(30_001, 480, 4)).toBe(PushResult.Duplicate);
    expect(pulls(6)).toEqual(['buffering', 'buffering', 1, 2, 3, 4]);
    expect(jb.stats.resyncs).toBe(0);
  });

  it('a marker bit after silence starts a new talkspurt with the full playout delay', () => {
    const { push, pulls } = harness(2);
    push(1, 0, 1);
    expect(pulls(3)).toEqual(['buffering', 'buffering', 1]);
    expect(pulls(3)).toEqual(['missing', 'missing', 'missing']); // sender in DTX
    // The talkspurt's timestamp is 2 s on (DTX kept the clock running), sequence contiguous.
    expect(push(2, 16_000, 5, { marker: true })).toBe(PushResult.Resynced);
    push(3, 16_160, 6);
    expect(pulls(4)).toEqual(['buffering', 'buffering', 5, 6]);
  });

  it('after a network stall, the late burst is played rather than dropped', () => {
    const { push, pulls } = harness(2);
    push(1, 0, 1);
    push(2, 160, 2);
    expect(pulls(4)).toEqual(['buffering', 'buffering', 1, 2]);
    expect(pulls(5)).toEqual(['missing', 'missing', 'missing', 'missing', 'missing']); // stall
    // Packets 3-9 arrive at once, all late: the buffer restarts from the first.
    for (let s = 3; s <= 9; s++) push(s, (s - 1) * 160, s);
    expect(pulls(9)).toEqual(['buffering', 'buffering', 3, 4, 5, 6, 7, 8, 9]);
  });

  it('a buffer left too deep is trimmed back by a frame every 2 s', () => {
    const { jb, push, pull } = harness(2);
    // The sender sends 8 frames at once, then one per tick: 8 frames deep, for good.
    let seq = 0;
    for (; seq < 8; seq++) push(seq, seq * UNIT, seq & 0xff);
    for (let tick = 0; tick < 600; tick++) {
      push(seq, seq * UNIT, seq & 0xff);
      seq++;
      pull();
    }
    expect(jb.stats.dropped).toBeGreaterThanOrEqual(3);
    expect(jb.depthFrames).toBeLessThanOrEqual(2 + 3);
  });
});

describe('loss concealment', () => {
  it('repeats the last frame fading to silence over three frames, then silence; a good frame resets it', () => {
    const c = new Concealer(160);
    const frame = new Int16Array(160).fill(1000);
    c.good(frame);
    const out = new Int16Array(160);
    const levels: number[][] = [];
    for (let i = 0; i < CONCEAL_FRAMES + 2; i++) {
      c.conceal(out);
      levels.push([out[0], out[159]]);
    }
    expect(levels[0][0]).toBeGreaterThan(990);
    expect(levels[0][1]).toBeLessThan(levels[0][0]);
    expect(levels[1][0]).toBeLessThanOrEqual(levels[0][1]);
    expect(levels[2][1]).toBe(0);
    expect(levels[3]).toEqual([0, 0]);
    expect(levels[4]).toEqual([0, 0]);
    c.good(frame);
    c.conceal(out);
    expect(out[0]).toBeGreaterThan(990);
  });

  it('with nothing heard yet, conceals with silence', () => {
    const c = new Concealer(160);
    const out = new Int16Array(160).fill(5);
    c.conceal(out);
    expect(out.every((v) => v === 0)).toBe(true);
  });
});
