import { afterEach, describe, expect, it } from 'vitest';
import { decodeALaw, decodeMuLaw, encodeALaw } from '../../../src/media/g711.js';
import { G722Encoder } from '../../../src/media/g722.js';
import { silentLogger } from '../../../src/logger.js';
import { G722, PCMA, PCMU, type AudioCodec } from '../../../src/carriers/sip/rtp/rtp-codec.js';
import { RtpPacer, RtpSession } from '../../../src/carriers/sip/rtp/rtp-session.js';
import { FakeClock } from '../../support/fake-clock.js';
import { boundSocket, nextMessages, rtpPacket, socketClosed, UdpPeer } from './rtp-test-peer.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** Packet k of a test stream carries one mu-law code throughout, so each decoded frame says which packet it came from. */
const codeOf = (k: number) => 0x80 + (k % 100);
const levelOf = (k: number) => decodeMuLaw(Uint8Array.of(codeOf(k)))[0];

async function setup(codec: AudioCodec = PCMU) {
  const clock = new FakeClock();
  const peer = await UdpPeer.create();
  const rtp = await boundSocket();
  const session = new RtpSession({
    rtp,
    codec,
    telephoneEventPayloadType: 101,
    remote: { address: '127.0.0.1', port: peer.port },
    clock,
    logger: silentLogger(),
    pacer: new RtpPacer(clock),
  });
  /** What each tick emitted: the first sample of each frame (frames are reused, so copied here). */
  const frames: Int16Array[] = [];
  session.on('audio', (f) => frames.push(f.slice()));
  const digits: string[] = [];
  session.on('dtmf', (d) => digits.push(d));
  cleanups.push(async () => {
    const closed = socketClosed(rtp);
    session.close();
    await closed;
    await peer.close();
  });
  const deliver = async (packets: Buffer[], from: UdpPeer = peer) => {
    const handled = nextMessages(rtp, packets.length);
    for (const p of packets) from.send(p, rtp.address().port);
    await handled;
  };
  const packet = (k: number, ssrc = 0x1111, seqBase = 1000, tsBase = 50_000, marker = false) =>
    rtpPacket({ pt: 0, seq: seqBase + k, ts: tsBase + k * 160, ssrc, marker, payload: new Uint8Array(160).fill(codeOf(k)) });
  return { clock, peer, rtp, session, frames, digits, deliver, packet, tick: () => clock.advance(20) };
}

describe('RTP session: inbound audio', () => {
  it('no frames before media starts; then exactly one frame per tick: the 60 ms delay as silence, then the packets in order', async () => {
    const { session, frames, deliver, packet, tick } = await setup();
    for (let i = 0; i < 5; i++) tick();
    expect(frames).toHaveLength(0);
    // Arrival order per tick, reordered, with packet 6 lost and 9 duplicated.
    const arrivals = [[0], [2], [1], [3], [5, 4], [], [7], [9, 8], [9], [10], [11], [], [], []];
    for (const batch of arrivals) {
      await deliver(batch.map((k) => packet(k)));
      tick();
    }
    expect(frames).toHaveLength(arrivals.length);
    expect(frames.every((f) => f.length === 160)).toBe(true);
    const firsts = frames.map((f) => f[0]);
    expect(firsts.slice(0, 3)).toEqual([0, 0, 0]); // buffering
    expect(firsts.slice(3, 9)).toEqual([0, 1, 2, 3, 4, 5].map(levelOf));
    // Packet 6 lost: concealed from packet 5, fading (never packet 6's level, never louder than 5).
    expect(Math.abs(firsts[9])).toBeLessThanOrEqual(Math.abs(levelOf(5)));
    expect(frames[9].every((v, i) => i === 0 || Math.abs(v) <= Math.abs(frames[9][i - 1]) + 1)).toBe(true);
    expect(firsts.slice(10, 14)).toEqual([7, 8, 9, 10].map(levelOf));
    expect(session.stats).toMatchObject({ packetsReceived: 12, packetsLost: 1, duplicates: 1, concealed: 1 });
  });

  it('an SSRC change mid-call (transfer, SBC failover to another address) keeps the audio flowing', async () => {
    const { session, frames, deliver, packet, tick } = await setup();
    for (let k = 0; k < 10; k++) {
      await deliver([packet(k)]);
      tick();
    }
    const other = await UdpPeer.create();
    try {
      for (let k = 0; k < 10; k++) {
        await deliver([packet(50 + k, 0x2222, 30_000 - 50, 9_000_000, k === 0)], other);
        tick();
      }
      const firsts = frames.map((f) => f[0]);
      expect(firsts).toHaveLength(20);
      // After the switch: at most the playout delay (3 frames) plus one of silence/concealment, then the new stream in order.
      const firstNew = firsts.indexOf(levelOf(50));
      expect(firstNew).toBeGreaterThan(9);
      expect(firstNew).toBeLessThanOrEqual(10 + 4);
      expect(firsts.slice(firstNew)).toEqual([50, 51, 52, 53, 54, 55, 56, 57, 58, 59].slice(0, 20 - firstNew).map(levelOf));
      // And we now send to the new source.
      expect(session.destination?.port).toBe(other.port);
      expect(session.stats.resyncs).toBe(1);
    } finally {
      await other.close();
    }
  });

  it('a flood of thousands of random datagrams neither crashes the session nor stops or corrupts the audio', async () => {
    const { rtp, peer, session, frames, digits, deliver, packet, tick } = await setup();
    rtp.setRecvBufferSize(1 << 20);
    const flooder = await UdpPeer.create();
    let seed = 7;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;
    let flooded = 0;
    try {
      for (let k = 0; k < 60; k++) {
        await deliver([packet(k)]);
        const junk: Buffer[] = [];
        for (let i = 0; i < 80; i++) {
          const b = Buffer.alloc(rand() % 300);
          for (let j = 0; j < b.length; j++) b[j] = rand() & 0xff;
          if (i % 3 === 0 && b.length > 1) b[0] = (b[0] & 0x3f) | 0x80; // many pass as version 2
          if (i % 9 === 0 && b.length > 1) b[1] = (b[1] & 0x80) | [0, 101, 8][i % 3]; // and use our payload types
          junk.push(b);
        }
        await deliver(junk, flooder);
        flooded += junk.length;
        tick();
      }
      expect(flooded).toBe(4800);
      const firsts = frames.map((f) => f[0]);
      expect(firsts).toHaveLength(60);
      expect(firsts.slice(3)).toEqual(Array.from({ length: 57 }, (_, k) => levelOf(k)));
      expect(session.stats.malformed).toBeGreaterThan(1000);
      expect(digits).toEqual([]);
      // Outbound never stopped: one packet per tick, to the real peer, not the flooder.
      await peer.waitForTotal(60);
      expect(flooder.packets).toHaveLength(0);
    } finally {
      await flooder.close();
    }
  });

  it('packets of a payload type not negotiated are ignored, audio continues', async () => {
    const { session, frames, deliver, packet, tick } = await setup();
    for (let k = 0; k < 6; k++) {
      const pcma = packet(100 + k);
      pcma[1] = 8;
      await deliver([packet(k), pcma]);
      tick();
    }
    expect(frames.map((f) => f[0]).slice(3)).toEqual([0, 1, 2].map(levelOf));
    expect(session.stats.ignored).toBe(6);
  });

  it('a re-INVITE codec change (PCMU to PCMA) keeps one frame per tick and plays the new payload type', async () => {
    const { session, frames, deliver, packet, tick } = await setup();
    for (let k = 0; k < 6; k++) {
      await deliver([packet(k)]);
      tick();
    }
    session.setCodec(PCMA, 101);
    const alaw = encodeALaw(new Int16Array(160).fill(2000));
    for (let k = 6; k < 12; k++) {
      await deliver([rtpPacket({ pt: 8, seq: 1000 + k, ts: 50_000 + k * 160, ssrc: 0x1111, payload: alaw })]);
      tick();
    }
    expect(frames).toHaveLength(12);
    const firsts = frames.map((f) => f[0]);
    expect(firsts.slice(3, 6)).toEqual([0, 1, 2].map(levelOf));
    expect(firsts.slice(6, 9)).toEqual([0, 0, 0]); // the new codec's playout delay
    const level = decodeALaw(alaw)[0]; // 2000 through A-law
    expect(level).toBeGreaterThan(1900);
    expect(firsts.slice(9)).toEqual([level, level, level]);
  });

  it('G.722 in: 20 ms frames of 320 samples at 16 kHz', async () => {
    const { session, frames, deliver, tick } = await setup(G722);
    expect(session.sampleRate).toBe(16000);
    const enc = new G722Encoder();
    const pcm = new Int16Array(320);
    for (let k = 0; k < 8; k++) {
      for (let i = 0; i < 320; i++) pcm[i] = Math.round(6000 * Math.sin((2 * Math.PI * 1000 * (k * 320 + i)) / 16000));
      const payload = enc.encode(pcm, new Uint8Array(160));
      await deliver([rtpPacket({ pt: 9, seq: k, ts: k * 160, ssrc: 5, payload })]);
      tick();
    }
    expect(frames).toHaveLength(8);
    expect(frames.every((f) => f.length === 320)).toBe(true);
    const peak = Math.max(...frames[7].map(Math.abs));
    expect(peak).toBeGreaterThan(5000);
    expect(peak).toBeLessThan(7000);
  });
});
