import { describe, expect, it } from 'vitest';
import { createRtpHeader, isRtcp, parseRtpHeader, writeRtpHeader } from '../../../src/carriers/sip/rtp/rtp-packet.js';

function packet(opts: { cc?: number; ext?: number[]; pad?: number; payload?: number[]; b0?: number } = {}): Buffer {
  const cc = opts.cc ?? 0;
  const ext = opts.ext;
  const payload = opts.payload ?? [1, 2, 3, 4];
  const pad = opts.pad ?? 0;
  const parts: number[] = [];
  parts.push(opts.b0 ?? (0x80 | (pad ? 0x20 : 0) | (ext ? 0x10 : 0) | cc), 0x80 | 8, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04);
  for (let i = 0; i < cc; i++) parts.push(0, 0, 0, i);
  if (ext) parts.push(0xbe, 0xde, 0, ext.length / 4, ...ext);
  parts.push(...payload);
  if (pad) {
    for (let i = 0; i < pad - 1; i++) parts.push(0);
    parts.push(pad);
  }
  return Buffer.from(parts);
}

function lastByte(b: Buffer, v: number): Buffer {
  b[b.length - 1] = v;
  return b;
}

describe('RTP header parsing', () => {
  it('reads every field of a plain packet into the reused header object', () => {
    const h = createRtpHeader();
    expect(parseRtpHeader(packet(), h)).toBe(true);
    expect(h).toEqual({
      version: 2,
      padding: false,
      extension: false,
      csrcCount: 0,
      marker: true,
      payloadType: 8,
      sequence: 0x1234,
      timestamp: 0xdeadbeef,
      ssrc: 0x01020304,
      payloadOffset: 12,
      payloadLength: 4,
    });
  });

  it('skips CSRCs and a header extension, and strips padding, to find the payload', () => {
    const h = createRtpHeader();
    const p = packet({ cc: 2, ext: [9, 9, 9, 9, 9, 9, 9, 9], pad: 3, payload: [7, 7, 7, 7, 7] });
    expect(parseRtpHeader(p, h)).toBe(true);
    expect(h.payloadOffset).toBe(12 + 8 + 4 + 8);
    expect(h.payloadLength).toBe(5);
    expect([...p.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength)]).toEqual([7, 7, 7, 7, 7]);
  });

  it('accepts an empty payload (a keep-alive)', () => {
    const h = createRtpHeader();
    expect(parseRtpHeader(packet({ payload: [] }), h)).toBe(true);
    expect(h.payloadLength).toBe(0);
  });

  it.each([
    ['shorter than 12 bytes', packet().subarray(0, 11)],
    ['version 0', packet({ b0: 0x00 })],
    ['version 1', packet({ b0: 0x40 })],
    ['version 3', packet({ b0: 0xc0 })],
    ['a CSRC count running past the end', packet({ b0: 0x8f, payload: [1, 2, 3, 4] })],
    ['an extension header cut off', Buffer.concat([packet({ payload: [] }).subarray(0, 12), Buffer.from([0xbe, 0xde])]).fill(0x90, 0, 1)],
    ['an extension length running past the end', packet({ ext: [1, 2, 3, 4], payload: [] }).fill(0x09, 15, 16)],
    ['padding count 0', lastByte(packet({ pad: 1 }), 0)],
    ['padding longer than the payload', lastByte(packet({ pad: 2, payload: [1] }), 200)],
  ])('rejects %s', (_name, buf) => {
    expect(parseRtpHeader(buf, createRtpHeader())).toBe(false);
  });

  it('never throws on 20 000 random datagrams, and what it accepts stays inside the datagram', () => {
    let seed = 42;
    const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
    const h = createRtpHeader();
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const b = Buffer.alloc(rand() % 200);
      for (let j = 0; j < b.length; j++) b[j] = rand() & 0xff;
      if (i % 2 === 0 && b.length > 0) b[0] = (b[0] & 0x3f) | 0x80; // half of them claim version 2
      if (parseRtpHeader(b, h)) {
        accepted++;
        expect(h.payloadOffset + h.payloadLength).toBeLessThanOrEqual(b.length);
        expect(h.payloadLength).toBeGreaterThanOrEqual(0);
      }
    }
    expect(accepted).toBeGreaterThan(1000);
  });
});

describe('RTP header writing', () => {
  it('writes 12 bytes that parse back, wrapping sequence and timestamp', () => {
    const buf = Buffer.alloc(172);
    const n = writeRtpHeader(buf, { marker: true, payloadType: 101, sequence: 65536 + 7, timestamp: 2 ** 32 + 5, ssrc: 0xffffffff });
    expect(n).toBe(12);
    const h = createRtpHeader();
    expect(parseRtpHeader(buf, h)).toBe(true);
    expect([h.marker, h.payloadType, h.sequence, h.timestamp, h.ssrc, h.payloadLength]).toEqual([true, 101, 7, 5, 0xffffffff, 160]);
  });
});

describe('RTP/RTCP demultiplexing (RFC 5761)', () => {
  it('RTCP packet types 200-204 are RTCP; audio payload types with or without marker are not', () => {
    for (const pt of [200, 201, 202, 203, 204]) expect(isRtcp(Buffer.from([0x80, pt, 0, 1, 0, 0, 0, 0]))).toBe(true);
    for (const pt of [0, 8, 9, 101, 0x80 | 0, 0x80 | 8, 0x80 | 101]) expect(isRtcp(Buffer.from([0x80, pt, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]))).toBe(false);
    expect(isRtcp(Buffer.from([0x00, 200, 0, 1, 0, 0, 0, 0]))).toBe(false); // not version 2
    expect(isRtcp(Buffer.from([0x80, 200]))).toBe(false); // too short
  });
});
