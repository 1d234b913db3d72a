/**
 * Garbage for the SIP and RTP ports, made from a call's real messages by a seeded PRNG so a failing run
 * can be replayed: byte-level mutations (truncation, flips, insertions, deletions, duplicated ranges),
 * line-level ones (headers dropped, duplicated, swapped, renamed, folded, over-long, 250 of them, bare
 * LF/CR) and grammar-aware ones (start line, Via, CSeq, Content-Length, name-addr, "interesting"
 * numbers), plus random bytes. Each SIP message is classified with Voxgate's own parser and RFC 3261
 * 18.2.2 the way the transport applies them: dropped, or answered 400 — and where that 400 goes. The
 * caller only sends messages the parser rejects (a mutation that still parses could be a real BYE) and
 * whose 400 comes back to the sender (never to someone else's port on this machine).
 */
import { parseSipMessage, isKeepAlive, SipParseError } from '../../src/carriers/sip/message/parser.js';
import { parseVia } from '../../src/carriers/sip/message/headers.js';
import { writeRtpHeader } from '../../src/carriers/sip/rtp/rtp-packet.js';

export type Rand = () => number;

/** mulberry32 (as in media-signals.ts, without its audio imports). */
export function seededRandom(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, items: readonly T[]): T => items[int(r, items.length)];

function randomBytesOf(r: Rand, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(int(r, 256));
  return s;
}

function randomPrintable(r: Rand, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(0x20 + int(r, 95));
  return s;
}

/** Numbers parsers get wrong. */
const INTERESTING_NUMBERS = ['0', '-1', '1', '255', '256', '65535', '65536', '2147483647', '2147483648', '4294967295', '4294967296', '18446744073709551616', '99999999999999999999999999', '', '00000000000000000000001', '1e3', '0x10', '+5', ' 7', '3.5', '١٢'];
const SPECIALS = ['\0', '\r', '\n', '\r\n', '\r\n\r\n', '\n\n', ' ', '\t', ':', ';', ',', '<', '>', '"', '\\', '%', '%00', '\xff', '\xc3\x28', '@', '=', '\x7f', '\x1b[0m', '[', ']', '?', '&', '*'];
const BAD_METHODS = ['', 'INV ITE', 'INVITE\0', 'INVITE/', '123', '\xff\xfe', 'BYE;', 'B(E', 'I\tNVITE', 'INVITEINVITEINVITEINVITEINVITEINVITEINVITEINVITE'.repeat(30)];
const BAD_URIS = ['', 'sip:', 'sip:@', 'sip:a@[::1', 'sip:a@b?c=d', '<sip:x@y>', 'sip:a@b:99999', 'sip:a@b:-1', 'sip:a b@c', 'sip:%zz@x', 'sip:a@\xff', ':', 'sip:a@b;;;', 'sips:a@b:0x10', 'x'.repeat(9000)];
const BAD_VERSIONS = ['SIP/3.0', 'SIP/2', 'SIP/2.0 extra', 'sip/2.0x', 'HTTP/1.1', 'SIP/2.0\0', 'SIP/99999999999.0', '', 'SIP/2.0/UDP'];
const BAD_VIAS = [
  'SIP/2.0/UDP',
  'SIP/2.0/UDP ',
  'SIP/2.0 UDP 127.0.0.1',
  'SIP/2.0/UDP 127.0.0.1:0',
  'SIP/2.0/UDP 127.0.0.1:65536',
  'SIP/2.0/UDP 127.0.0.1:99999999999999',
  'SIP/2.0/UDP 127.0.0.1;rport=abc;branch=z9hG4bKx',
  'SIP/2.0/UDP 127.0.0.1;rport=0;branch=z9hG4bKx',
  'SIP/2.0/UDP 127.0.0.1;received=foo;branch=z9hG4bKx',
  'SIP/2.0/UDP 127.0.0.1;received;branch=z9hG4bKx',
  'SIP/2.0/UDP 127.0.0.1;branch',
  'SIP/2.0/UDP 127.0.0.1;branch=',
  'SIP/2.0/UDP [::1;branch=z9hG4bKx',
  'SIP/2.0/UDP 127.0.0.1;ttl=999;branch=z9hG4bKx',
  'SIP/2.0/UDP 127.0.0.1;;;;branch=z9hG4bKx',
  ',',
  'SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKa,,SIP/2.0/UDP 127.0.0.1',
];

/** A message as lines of its header section and its body (latin1: one char per byte). */
interface Parts {
  lines: string[];
  body: string;
}

function split(text: string): Parts {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return { lines: text.split('\r\n'), body: '' };
  return { lines: text.slice(0, end).split('\r\n'), body: text.slice(end + 4) };
}

function join(parts: Parts): string {
  return `${parts.lines.join('\r\n')}\r\n\r\n${parts.body}`;
}

/** Index of a header line named `name` (case-insensitive), or -1. */
function headerIndex(lines: string[], name: string): number {
  const lower = `${name.toLowerCase()}:`;
  return lines.findIndex((l, i) => i > 0 && l.toLowerCase().startsWith(lower));
}

function withLines(text: string, edit: (p: Parts) => void): string {
  const p = split(text);
  edit(p);
  return join(p);
}

type Mutator = (text: string, r: Rand) => string;

const headerLine = (p: Parts, r: Rand): number => (p.lines.length > 1 ? 1 + int(r, p.lines.length - 1) : 0);

/** name: mutator. Names go into the failure report. */
export const SIP_MUTATORS: Record<string, Mutator> = {
  truncate: (t, r) => t.slice(0, int(r, t.length)),
  truncateHead: (t, r) => {
    const end = t.indexOf('\r\n\r\n');
    return t.slice(0, int(r, end < 0 ? t.length : end + 3));
  },
  flipBytes: (t, r) => {
    const chars = t.split('');
    for (let k = 1 + int(r, 8); k > 0 && chars.length > 0; k--) chars[int(r, chars.length)] = String.fromCharCode(int(r, 256));
    return chars.join('');
  },
  insertBytes: (t, r) => {
    const at = int(r, t.length + 1);
    return t.slice(0, at) + randomBytesOf(r, 1 + int(r, 64)) + t.slice(at);
  },
  insertSpecial: (t, r) => {
    const at = int(r, t.length + 1);
    return t.slice(0, at) + pick(r, SPECIALS) + t.slice(at);
  },
  deleteRange: (t, r) => {
    const at = int(r, t.length);
    return t.slice(0, at) + t.slice(at + 1 + int(r, 40));
  },
  duplicateRange: (t, r) => {
    const at = int(r, t.length);
    const piece = t.slice(at, at + 1 + int(r, 80));
    const to = int(r, t.length + 1);
    return t.slice(0, to) + piece + t.slice(to);
  },
  dropHeader: (t, r) => withLines(t, (p) => void p.lines.splice(headerLine(p, r), 1)),
  duplicateHeader: (t, r) =>
    withLines(t, (p) => {
      const i = headerLine(p, r);
      p.lines.splice(i, 0, p.lines[i]);
    }),
  swapLines: (t, r) =>
    withLines(t, (p) => {
      const i = int(r, p.lines.length);
      const j = int(r, p.lines.length);
      [p.lines[i], p.lines[j]] = [p.lines[j], p.lines[i]];
    }),
  garbleValue: (t, r) =>
    withLines(t, (p) => {
      const i = headerLine(p, r);
      const colon = p.lines[i].indexOf(':');
      const value = r() < 0.5 ? randomPrintable(r, int(r, 60)) : pick(r, SPECIALS).repeat(1 + int(r, 5));
      p.lines[i] = `${p.lines[i].slice(0, colon + 1)} ${value}`;
    }),
  garbleName: (t, r) =>
    withLines(t, (p) => {
      const i = headerLine(p, r);
      const colon = p.lines[i].indexOf(':');
      p.lines[i] = `${pick(r, ['', ' ', 'Vi a', 'Call-ID\0', 'T\xffo', '@', 'From From', '\t'])}${p.lines[i].slice(Math.max(colon, 0))}`;
    }),
  removeColon: (t, r) =>
    withLines(t, (p) => {
      const i = headerLine(p, r);
      p.lines[i] = p.lines[i].replace(':', '');
    }),
  continuationFirst: (t) => withLines(t, (p) => p.lines.splice(1, 0, '  folded before any header')),
  bareLf: (t, r) => {
    const positions: number[] = [];
    for (let i = t.indexOf('\r\n'); i >= 0; i = t.indexOf('\r\n', i + 2)) positions.push(i);
    if (positions.length === 0) return `${t}\n`;
    const at = pick(r, positions);
    return t.slice(0, at) + pick(r, ['\n', '\r', '\n\r', '\r\r\n']) + t.slice(at + 2);
  },
  allBareLf: (t) => t.replace(/\r\n/g, '\n'),
  longLine: (t, r) =>
    withLines(t, (p) => {
      const i = headerLine(p, r);
      p.lines[i] += 'a'.repeat(8200 + int(r, 4000));
    }),
  manyHeaders: (t, r) => withLines(t, (p) => p.lines.splice(1, 0, ...Array.from({ length: 201 + int(r, 100) }, (_, i) => `X-Fuzz-${i}: ${i}`))),
  foldBomb: (t, r) => withLines(t, (p) => p.lines.splice(headerLine(p, r) + 1, 0, ...Array.from({ length: 2000 + int(r, 4000) }, () => ' ,a'))),
  commaBomb: (t, r) => withLines(t, (p) => p.lines.splice(1, 0, `${pick(r, ['Via', 'Contact', 'Route', 'Record-Route', 'Require', 'Supported'])}: ${','.repeat(5000 + int(r, 3000))}`)),
  interestingNumber: (t, r) => {
    const runs: [number, number][] = [];
    const re = /\d+/g;
    for (let m = re.exec(t); m; m = re.exec(t)) runs.push([m.index, m[0].length]);
    if (runs.length === 0) return t;
    const [at, length] = pick(r, runs);
    return t.slice(0, at) + pick(r, INTERESTING_NUMBERS) + t.slice(at + length);
  },
  badMethod: (t, r) => withLines(t, (p) => (p.lines[0] = p.lines[0].replace(/^\S*/, pick(r, BAD_METHODS)))),
  badUri: (t, r) => withLines(t, (p) => (p.lines[0] = p.lines[0].replace(/ \S+ /, ` ${pick(r, BAD_URIS)} `))),
  badVersion: (t, r) => withLines(t, (p) => (p.lines[0] = p.lines[0].replace(/\S+$/, pick(r, BAD_VERSIONS)))),
  extraSpaces: (t, r) => withLines(t, (p) => (p.lines[0] = p.lines[0].replace(' ', pick(r, ['  ', '\t', ' \t ', ''])))),
  badContentLength: (t, r) =>
    withLines(t, (p) => {
      const i = headerIndex(p.lines, 'Content-Length');
      const value = pick(r, ['', '-1', 'abc', String(p.body.length + 1 + int(r, 1000)), '4294967296', '1 2', `${p.body.length};x`, '99999999999999999999']);
      if (i >= 0) p.lines[i] = `Content-Length: ${value}`;
      else p.lines.push(`Content-Length: ${value}`);
    }),
  badCSeq: (t, r) =>
    withLines(t, (p) => {
      const i = headerIndex(p.lines, 'CSeq');
      const [, number = '1', method = 'INVITE'] = /^CSeq:\s*(\d*)\s*(\S*)/i.exec(p.lines[i] ?? '') ?? [];
      const value = pick(r, [`${number} ${method === 'BYE' ? 'INVITE' : 'BYE'}`, `${number}`, method, `4294967296 ${method}`, `-1 ${method}`, `${number}${method}`, `${number} ${method} extra`, `${number} ${method.toLowerCase()}x`]);
      if (i >= 0) p.lines[i] = `CSeq: ${value}`;
      else p.lines.push(`CSeq: ${value}`);
    }),
  removeRequired: (t, r) =>
    withLines(t, (p) => {
      const i = headerIndex(p.lines, pick(r, ['Via', 'From', 'To', 'Call-ID', 'CSeq']));
      if (i >= 0) p.lines.splice(i, 1);
    }),
  duplicateSingle: (t, r) =>
    withLines(t, (p) => {
      const name = pick(r, ['From', 'To', 'Call-ID', 'CSeq', 'Content-Length', 'Content-Type', 'Max-Forwards']);
      const i = headerIndex(p.lines, name);
      p.lines.splice(1 + int(r, p.lines.length - 1), 0, i >= 0 ? p.lines[i] : `${name}: 1`);
    }),
  brokenNameAddr: (t, r) =>
    withLines(t, (p) => {
      const i = headerIndex(p.lines, pick(r, ['From', 'To', 'Contact']));
      if (i < 0) return;
      p.lines[i] = pick(r, [p.lines[i].replace('>', ''), p.lines[i].replace('<', ''), p.lines[i].replace(':', ': "unterminated '), p.lines[i].replace(/;tag=/, ';tag'), `${p.lines[i]};tag=x;tag=y`, p.lines[i].replace(/sip:/, 'sip:<')]);
    }),
  badVia: (t, r) =>
    withLines(t, (p) => {
      const i = headerIndex(p.lines, 'Via');
      const value = pick(r, BAD_VIAS);
      if (i >= 0) p.lines[i] = `Via: ${value}`;
      else p.lines.splice(1, 0, `Via: ${value}`);
    }),
  // A `received` the peer wrote itself: the 400 must still go to where the request came from.
  spoofReceived: (t) =>
    withLines(t, (p) => {
      const i = headerIndex(p.lines, 'Via');
      if (i >= 0) p.lines[i] = p.lines[i].replace(/;branch=/i, ';received=127.0.0.2;branch=');
    }),
  badMaxForwards: (t, r) => withLines(t, (p) => p.lines.splice(1, 0, `Max-Forwards: ${pick(r, ['256', '-1', 'x', '', '70 70'])}`)),
  badDate: (t) => withLines(t, (p) => p.lines.splice(1, 0, 'Date: yesterday')),
  nulInValue: (t, r) =>
    withLines(t, (p) => {
      const i = headerLine(p, r);
      p.lines[i] += pick(r, ['\0', '\x01', '\x7f', '\x1b']);
    }),
  notUtf8: (t, r) =>
    withLines(t, (p) => {
      const i = headerLine(p, r);
      p.lines[i] += pick(r, ['\xff', '\xc3', '\xe2\x82', '\xed\xa0\x80']);
    }),
  garbageBody: (t, r) => withLines(t, (p) => (p.body = randomBytesOf(r, int(r, 400)))),
  responseLine: (t, r) => withLines(t, (p) => (p.lines[0] = pick(r, ['SIP/2.0 200', 'SIP/2.0 99 x', 'SIP/2.0 700 x', 'SIP/2.0 2000 OK', 'SIP/2.0 abc', 'SIP/3.0 200 OK', 'SIP/2.0']))),
};
/** Mutators that make messages of 5-60 KB: rarer, so 100,000 messages stay affordable (their cost is linear, and measured by the pings). */
const HEAVY_MUTATORS = ['longLine', 'manyHeaders', 'foldBomb', 'commaBomb'];
const LIGHT_MUTATORS = Object.keys(SIP_MUTATORS).filter((name) => !HEAVY_MUTATORS.includes(name));
const HEAVY_SHARE = 0.03;

/** What the transport does with a datagram (its parser, then RFC 3261 18.2.2 for the 400). */
export type SipVerdict =
  | { kind: 'valid' }
  | { kind: 'dropped' }
  /** Answered 400 at this UDP port; `port` is not a usable port (0, or beyond 65535) when the send cannot be made. */
  | { kind: '400'; port: number; key: string };

/**
 * Where Voxgate's 400 to a bad request from 127.0.0.1:`sourcePort` goes: to the source address (it sets
 * `received` whenever the Via's host is not the source, and replaces any `received` the peer wrote),
 * at the `rport` it fills in when the Via asks, else the Via's port, else 5060.
 */
export function classifySip(data: Buffer, sourcePort: number, maxBytes = 64 * 1024): SipVerdict {
  if (isKeepAlive(data)) return { kind: 'dropped' };
  try {
    parseSipMessage(data, { datagram: true, maxBytes });
    return { kind: 'valid' };
  } catch (err) {
    if (!(err instanceof SipParseError)) throw err;
    const partial = err.partial;
    if (!partial || partial.method === 'ACK') return { kind: 'dropped' };
    const via = parseVia(partial.headers.get('via') ?? '');
    const rport = via.params.get('rport');
    const port = rport === null ? sourcePort : rport !== undefined && rport !== '' ? Number(rport) : (via.port ?? 5060);
    return { kind: '400', port, key: responseKey((name) => partial.headers.get(name)) };
  }
}

/** What a response copies from its request (Call-ID, CSeq, From, To): to pair each 400 with the request it answers. */
export function responseKey(get: (name: string) => string | undefined): string {
  return ['Call-ID', 'CSeq', 'From', 'To'].map((name) => get(name) ?? '').join(' | ');
}

/** responseKey of a response as raw text (a 400 may copy fields a strict parser rejects). */
export function rawResponseKey(text: string): string {
  const head = text.split('\r\n\r\n')[0].split('\r\n');
  return responseKey((name) => {
    const line = head.find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
    return line?.slice(name.length + 1).trim();
  });
}

export interface FuzzedSip {
  data: Buffer;
  /** Template name and mutators applied, for the failure report. */
  recipe: string;
  verdict: SipVerdict;
}

/**
 * One malformed SIP datagram: a mutation (1-3 mutators) of a random template, or random bytes. Only
 * messages the parser rejects and whose 400, if any, comes back to `sourcePort` (or cannot be sent at
 * all) are returned; up to 20 tries, then a truncated template.
 */
export function fuzzSip(r: Rand, templates: Record<string, Buffer>, sourcePort: number): FuzzedSip {
  const names = Object.keys(templates);
  for (let attempt = 0; attempt < 20; attempt++) {
    let text: string;
    let recipe: string;
    const roll = r();
    if (roll < 0.03) {
      text = randomBytesOf(r, 1 + int(r, 1500));
      recipe = 'random-bytes';
    } else if (roll < 0.05) {
      text = randomPrintable(r, 1 + int(r, 600)).replace(/\|/g, '\r\n');
      recipe = 'random-text';
    } else {
      const name = pick(r, names);
      text = templates[name].toString('latin1');
      const applied: string[] = [];
      for (let k = 1 + int(r, 3); k > 0; k--) {
        const mutator = pick(r, r() < HEAVY_SHARE ? HEAVY_MUTATORS : LIGHT_MUTATORS);
        text = SIP_MUTATORS[mutator](text, r);
        applied.push(mutator);
      }
      recipe = `${name}: ${applied.join(' + ')}`;
    }
    const data = Buffer.from(text, 'latin1');
    if (data.length > 65_000) continue; // a UDP datagram's limit
    const verdict = classifySip(data, sourcePort);
    if (verdict.kind === 'valid') continue;
    if (verdict.kind === '400' && verdict.port !== sourcePort && verdict.port > 0 && verdict.port <= 65535) continue; // would land on someone else's port
    return { data, recipe, verdict };
  }
  const name = names[0];
  const data = templates[name].subarray(0, 10);
  return { data, recipe: `${name}: truncated to 10 bytes`, verdict: classifySip(data, sourcePort) };
}

export interface RtpStream {
  ssrc: number;
  seq: number;
  ts: number;
}

export interface FuzzedRtp {
  data: Buffer;
  kind: string;
  /** Sent from the phone's own RTP socket (a packet of its stream), else from a stranger's. */
  fromPhone: boolean;
}

/** Payload types neither PCMU (0) nor telephone-event (101), the call's. */
function wrongPayloadType(r: Rand): number {
  for (;;) {
    const pt = int(r, 128);
    if (pt !== 0 && pt !== 101) return pt;
  }
}

function rtpPacket(r: Rand, fields: { pt: number; ssrc: number; seq: number; ts: number; payload: number; marker?: boolean }): Buffer {
  const buf = Buffer.alloc(12 + fields.payload);
  writeRtpHeader(buf, { marker: fields.marker ?? r() < 0.1, payloadType: fields.pt, sequence: fields.seq, timestamp: fields.ts, ssrc: fields.ssrc });
  for (let i = 12; i < buf.length; i++) buf[i] = int(r, 256);
  return buf;
}

/**
 * One malformed or unwelcome RTP datagram for the call's RTP port. None of them may carry a key press
 * (a telephone-event of the caller's stream with a well-formed payload) or confirm a new stream (two
 * packets of one strange SSRC in sequence): those are legitimate media, not garbage.
 */
export function fuzzRtp(r: Rand, stream: RtpStream): FuzzedRtp {
  const strange = () => 1 + int(r, 0xfffffffe);
  const roll = int(r, 11);
  switch (roll) {
    case 0: {
      const buf = rtpPacket(r, { pt: 0, ssrc: strange(), seq: int(r, 65536), ts: int(r, 2 ** 32), payload: 160 });
      buf[0] = (buf[0] & 0x3f) | (pick(r, [0, 1, 3]) << 6);
      return { data: buf, kind: 'bad-version', fromPhone: false };
    }
    case 1: {
      const data = Buffer.alloc(int(r, 12));
      for (let i = 0; i < data.length; i++) data[i] = int(r, 256);
      if (data.length > 0) data[0] = 0x80;
      return { data, kind: 'truncated-header', fromPhone: r() < 0.5 };
    }
    case 2: {
      const buf = rtpPacket(r, { pt: 0, ssrc: stream.ssrc, seq: stream.seq, ts: stream.ts, payload: int(r, 20) });
      buf[0] = (buf[0] & 0xf0) | (1 + int(r, 15)); // CSRCs beyond the end
      return { data: buf, kind: 'csrc-overrun', fromPhone: true };
    }
    case 3: {
      const buf = rtpPacket(r, { pt: 0, ssrc: stream.ssrc, seq: stream.seq, ts: stream.ts, payload: 4 + int(r, 40) });
      buf[0] |= 0x10;
      buf.writeUInt16BE(Math.max(buf.length, 1 + int(r, 0xffff)), 14); // extension longer than the packet
      return { data: buf, kind: 'extension-overrun', fromPhone: true };
    }
    case 4: {
      const buf = rtpPacket(r, { pt: 0, ssrc: stream.ssrc, seq: stream.seq, ts: stream.ts, payload: int(r, 30) });
      buf[0] |= 0x20;
      if (buf.length > 12) buf[buf.length - 1] = r() < 0.3 ? 0 : buf.length - 11 + int(r, 200); // padding 0 or beyond the payload
      return { data: buf, kind: 'bad-padding', fromPhone: true };
    }
    case 5:
      return { data: rtpPacket(r, { pt: wrongPayloadType(r), ssrc: pick(r, [stream.ssrc, strange()]), seq: int(r, 65536), ts: int(r, 2 ** 32), payload: int(r, 400) }), kind: 'wrong-payload-type', fromPhone: r() < 0.5 };
    case 6:
      // A telephone-event of a strange stream: ignored while the caller's stream plays.
      return { data: rtpPacket(r, { pt: 101, ssrc: strange(), seq: int(r, 65536), ts: int(r, 2 ** 32), payload: 4 }), kind: 'foreign-telephone-event', fromPhone: false };
    case 7:
      // A telephone-event of the caller's stream too short to carry an event.
      return { data: rtpPacket(r, { pt: 101, ssrc: stream.ssrc, seq: stream.seq, ts: stream.ts, payload: int(r, 4) }), kind: 'short-telephone-event', fromPhone: true };
    case 8: {
      // The caller's stream jumping far in sequence and time (a restarted or forged sender).
      const seq = (stream.seq + 1000 + int(r, 60000)) & 0xffff;
      const ts = (stream.ts + int(r, 2 ** 32)) >>> 0;
      const payload = pick(r, [0, 1, 160, 161, 320, 1200]);
      const buf = rtpPacket(r, { pt: 0, ssrc: stream.ssrc, seq, ts, payload });
      buf.fill(0xff, 12);
      return { data: buf, kind: 'sequence-jump', fromPhone: true };
    }
    case 9: {
      // RTCP-looking (second byte 200-204) with lengths that lie.
      const buf = Buffer.alloc(4 + int(r, 60));
      for (let i = 0; i < buf.length; i++) buf[i] = int(r, 256);
      buf[0] = 0x80 | int(r, 32);
      buf[1] = 200 + int(r, 5);
      buf.writeUInt16BE(int(r, 0x10000), 2);
      return { data: buf, kind: 'bad-rtcp', fromPhone: r() < 0.5 };
    }
    default: {
      const data = Buffer.alloc(int(r, 1500));
      for (let i = 0; i < data.length; i++) data[i] = int(r, 256);
      // A random packet that happens to be a telephone-event of the caller's SSRC would be a key press: make it not RTP v2.
      if (data.length >= 12 && data[0] >> 6 === 2) data[0] &= 0x7f;
      return { data, kind: 'random-bytes', fromPhone: false };
    }
  }
}
