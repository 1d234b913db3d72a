import { describe, expect, it } from 'vitest';
import {
  ntpMiddle32,
  ntpTime,
  parseRtcp,
  ReceptionStats,
  roundTripMs,
  writeBye,
  writeReceiverReport,
  writeSdesCname,
  writeSenderReport,
  type ReportBlock,
} from '../../../src/carriers/sip/rtp/rtcp.js';

const block: ReportBlock = { ssrc: 0xabcdef01, fractionLost: 25, cumulativeLost: -3, extendedHighestSequence: 0x1_0005, jitter: 40, lastSr: 0x12345678, delaySinceLastSr: 65536 };

describe('RTCP compound packets', () => {
  it('SR with one report block + SDES CNAME + BYE parses back field for field', () => {
    const buf = Buffer.alloc(400);
    let n = writeSenderReport(buf, 0, { ssrc: 7, ntpSeconds: 3_900_000_000, ntpFraction: 0x80000000, rtpTimestamp: 160_000, packetCount: 50, octetCount: 8000 }, block);
    expect(n).toBe(52);
    n = writeSdesCname(buf, n, 7, 'voxgate-test');
    expect(n % 4).toBe(0);
    n = writeBye(buf, n, 7);
    const parsed = parseRtcp(buf.subarray(0, n));
    expect(parsed).toEqual({
      sender: { ssrc: 7, ntpSeconds: 3_900_000_000, ntpFraction: 0x80000000, rtpTimestamp: 160_000, packetCount: 50, octetCount: 8000 },
      reporterSsrc: 7,
      reports: [block],
      cname: 'voxgate-test',
      bye: [7],
    });
  });

  it('RR without blocks and an SDES whose CNAME fills the word exactly (4 null bytes) parse', () => {
    const buf = Buffer.alloc(200);
    let n = writeReceiverReport(buf, 0, 9);
    expect(n).toBe(8);
    n = writeSdesCname(buf, n, 9, 'abcdef'); // 4 + 4 + 2 + 6 = 16: needs a whole word of nulls
    expect(n - 8).toBe(20);
    expect(parseRtcp(buf.subarray(0, n))).toEqual({ reporterSsrc: 9, reports: [], cname: 'abcdef', bye: [] });
  });

  it.each([
    ['too short', Buffer.from([0x80, 201, 0, 0])],
    ['version 1', Buffer.from([0x41, 201, 0, 1, 0, 0, 0, 9])],
    ['a length past the end', Buffer.from([0x80, 201, 0, 9, 0, 0, 0, 9])],
    ['a report count past the length', Buffer.from([0x81, 201, 0, 1, 0, 0, 0, 9])],
    ['a trailing fragment', Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 9, 0x80])],
  ])('rejects %s', (_n, b) => {
    expect(parseRtcp(b)).toBeNull();
  });

  it('round trip = arrival - LSR - DLSR in NTP 1/65536 s units', () => {
    const sentAt = 1_700_000_000_000;
    const lsr = ntpMiddle32(sentAt);
    // The peer held our SR for 250 ms, and its report arrives 330 ms after we sent the SR: RTT 80 ms.
    const rb = { ...block, lastSr: lsr, delaySinceLastSr: Math.round(0.25 * 65536) };
    expect(roundTripMs(rb, sentAt + 330)).toBeCloseTo(80, 0);
    expect(roundTripMs({ ...rb, lastSr: 0 }, sentAt)).toBeUndefined();
    const t = ntpTime(sentAt + 500);
    expect(t.fraction).toBe(2 ** 31);
    expect(t.seconds).toBe((1_700_000_000 + 2_208_988_800) >>> 0);
  });
});

describe('reception statistics (RFC 3550 appendix A)', () => {
  it('counts losses across a sequence wrap and reports the fraction lost per interval', () => {
    const s = new ReceptionStats();
    s.restart(1, 65530);
    let ts = 0;
    let t = 0;
    for (let seq = 65530; seq < 65530 + 20; seq++) {
      ts += 160;
      t += 20;
      if (seq % 5 === 0) continue; // lose every fifth
      s.onPacket(seq & 0xffff, ts, t);
    }
    expect(s.extendedHighestSequence).toBe(65536 + 13);
    expect(s.totalLost).toBe(4);
    const r = s.report({ ...block }, t);
    expect(r.cumulativeLost).toBe(4);
    expect(r.fractionLost).toBe(Math.floor((4 * 256) / 20));
    expect(r.jitter).toBe(0); // perfectly regular arrival
    // Next interval: nothing lost.
    for (let seq = 65550; seq < 65560; seq++) s.onPacket(seq & 0xffff, (ts += 160), (t += 20));
    expect(s.report({ ...block }, t).fractionLost).toBe(0);
  });

  it('jitter follows irregular arrival (J += (|D| - J) / 16)', () => {
    const s = new ReceptionStats();
    s.restart(1, 0);
    for (let i = 0; i < 200; i++) s.onPacket(i, i * 160, i * 20 + (i % 2 ? 10 : 0));
    // |D| alternates 10 ms = 80 units: J converges to 80 units = 10 ms.
    expect(s.jitterMs).toBeGreaterThan(9);
    expect(s.jitterMs).toBeLessThan(10.1);
  });
});
