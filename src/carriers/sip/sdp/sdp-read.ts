/**
 * Reading a peer's SDP (RFC 8866) into the few facts offer/answer needs: per m= line its media type,
 * port, transport, formats (with rtpmap, or the RFC 3551 table for static payload types), effective
 * connection address (media level over session level), direction, ptime and RTCP port.
 *
 * sdp-transform parses the attributes but skips any line it does not understand and never fails, so
 * garbage or a body cut short would read as "no media" or a silently missing c= line. The structural
 * lines (v=, o=, t=, c=, m=, a=rtpmap) are therefore checked here first, and a broken one is a 400
 * naming the line, rather than a confusing 488 or an answer aimed at the wrong address.
 */
import { isIP } from 'node:net';
import { parse, type MediaDescription } from 'sdp-transform';
import { staticFormat, type SdpFormat } from './sdp-codecs.js';

export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/**
 * An offer or answer Voxgate cannot accept. `status` is the SIP response for an offer in an INVITE:
 * 400 when the SDP does not parse, 488 Not Acceptable Here when it parses but has nothing we can use.
 */
export class SdpNegotiationError extends Error {
  readonly status: 488 | 400;

  constructor(status: 488 | 400, message: string) {
    super(message);
    this.name = 'SdpNegotiationError';
    this.status = status;
  }
}

export interface SdpConnection {
  ipVersion: 4 | 6;
  /** An IP literal, or a host name (RFC 8866 allows an FQDN; rare). Without any /ttl suffix. */
  address: string;
  multicast: boolean;
}

export interface SdpStream {
  /** Position among the m= lines, from 0. */
  index: number;
  /** Lower-cased media type: audio, video, image, application... */
  type: string;
  /** 0 is a declined or disabled stream. */
  port: number;
  /** The transport as written: RTP/AVP, RTP/SAVP, UDP/TLS/RTP/SAVPF, udptl... */
  protocol: string;
  /** The m= line's format list as written (kept in a declined stream of the answer). */
  formatList: string;
  /** For RTP transports: the formats in the peer's order of preference. */
  formats: SdpFormat[];
  /** Media level if present, else session level; undefined only for a declined or non-RTP stream. */
  connection?: SdpConnection;
  /** The peer's direction: media level, else session level, else sendrecv. */
  direction: MediaDirection;
  ptime?: number;
  maxptime?: number;
  /** a=rtcp, when present and valid. */
  rtcpPort?: number;
  rtcpMux: boolean;
  hasCrypto: boolean;
}

export interface ReadSdp {
  streams: SdpStream[];
  /** Things ignored on the way that a log should mention. */
  notes: string[];
}

const MAX_QUOTED = 60;

/** A line as it may appear in an error message: clipped, control characters made visible. */
function quote(line: string): string {
  const clean = line.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(clean.length > MAX_QUOTED ? `${clean.slice(0, MAX_QUOTED)}...` : clean);
}

const HOST_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?\.?$/i;
const RTP_TRANSPORT = /(^|\/)RTP\//i;

export function isRtpTransport(protocol: string): boolean {
  return RTP_TRANSPORT.test(protocol);
}

function isMulticast(address: string, ipVersion: 4 | 6): boolean {
  if (ipVersion === 4) {
    const first = Number(address.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  return /^ff/i.test(address);
}

/** Reads an SDP body; `what` ("offer", "answer") only words the errors. Throws SdpNegotiationError 400. */
export function readSdp(text: string, what: 'offer' | 'answer'): ReadSdp {
  const bad: (detail: string) => never = (detail) => {
    throw new SdpNegotiationError(400, `malformed SDP ${what}: ${detail}`);
  };
  if (typeof text !== 'string') bad('no SDP body');

  // RFC 8866 lines end in CRLF; accept LF or CR alone, trailing blanks and blank lines, as real peers send them.
  const lines = text
    .replace(/^\uFEFF/, '')
    .split(/\r\n|\r|\n/)
    .map((line, i) => ({ n: i + 1, line: line.replace(/[ \t]+$/, '') }))
    .filter(({ line }) => line !== '');
  if (lines.length === 0) bad('empty body');
  if (lines[0].line !== 'v=0') bad(`it must start with "v=0", line ${lines[0].n} is ${quote(lines[0].line)}`);

  let origin = false;
  let timing = false;
  let sessionConnection: SdpConnection | undefined;
  const media: Array<{ n: number; type: string; port: number; protocol: string; formatList: string; connection?: SdpConnection }> = [];
  const normalised: string[] = [];

  for (const { n, line } of lines) {
    if (!/^[a-z]=/.test(line)) bad(`line ${n} is not an SDP line: ${quote(line)}`);
    const current = media.at(-1);
    switch (line[0]) {
      case 'v':
        if (n !== lines[0].n) bad(`a second v= line at line ${n}`);
        break;
      case 'o':
        if (current) bad(`o= inside a media description at line ${n}`);
        if (!/^o=\S+ \S+ \S+ IN IP[46] \S+$/.test(line)) bad(`line ${n} is not an o= line: ${quote(line)}`);
        origin = true;
        break;
      case 't':
        if (!/^t=\d+ \d+$/.test(line)) bad(`line ${n} is not a t= line: ${quote(line)}`);
        timing = true;
        break;
      case 'c': {
        const m = /^c=IN IP([46]) (\S+)$/.exec(line);
        if (!m) bad(`line ${n} is not a c= line: ${quote(line)}`);
        const connection = readConnection(m[1] === '4' ? 4 : 6, m[2], n, bad);
        if (current) current.connection = connection;
        else sessionConnection = connection;
        break;
      }
      case 'm': {
        const m = /^m=([A-Za-z0-9_.-]+) (\d+)(?:\/(\d+))? (\S+) (\S.*)$/.exec(line);
        if (!m) bad(`line ${n} is not an m= line (media port transport formats...): ${quote(line)}`);
        const [, type, portText, , protocol, formatList] = m;
        const port = Number(portText);
        if (port > 65535) bad(`port ${port} out of range at line ${n}`);
        if (isRtpTransport(protocol)) {
          for (const format of formatList.split(' ')) {
            if (!/^\d{1,3}$/.test(format) || Number(format) > 127) bad(`line ${n}: ${quote(format)} is not an RTP payload type`);
          }
        }
        media.push({ n, type: type.toLowerCase(), port, protocol, formatList });
        // sdp-transform's m= grammar has no room for RFC 8866's port/count; we use the first port only.
        normalised.push(`m=${type} ${port} ${protocol} ${formatList}`);
        continue;
      }
      case 'a':
        if (line.startsWith('a=rtpmap:') && !/^a=rtpmap:\d{1,3} [^\s/]+\/\d+(?:\/\S+)?$/.test(line)) {
          bad(`line ${n} is not an rtpmap (a=rtpmap:<pt> <name>/<clock>[/<channels>]): ${quote(line)}`);
        }
        break;
    }
    normalised.push(line);
  }
  if (!origin) bad('no o= line');
  if (!timing) bad('no t= line');

  const parsed = parse(normalised.join('\r\n') + '\r\n');
  if (parsed.media.length !== media.length) bad('its media descriptions do not parse');
  const sessionDirection = parsed.direction ?? 'sendrecv';
  const sessionPtime = (parsed as { ptime?: unknown }).ptime;
  const notes: string[] = [];

  const streams = media.map((m, index): SdpStream => {
    const described = parsed.media[index];
    const connection = m.connection ?? sessionConnection;
    const rtp = isRtpTransport(m.protocol);
    if (rtp && m.port !== 0 && !connection) bad(`no c= line for the m=${m.type} at line ${m.n} nor at session level`);
    const rtcpPort = described.rtcp?.port;
    const validRtcpPort = typeof rtcpPort === 'number' && rtcpPort > 0 && rtcpPort <= 65535 ? rtcpPort : undefined;
    if (described.rtcp && validRtcpPort === undefined) notes.push(`ignored an unreadable a=rtcp in m=${m.type} (line ${m.n})`);
    return {
      index,
      type: m.type,
      port: m.port,
      protocol: m.protocol,
      formatList: m.formatList,
      formats: rtp ? m.formatList.split(' ').map((pt) => readFormat(Number(pt), described)) : [],
      connection,
      direction: described.direction ?? sessionDirection,
      ptime: positive(described.ptime ?? sessionPtime),
      maxptime: positive(described.maxptime),
      rtcpPort: validRtcpPort,
      rtcpMux: described.rtcpMux === 'rtcp-mux',
      hasCrypto: (described.crypto?.length ?? 0) > 0,
    };
  });
  return { streams, notes };
}

function readConnection(ipVersion: 4 | 6, text: string, n: number, bad: (detail: string) => never): SdpConnection {
  // Multicast addresses carry /ttl (IP4) and /count suffixes; unicast ones must not, but only multicast cares.
  const [address, ...suffixes] = text.split('/');
  if (suffixes.length > 2 || suffixes.some((s) => !/^\d+$/.test(s))) bad(`line ${n}: ${quote(text)} is not an address`);
  const family = isIP(address);
  if (family === 0) {
    if (!HOST_NAME.test(address)) bad(`line ${n}: ${quote(address)} is not an IPv${ipVersion} address`);
    return { ipVersion, address, multicast: false };
  }
  if (family !== ipVersion) bad(`line ${n} says IP${ipVersion} but ${quote(address)} is an IPv${family} address`);
  return { ipVersion, address, multicast: isMulticast(address, ipVersion) };
}

function readFormat(payloadType: number, described: MediaDescription): SdpFormat {
  const map = described.rtp.find((r) => Number(r.payload) === payloadType);
  const fmtp = described.fmtp.find((f) => Number(f.payload) === payloadType)?.config;
  if (!map) return fmtp === undefined ? staticFormat(payloadType) : { ...staticFormat(payloadType), fmtp };
  const channels = map.encoding === undefined ? undefined : Number(map.encoding);
  return {
    payloadType,
    encodingName: String(map.codec),
    clockRate: map.rate === undefined ? undefined : Number(map.rate),
    channels: channels !== undefined && Number.isInteger(channels) ? channels : undefined,
    fmtp,
  };
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}
