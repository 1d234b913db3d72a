/**
 * RTP fixed header (RFC 3550 section 5.1) parsing and writing. Parsing fills a caller-owned header
 * object, so the receive path allocates nothing per packet; the payload stays in the datagram at
 * [payloadOffset, payloadOffset + payloadLength).
 */

export interface RtpHeader {
  version: number;
  padding: boolean;
  extension: boolean;
  csrcCount: number;
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  payloadOffset: number;
  payloadLength: number;
}

export const RTP_HEADER_LENGTH = 12;

/** A header object to reuse with parseRtpHeader. */
export function createRtpHeader(): RtpHeader {
  return {
    version: 0,
    padding: false,
    extension: false,
    csrcCount: 0,
    marker: false,
    payloadType: 0,
    sequence: 0,
    timestamp: 0,
    ssrc: 0,
    payloadOffset: 0,
    payloadLength: 0,
  };
}

/**
 * Parses the header of `packet` into `into`. Returns false, leaving `into` in an unspecified state, for
 * anything that is not a well-formed RTP packet: shorter than 12 bytes, version other than 2, CSRC list
 * or header extension running past the end, or a padding count of 0 or larger than what follows the
 * header. A zero-length payload is well-formed.
 */
export function parseRtpHeader(packet: Buffer, into: RtpHeader): boolean {
  const length = packet.length;
  if (length < RTP_HEADER_LENGTH) return false;
  const b0 = packet[0];
  const version = b0 >> 6;
  if (version !== 2) return false;
  const padding = (b0 & 0x20) !== 0;
  const extension = (b0 & 0x10) !== 0;
  const csrcCount = b0 & 0x0f;
  let offset = RTP_HEADER_LENGTH + csrcCount * 4;
  if (offset > length) return false;
  if (extension) {
    if (offset + 4 > length) return false;
    offset += 4 + packet.readUInt16BE(offset + 2) * 4;
    if (offset > length) return false;
  }
  let end = length;
  if (padding) {
    const pad = packet[length - 1];
    if (pad === 0 || pad > length - offset) return false;
    end -= pad;
  }
  const b1 = packet[1];
  into.version = version;
  into.padding = padding;
  into.extension = extension;
  into.csrcCount = csrcCount;
  into.marker = (b1 & 0x80) !== 0;
  into.payloadType = b1 & 0x7f;
  into.sequence = packet.readUInt16BE(2);
  into.timestamp = packet.readUInt32BE(4);
  into.ssrc = packet.readUInt32BE(8);
  into.payloadOffset = offset;
  into.payloadLength = end - offset;
  return true;
}

/**
 * Writes a 12-byte header (version 2, no padding, extension or CSRCs) at the start of `buf`; returns 12.
 * Sequence and timestamp are taken modulo 2^16 and 2^32.
 */
export function writeRtpHeader(buf: Buffer, h: { marker: boolean; payloadType: number; sequence: number; timestamp: number; ssrc: number }): number {
  buf[0] = 0x80;
  buf[1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  buf.writeUInt16BE(h.sequence & 0xffff, 2);
  buf.writeUInt32BE(h.timestamp >>> 0, 4);
  buf.writeUInt32BE(h.ssrc >>> 0, 8);
  return RTP_HEADER_LENGTH;
}

/**
 * RTP/RTCP demultiplexing on one port (RFC 5761 section 4): version 2 and a second byte in 192-223,
 * which covers the RTCP packet types (SR 200, RR 201, SDES 202, BYE 203, APP 204 and the feedback
 * types 205/206) and is never an RTP payload type with or without the marker bit in practice (RTP
 * payload types 64-95 are the ones that would collide, and RFC 5761 forbids them on muxed sessions).
 */
export function isRtcp(packet: Buffer): boolean {
  if (packet.length < 8 || packet[0] >> 6 !== 2) return false;
  const pt = packet[1];
  return pt >= 192 && pt <= 223;
}
