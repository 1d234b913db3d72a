/**
 * RTCP (RFC 3550 section 6): building compound sender/receiver reports with one report block and an
 * SDES CNAME, BYE, parsing what the peer sends (for round-trip time and the loss it sees), and the
 * receive-side statistics a report block carries (appendix A.1, A.3, A.8).
 */

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
export const RTCP_APP = 204;

/** Seconds between 1900 (NTP epoch) and 1970 (Unix epoch). */
const NTP_EPOCH_OFFSET = 2_208_988_800;
const TWO_32 = 4_294_967_296;

export interface ReportBlock {
  /** The source this block reports on. */
  ssrc: number;
  /** Fraction of its packets lost since the previous report, in 1/256. */
  fractionLost: number;
  /** Packets lost since reception began (signed 24-bit: duplicates can make it negative). */
  cumulativeLost: number;
  /** Cycles << 16 | highest sequence number received. */
  extendedHighestSequence: number;
  /** Interarrival jitter in RTP clock units. */
  jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR received from the source (0: none). */
  lastSr: number;
  /** Delay since that SR, in 1/65536 s. */
  delaySinceLastSr: number;
}

export interface SenderInfo {
  ssrc: number;
  ntpSeconds: number;
  ntpFraction: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

export interface RtcpCompound {
  /** The SR's sender info, when the compound has an SR. */
  sender?: SenderInfo;
  /** SSRC of the reporter (SR or RR). */
  reporterSsrc?: number;
  reports: ReportBlock[];
  cname?: string;
  /** SSRCs that said goodbye. */
  bye: number[];
}

/** NTP timestamp (seconds and 2^-32 fraction) of a Unix time in milliseconds. */
export function ntpTime(ms: number): { seconds: number; fraction: number } {
  const seconds = Math.floor(ms / 1000);
  const fraction = Math.floor(((ms - seconds * 1000) / 1000) * TWO_32);
  return { seconds: (seconds + NTP_EPOCH_OFFSET) >>> 0, fraction: fraction >>> 0 };
}

/** The middle 32 bits of the NTP timestamp of `ms` (the LSR/DLSR time base: 1/65536 s). */
export function ntpMiddle32(ms: number): number {
  const seconds = Math.floor(ms / 1000) + NTP_EPOCH_OFFSET;
  const frac16 = Math.floor(((ms % 1000) / 1000) * 65536);
  return (((seconds & 0xffff) << 16) | frac16) >>> 0;
}

/**
 * Round trip from a report block about our stream (RFC 3550 section 6.4.1): arrival time minus LSR
 * minus DLSR. Undefined when the peer has not received an SR from us yet.
 */
export function roundTripMs(block: ReportBlock, arrivalMs: number): number | undefined {
  if (block.lastSr === 0) return undefined;
  const rtt = (ntpMiddle32(arrivalMs) - block.lastSr - block.delaySinceLastSr) >>> 0;
  if (rtt > 0x7fffffff) return 0;
  return (rtt * 1000) / 65536;
}

function writeReportBlock(buf: Buffer, offset: number, b: ReportBlock): number {
  buf.writeUInt32BE(b.ssrc >>> 0, offset);
  const lost = Math.max(-0x800000, Math.min(0x7fffff, b.cumulativeLost)) & 0xffffff;
  buf.writeUInt32BE((((b.fractionLost & 0xff) << 24) | lost) >>> 0, offset + 4);
  buf.writeUInt32BE(b.extendedHighestSequence >>> 0, offset + 8);
  buf.writeUInt32BE(Math.min(0xffffffff, Math.max(0, Math.round(b.jitter))) >>> 0, offset + 12);
  buf.writeUInt32BE(b.lastSr >>> 0, offset + 16);
  buf.writeUInt32BE(b.delaySinceLastSr >>> 0, offset + 20);
  return offset + 24;
}

function readReportBlock(buf: Buffer, offset: number): ReportBlock {
  const word = buf.readUInt32BE(offset + 4);
  const lost = word & 0xffffff;
  return {
    ssrc: buf.readUInt32BE(offset),
    fractionLost: word >>> 24,
    cumulativeLost: lost & 0x800000 ? lost - 0x1000000 : lost,
    extendedHighestSequence: buf.readUInt32BE(offset + 8),
    jitter: buf.readUInt32BE(offset + 12),
    lastSr: buf.readUInt32BE(offset + 16),
    delaySinceLastSr: buf.readUInt32BE(offset + 20),
  };
}

function writeCommonHeader(buf: Buffer, offset: number, count: number, type: number, lengthBytes: number): void {
  buf[offset] = 0x80 | (count & 0x1f);
  buf[offset + 1] = type;
  buf.writeUInt16BE(lengthBytes / 4 - 1, offset + 2);
}

/** Writes an SR (with `block` when given) at `offset`; returns the offset after it. */
export function writeSenderReport(buf: Buffer, offset: number, sender: SenderInfo, block?: ReportBlock): number {
  const length = 28 + (block ? 24 : 0);
  writeCommonHeader(buf, offset, block ? 1 : 0, RTCP_SR, length);
  buf.writeUInt32BE(sender.ssrc >>> 0, offset + 4);
  buf.writeUInt32BE(sender.ntpSeconds >>> 0, offset + 8);
  buf.writeUInt32BE(sender.ntpFraction >>> 0, offset + 12);
  buf.writeUInt32BE(sender.rtpTimestamp >>> 0, offset + 16);
  buf.writeUInt32BE(sender.packetCount >>> 0, offset + 20);
  buf.writeUInt32BE(sender.octetCount >>> 0, offset + 24);
  return block ? writeReportBlock(buf, offset + 28, block) : offset + 28;
}

/** Writes an RR (with `block` when given) at `offset`; returns the offset after it. */
export function writeReceiverReport(buf: Buffer, offset: number, ssrc: number, block?: ReportBlock): number {
  const length = 8 + (block ? 24 : 0);
  writeCommonHeader(buf, offset, block ? 1 : 0, RTCP_RR, length);
  buf.writeUInt32BE(ssrc >>> 0, offset + 4);
  return block ? writeReportBlock(buf, offset + 8, block) : offset + 8;
}

/** Writes an SDES with one chunk (`ssrc`, CNAME) at `offset`; returns the offset after it. CNAMEs are cut to 255 bytes. */
export function writeSdesCname(buf: Buffer, offset: number, ssrc: number, cname: string): number {
  buf.writeUInt32BE(ssrc >>> 0, offset + 4);
  buf[offset + 8] = 1; // CNAME
  const room = Math.max(0, Math.min(255, buf.length - offset - 10 - 4)); // leave room for the terminator and padding
  const n = buf.write(cname, offset + 10, room, 'utf8');
  buf[offset + 9] = n;
  // Item list ends with at least one zero byte, then pads to a 32-bit boundary.
  let end = offset + 10 + n;
  do buf[end++] = 0;
  while ((end - offset) % 4 !== 0);
  writeCommonHeader(buf, offset, 1, RTCP_SDES, end - offset);
  return end;
}

/** Writes a BYE for `ssrc` at `offset`; returns the offset after it. */
export function writeBye(buf: Buffer, offset: number, ssrc: number): number {
  writeCommonHeader(buf, offset, 1, RTCP_BYE, 8);
  buf.writeUInt32BE(ssrc >>> 0, offset + 4);
  return offset + 8;
}

/** Largest compound this module writes: SR + 1 block (52) + SDES with a 255-byte CNAME (268) + BYE (8). */
export const MAX_COMPOUND_BYTES = 52 + 268 + 8;

/**
 * Parses a compound RTCP packet (one or more RTCP packets back to back). Returns null when it is not
 * well-formed: too short, a version other than 2, a length running past the end, a first packet that
 * is not an SR or RR (RFC 3550 section 6.1 — RFC 5506 reduced-size packets are accepted as long as
 * every packet is well-formed). Unknown packet types are skipped.
 */
export function parseRtcp(packet: Buffer): RtcpCompound | null {
  const result: RtcpCompound = { reports: [], bye: [] };
  let offset = 0;
  if (packet.length < 8) return null;
  while (offset < packet.length) {
    if (offset + 4 > packet.length) return null;
    const b0 = packet[offset];
    if (b0 >> 6 !== 2) return null;
    const count = b0 & 0x1f;
    const type = packet[offset + 1];
    const length = (packet.readUInt16BE(offset + 2) + 1) * 4;
    const end = offset + length;
    if (end > packet.length) return null;
    let padding = 0;
    if (b0 & 0x20) {
      padding = packet[end - 1];
      if (padding === 0 || padding > length - 4) return null;
    }
    const bodyEnd = end - padding;
    switch (type) {
      case RTCP_SR: {
        if (offset + 28 + count * 24 > bodyEnd) return null;
        result.reporterSsrc = packet.readUInt32BE(offset + 4);
        result.sender = {
          ssrc: result.reporterSsrc,
          ntpSeconds: packet.readUInt32BE(offset + 8),
          ntpFraction: packet.readUInt32BE(offset + 12),
          rtpTimestamp: packet.readUInt32BE(offset + 16),
          packetCount: packet.readUInt32BE(offset + 20),
          octetCount: packet.readUInt32BE(offset + 24),
        };
        for (let i = 0; i < count; i++) result.reports.push(readReportBlock(packet, offset + 28 + i * 24));
        break;
      }
      case RTCP_RR: {
        if (offset + 8 + count * 24 > bodyEnd) return null;
        result.reporterSsrc = packet.readUInt32BE(offset + 4);
        for (let i = 0; i < count; i++) result.reports.push(readReportBlock(packet, offset + 8 + i * 24));
        break;
      }
      case RTCP_SDES: {
        let p = offset + 4;
        for (let chunk = 0; chunk < count && p + 4 <= bodyEnd; chunk++) {
          p += 4;
          while (p < bodyEnd && packet[p] !== 0) {
            if (p + 2 > bodyEnd) return null;
            const itemType = packet[p];
            const itemLength = packet[p + 1];
            if (p + 2 + itemLength > bodyEnd) return null;
            if (itemType === 1 && result.cname === undefined) result.cname = packet.toString('utf8', p + 2, p + 2 + itemLength);
            p += 2 + itemLength;
          }
          p = (p + 4) & ~3; // the null terminator(s), to the next 32-bit boundary
        }
        break;
      }
      case RTCP_BYE: {
        if (offset + 4 + count * 4 > bodyEnd) return null;
        for (let i = 0; i < count; i++) result.bye.push(packet.readUInt32BE(offset + 4 + i * 4));
        break;
      }
      default:
        break; // APP, feedback (RFC 4585), XR: not used here
    }
    offset = end;
  }
  return result;
}

const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
const SEQ_MOD = 65536;

/**
 * Receive statistics for one source (RFC 3550 appendix A): extended highest sequence number,
 * expected and lost counts, fraction lost per report interval, and interarrival jitter. Counts from
 * earlier sources (before an SSRC change or restart) are kept in `lostBefore`/`receivedBefore`.
 */
export class ReceptionStats {
  ssrc = 0;
  private started = false;
  private baseSeq = 0;
  private maxSeq = 0;
  private cycles = 0;
  private badSeq = -1;
  private received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private lastTransit = 0;
  private haveTransit = false;
  /** Interarrival jitter, RTP clock units (float; reported rounded). */
  jitter = 0;
  lostBefore = 0;
  receivedBefore = 0;
  /** Middle 32 NTP bits of the last SR from this source and when it arrived (ms). */
  lastSr = 0;
  lastSrAt = 0;

  constructor(private readonly clockRate = 8000) {}

  /** Starts counting a new source (first packet `seq`), keeping what the previous one lost. */
  restart(ssrc: number, seq: number): void {
    if (this.started) {
      this.lostBefore += Math.max(0, this.expected() - this.received);
      this.receivedBefore += this.received;
    }
    this.ssrc = ssrc;
    this.started = true;
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.cycles = 0;
    this.badSeq = -1;
    this.received = 0;
    this.expectedPrior = 0;
    this.receivedPrior = 0;
    this.haveTransit = false;
    this.lastSr = 0;
    this.lastSrAt = 0;
  }

  /**
   * Counts a packet of the current source; `arrivalMs` is the local receive time. `timestamp`
   * undefined: a packet that shares the sequence numbers but not the sampling clock (an RFC 4733
   * event, whose packets all carry the event's start time): it counts as received, not for jitter.
   */
  onPacket(seq: number, timestamp: number | undefined, arrivalMs: number): void {
    if (!this.started) this.restart(this.ssrc, seq);
    const delta = (seq - this.maxSeq + SEQ_MOD) % SEQ_MOD;
    if (delta < MAX_DROPOUT) {
      if (seq < this.maxSeq) this.cycles += SEQ_MOD;
      this.maxSeq = seq;
    } else if (delta <= SEQ_MOD - MAX_MISORDER) {
      // A large jump: two sequential packets confirm a restarted sequence.
      if (seq === this.badSeq) {
        this.restart(this.ssrc, seq);
      } else {
        this.badSeq = (seq + 1) % SEQ_MOD;
        return;
      }
    } // else: duplicate or reordered, counted but not the new maximum
    this.received++;
    if (timestamp === undefined) return;

    const arrival = ((arrivalMs * this.clockRate) / 1000) % TWO_32;
    const transit = (arrival - timestamp) | 0;
    if (this.haveTransit) {
      const d = Math.abs((transit - this.lastTransit) | 0);
      this.jitter += (d - this.jitter) / 16;
    }
    this.lastTransit = transit;
    this.haveTransit = true;
  }

  get extendedHighestSequence(): number {
    return (this.cycles + this.maxSeq) >>> 0;
  }

  private expected(): number {
    return this.cycles + this.maxSeq - this.baseSeq + 1;
  }

  /** Packets lost over the whole call (never negative). */
  get totalLost(): number {
    return this.lostBefore + (this.started ? Math.max(0, this.expected() - this.received) : 0);
  }

  get totalReceived(): number {
    return this.receivedBefore + this.received;
  }

  get hasSource(): boolean {
    return this.started;
  }

  /** Jitter in milliseconds. */
  get jitterMs(): number {
    return (this.jitter * 1000) / this.clockRate;
  }

  /** Fills a report block about this source and starts a new report interval. */
  report(into: ReportBlock, nowMs: number): ReportBlock {
    const expected = this.expected();
    const expectedInterval = expected - this.expectedPrior;
    const receivedInterval = this.received - this.receivedPrior;
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    into.ssrc = this.ssrc;
    into.fractionLost = expectedInterval === 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval * 256) / expectedInterval);
    into.cumulativeLost = expected - this.received;
    into.extendedHighestSequence = this.extendedHighestSequence;
    into.jitter = this.jitter;
    into.lastSr = this.lastSr;
    into.delaySinceLastSr = this.lastSr === 0 ? 0 : Math.max(0, Math.round(((nowMs - this.lastSrAt) * 65536) / 1000)) >>> 0;
    return into;
  }

  /** Notes an SR from this source (for LSR/DLSR in our next report). */
  onSenderReport(ntpSeconds: number, ntpFraction: number, arrivalMs: number): void {
    this.lastSr = (((ntpSeconds & 0xffff) << 16) | (ntpFraction >>> 16)) >>> 0;
    this.lastSrAt = arrivalMs;
  }
}
