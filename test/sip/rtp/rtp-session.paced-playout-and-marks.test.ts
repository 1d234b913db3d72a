import { afterEach, describe, expect, it } from 'vitest';
import type dgram from 'node:dgram';
import { G722Decoder } from '../../../src/media/g722.js';
import { encodeMuLaw } from '../../../src/media/g711.js';
import { silentLogger } from '../../../src/logger.js';
import type { Clock } from '../../../src/runtime/clock.js';
import { G722, PCMU, type AudioCodec } from '../../../src/carriers/sip/rtp/rtp-codec.js';
import { MAX_BURST, RtpPacer, RtpSession } from '../../../src/carriers/sip/rtp/rtp-session.js';
import { FakeClock } from '../../support/fake-clock.js';
import { boundSocket, socketClosed, UdpPeer } from './rtp-test-peer.js';

function tone(samples: number, rate: number, freq = 440, amplitude = 8000): Int16Array {
  const x = new Int16Array(samples);
  for (let i = 0; i < samples; i++) x[i] = Math.round(amplitude * Math.sin((2 * Math.PI * freq * i) / rate));
  return x;
}

/** A clock whose timers never fire: the test calls session.tick(now) itself, at whatever times it likes. */
const manualTimers: Clock = { now: () => 0, setTimeout: () => ({ cancel() {} }) };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setup(codec: AudioCodec = PCMU, manual = false) {
  const clock = new FakeClock();
  const pacer = new RtpPacer(manual ? manualTimers : clock);
  const peer = await UdpPeer.create();
  const rtp: dgram.Socket = await boundSocket();
  const rtcp: dgram.Socket = await boundSocket();
  const session = new RtpSession({ rtp, rtcp, codec, remote: { address: '127.0.0.1', port: peer.port }, clock, logger: silentLogger(), pacer });
  const events: string[] = [];
  session.on('mark', (name) => events.push(`mark:${name}@${session.stats.packetsSent}`));
  session.on('cleared', () => events.push(`cleared@${session.stats.packetsSent}`));
  cleanups.push(async () => {
    const closed = Promise.all([socketClosed(rtp), socketClosed(rtcp)]);
    session.close();
    await closed;
    await peer.close();
  });
  /** Advances one 20 ms tick and waits for its packet. */
  const tick = async () => {
    clock.advance(20);
    await peer.waitForTotal(session.stats.packetsSent);
  };
  return { clock, pacer, peer, session, events, tick };
}

describe('RTP session: paced playout and marks', () => {
  it('a 1 s prompt leaves as 50 packets, one per 20 ms tick, and its mark fires right after the 50th', async () => {
    const { peer, session, events, tick } = await setup();
    const prompt = tone(8000, 8000);
    session.play(prompt);
    session.mark('prompt-1');
    for (let i = 1; i <= 60; i++) {
      await tick();
      expect(peer.packets.length).toBe(i); // exactly one packet per tick
      if (i === 49) expect(events).toEqual([]);
    }
    expect(events).toEqual(['mark:prompt-1@50']);

    const expected = encodeMuLaw(prompt);
    const sent = Buffer.concat(peer.packets.slice(0, 50).map((p) => p.payload));
    expect(sent.equals(Buffer.from(expected))).toBe(true);
    // Then comfort silence, so the peer's timers and NAT stay fed.
    for (const p of peer.packets.slice(50)) expect(p.payload.every((b) => b === 0xff)).toBe(true);

    const h0 = peer.packets[0].header;
    expect(h0.marker).toBe(true);
    peer.packets.forEach((p, i) => {
      expect(p.header.payloadType).toBe(0);
      expect(p.header.ssrc).toBe(h0.ssrc);
      expect(p.header.sequence).toBe((h0.sequence + i) & 0xffff);
      expect(p.header.timestamp).toBe((h0.timestamp + i * 160) >>> 0);
      expect(p.payload.length).toBe(160);
      if (i > 0) expect(p.header.marker).toBe(false);
    });
  });

  it('a mark queued with nothing playing fires on the next tick; marks between prompts fire in order', async () => {
    const { session, events, tick } = await setup();
    session.mark('empty');
    await tick();
    expect(events).toEqual(['mark:empty@0']);
    session.play(new Int16Array(200)); // 1.25 packets: the mark ends the second packet early
    session.mark('a');
    session.play(new Int16Array(160));
    session.mark('b');
    for (let i = 0; i < 4; i++) await tick();
    expect(events).toEqual(['mark:empty@0', 'mark:a@3', 'mark:b@4']);
  });

  it('clear() stops the audio within one packet, emits the queued marks in order, then cleared', async () => {
    const { peer, session, events, tick } = await setup();
    session.play(tone(16000, 8000, 300)); // 2 s
    session.mark('long');
    session.play(tone(8000, 8000, 500));
    session.mark('next');
    for (let i = 0; i < 10; i++) await tick();
    const cleared = new Promise<void>((resolve) => session.once('cleared', () => resolve()));
    session.clear();
    expect(events).toEqual([]); // never emitted inside clear()
    await cleared;
    expect(events).toEqual(['mark:long@10', 'mark:next@10', 'cleared@10']);
    await tick();
    expect(peer.packets[10].payload.every((b) => b === 0xff)).toBe(true); // the very next packet is silence
    // Playing again continues the same stream.
    session.play(tone(160, 8000, 1000));
    session.mark('after');
    await tick();
    expect(peer.packets[11].payload.every((b) => b === 0xff)).toBe(false);
    expect(peer.packets[11].header.sequence).toBe((peer.packets[10].header.sequence + 1) & 0xffff);
    expect(events.at(-1)).toBe('mark:after@12');
  });

  it('G.722: 320 samples per 160-byte packet, timestamp +160, and the far end decodes the prompt cleanly', async () => {
    const { peer, session, events, tick } = await setup(G722);
    expect(session.sampleRate).toBe(16000);
    const prompt = tone(16000, 16000, 1000);
    session.play(prompt);
    session.mark('wideband');
    for (let i = 0; i < 52; i++) await tick();
    expect(events).toEqual(['mark:wideband@50']);
    const h0 = peer.packets[0].header;
    peer.packets.forEach((p, i) => {
      expect(p.header.payloadType).toBe(9);
      expect(p.payload.length).toBe(160);
      expect(p.header.timestamp).toBe((h0.timestamp + i * 160) >>> 0);
    });
    const decoded = new G722Decoder().decode(Buffer.concat(peer.packets.slice(0, 50).map((p) => p.payload)));
    let sig = 0;
    let err = 0;
    for (let i = 320; i + 22 < decoded.length; i++) {
      sig += prompt[i] ** 2;
      err += (decoded[i + 22] - prompt[i]) ** 2;
    }
    expect(10 * Math.log10(sig / err)).toBeGreaterThan(40);
  });

  it('on hold (recvonly) nothing is sent and audio and marks wait; on resume the timestamp has kept time and the marker is set', async () => {
    const { clock, peer, session, events, tick } = await setup();
    await tick();
    session.play(tone(1600, 8000)); // 10 packets
    session.mark('held');
    await tick();
    session.setDirection('recvonly');
    for (let i = 0; i < 25; i++) clock.advance(20);
    expect(session.stats.packetsSent).toBe(2);
    expect(events).toEqual([]);
    session.setDirection('sendrecv');
    for (let i = 0; i < 9; i++) await tick();
    expect(events).toEqual(['mark:held@11']);
    const [before, after] = [peer.packets[1].header, peer.packets[2].header];
    expect(after.sequence).toBe((before.sequence + 1) & 0xffff);
    expect(after.timestamp).toBe((before.timestamp + 26 * 160) >>> 0);
    expect(after.marker).toBe(true);
  });

  it('drift-corrected pacing: timers firing up to 9 ms late still give exactly one packet per tick', async () => {
    const { clock, peer, session } = await setup(PCMU, true);
    const t0 = clock.now();
    const lateness = [0, 7, 1, 9, 0, 3, 8, 2, 9, 5, 0, 6];
    for (let i = 0; i < lateness.length; i++) {
      session.tick(t0 + i * 20 + lateness[i]);
      expect(session.stats.packetsSent).toBe(i + 1);
    }
    await peer.waitForTotal(lateness.length);
  });

  it(`after an event-loop stall the late packets leave in a burst of at most ${MAX_BURST}, then missed slots are skipped (timestamp jump + marker)`, async () => {
    const { clock, peer, session } = await setup(PCMU, true);
    const prompt = tone(8000, 8000);
    session.play(prompt);
    const t0 = clock.now();
    session.tick(t0);
    session.tick(t0 + 20);
    session.tick(t0 + 220); // 10 slots due (t0+40 .. t0+220)
    expect(session.stats.packetsSent).toBe(2 + MAX_BURST);
    session.tick(t0 + 240);
    expect(session.stats.packetsSent).toBe(3 + MAX_BURST);
    await peer.waitForTotal(3 + MAX_BURST);
    const hs = peer.packets.map((p) => p.header);
    for (let i = 1; i < hs.length; i++) expect(hs[i].sequence).toBe((hs[0].sequence + i) & 0xffff);
    for (let i = 1; i < 2 + MAX_BURST; i++) expect(hs[i].timestamp).toBe((hs[0].timestamp + i * 160) >>> 0);
    const last = hs[2 + MAX_BURST];
    expect(last.timestamp).toBe((hs[1 + MAX_BURST].timestamp + 160 + 5 * 160) >>> 0);
    expect(last.marker).toBe(true);
    // No audio was lost in the skip: the prompt continues where it stopped.
    const sent = Buffer.concat(peer.packets.map((p) => p.payload));
    expect(sent.equals(Buffer.from(encodeMuLaw(prompt.subarray(0, sent.length))))).toBe(true);
  });
});

describe('RTP pacer', () => {
  it('one timer however many sessions; started by the first, stopped by the last', () => {
    const clock = new FakeClock();
    const pacer = new RtpPacer(clock);
    const ticks: number[] = [];
    const removers = Array.from({ length: 500 }, (_, i) => pacer.add({ tick: (now) => void (i === 0 && ticks.push(now)) }));
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(100);
    expect(ticks).toEqual([20, 40, 60, 80, 100].map((d) => 1_700_000_000_000 + d));
    expect(clock.pendingTimers()).toBe(1);
    for (const r of removers) r();
    expect(clock.pendingTimers()).toBe(0);
    expect(pacer.size).toBe(0);
  });

  it('keeps its 20 ms grid when timers fire late: sessions get the scheduled slot, never the lateness', () => {
    const fake = new FakeClock(0);
    // Every timer fires 7 ms after it was due.
    const late: Clock = { now: () => fake.now(), setTimeout: (fn, ms) => fake.setTimeout(fn, ms + 7) };
    const pacer = new RtpPacer(late);
    const ticks: number[] = [];
    pacer.add({ tick: (slot) => void ticks.push(slot) });
    fake.advance(1000);
    // 49 ticks in the first second, on the grid (20, 40, 60, ...), not drifting (27, 54, 81, ...).
    expect(ticks.length).toBe(49);
    expect(ticks.slice(0, 3)).toEqual([20, 40, 60]);
    expect(ticks.at(-1)).toBe(980);
  });

  it('after a stall, moves on to the last slot that fell due (sessions send what they owe up to it)', () => {
    const fake = new FakeClock(0);
    let stall = 0;
    const stalling: Clock = { now: () => fake.now(), setTimeout: (fn, ms) => fake.setTimeout(fn, ms + (stall > 0 ? stall-- && 50 : 0)) };
    const pacer = new RtpPacer(stalling);
    const ticks: number[] = [];
    pacer.add({ tick: (slot) => void ticks.push(slot) });
    fake.advance(40);
    stall = 1;
    fake.advance(200);
    // The timer due at 80 ran at 130: that tick names slot 120 (80 and 100 are owed, sent by the sessions), then the grid goes on.
    expect(ticks.slice(0, 5)).toEqual([20, 40, 60, 120, 140]);
  });

  it('a session removed while ticking does not make others miss their tick', () => {
    const clock = new FakeClock();
    const pacer = new RtpPacer(clock);
    const hits = [0, 0, 0];
    let removeFirst = () => {};
    removeFirst = pacer.add({ tick: () => (hits[0]++, removeFirst()) });
    pacer.add({ tick: () => void hits[1]++ });
    pacer.add({ tick: () => void hits[2]++ });
    clock.advance(40);
    expect(hits).toEqual([1, 2, 2]);
  });
});
