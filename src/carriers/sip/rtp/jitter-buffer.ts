/**
 * Inbound playout buffer for one RTP audio stream, and the loss concealment that fills its gaps.
 *
 * Packets are placed by RTP timestamp into a ring of 20 ms frame slots (the codecs here carry one
 * payload byte per timestamp unit, so a packet of any ptime lands at byte offset ts - frameStart), and
 * the session pulls one frame per 20 ms tick. Timestamp placement is what reorders: within one SSRC the
 * timestamp order is the sequence order, and it also places packets across a gap (DTX, a DTMF event)
 * where sequence numbers are contiguous but time is not. Sequence numbers drop duplicates.
 *
 * Playout starts `targetFrames` ticks after the first packet (the 60 ms default absorbs that much
 * jitter). The buffer re-anchors — drops what it holds and starts again from the packet at hand, with the
 * same delay — when:
 * - a talkspurt starts (marker bit) or a packet arrives late or misaligned while nothing is buffered
 *   (after DTX, or after a network stall: the stream resumes instead of being dropped as late);
 * - the timestamp jumps more than the buffer spans, forward or back (a restarted stream);
 * - a new SSRC is confirmed: two packets of it in sequence (the second arriving within the buffer's
 *   span). A lone packet with a strange SSRC (a stray or forged datagram) never disturbs the stream.
 * When the buffer holds more than `targetFrames + 2` frames for two seconds on end (the sender's clock
 * runs fast, or a burst left it deep), one frame is dropped to bring the delay back.
 */
import type { RtpHeader } from './rtp-packet.js';

/** What push() did with a packet. */
export const PushResult = {
  /** Buffered for playout. */
  Accepted: 0,
  /** Buffered, and the playout re-anchored on it (first packet, talkspurt, resync, new SSRC). */
  Resynced: 1,
  /** Already seen (same sequence number): dropped. */
  Duplicate: 2,
  /** Arrived after its playout time: dropped. */
  Late: 3,
  /** From an SSRC that is not (yet) the stream's: held until a second packet confirms it. */
  Probation: 4,
  /** Empty, or longer than the buffer holds: dropped. */
  Unusable: 5,
} as const;
export type PushResult = (typeof PushResult)[keyof typeof PushResult];

/** What pull() produced for one tick. */
export const PullResult = {
  /** No packet yet: media has not started. `out` untouched. */
  Idle: 0,
  /** Waiting for the playout delay after (re)anchoring: play silence. `out` untouched. */
  Buffering: 1,
  /** A frame of payload in `out` (a partly received frame is completed with the silence byte). */
  Frame: 2,
  /** The frame is missing (lost, late, or the sender paused): conceal. `out` untouched. */
  Missing: 3,
} as const;
export type PullResult = (typeof PullResult)[keyof typeof PullResult];

export interface JitterBufferOptions {
  /** RTP timestamp units (= payload bytes) per 20 ms frame: 160 for PCMU, PCMA and G.722. */
  frameUnits: number;
  /** Playout delay in frames (default 3 = 60 ms). */
  targetFrames?: number;
  /** Frames the ring holds (default 32 = 640 ms); packets further ahead re-anchor. */
  capacityFrames?: number;
  /** Payload byte that decodes to silence, to complete partly received frames. */
  silenceByte: number;
}

export interface JitterBufferStats {
  accepted: number;
  duplicates: number;
  late: number;
  resyncs: number;
  /** Frames pulled as missing since media started. */
  missing: number;
  /** Frames dropped to shrink an over-deep buffer. */
  dropped: number;
}

const DUP_WINDOW = 128;
/** Pulls over which the minimum depth is watched before dropping a frame (2 s). */
const SHRINK_WINDOW = 100;

export class JitterBuffer {
  readonly frameUnits: number;
  readonly targetFrames: number;
  readonly capacityFrames: number;
  readonly stats: JitterBufferStats = { accepted: 0, duplicates: 0, late: 0, resyncs: 0, missing: 0, dropped: 0 };

  private readonly silenceByte: number;
  private readonly data: Uint8Array;
  /** Per slot: start timestamp of the frame it holds and how many of its bytes arrived (0 = empty). */
  private readonly slotTs: Float64Array;
  private readonly slotFill: Int32Array;
  private started = false;
  private ssrc = 0;
  /** Timestamp of the next frame to play, and its slot. */
  private playTs = 0;
  private head = 0;
  private holdTicks = 0;
  /** One past the last timestamp received (for the buffered depth). */
  private endTs = 0;
  /** Duplicate detection: highest sequence number seen and a bitmap of the DUP_WINDOW below it. */
  private maxSeq = 0;
  private readonly seen = new Uint8Array(DUP_WINDOW);
  /** A packet from an unconfirmed SSRC, kept until its successor confirms the switch. */
  private probationActive = false;
  private probationSsrc = 0;
  private probationSeq = 0;
  private probationTs = 0;
  private probationLength = 0;
  private readonly probationData: Uint8Array;
  private minDepth = Infinity;
  private pullsInWindow = 0;

  constructor(options: JitterBufferOptions) {
    this.frameUnits = options.frameUnits;
    this.targetFrames = Math.max(1, Math.floor(options.targetFrames ?? 3));
    this.capacityFrames = Math.max(this.targetFrames + 4, Math.floor(options.capacityFrames ?? 32));
    this.silenceByte = options.silenceByte;
    this.data = new Uint8Array(this.capacityFrames * this.frameUnits);
    this.slotTs = new Float64Array(this.capacityFrames);
    this.slotFill = new Int32Array(this.capacityFrames);
    this.probationData = new Uint8Array((this.capacityFrames * this.frameUnits) >> 1);
  }

  /** True once a packet has been accepted: pull() returns frames from then on. */
  get active(): boolean {
    return this.started;
  }

  /** The SSRC being played. */
  get currentSsrc(): number {
    return this.ssrc;
  }

  /** Frames buffered ahead of the playout point (received or not), rounded up. */
  get depthFrames(): number {
    if (!this.started) return 0;
    const ahead = (this.endTs - this.playTs) | 0;
    return ahead <= 0 ? 0 : Math.ceil(ahead / this.frameUnits);
  }

  /** Forgets the stream: the next packet starts it again. */
  reset(): void {
    this.started = false;
    this.probationActive = false;
    this.slotFill.fill(0);
  }

  /** Offers a parsed packet; the payload is copied, so `packet` may be reused once this returns. */
  push(h: RtpHeader, packet: Uint8Array): PushResult {
    const length = h.payloadLength;
    if (length === 0 || length > this.probationData.length) return PushResult.Unusable;
    if (!this.started) {
      this.anchor(h.ssrc, h.sequence, h.timestamp);
      this.write(h.sequence, h.timestamp, packet, h.payloadOffset, length);
      return PushResult.Resynced;
    }
    if (h.ssrc !== this.ssrc) return this.onForeignSsrc(h, packet);
    return this.place(h.sequence, h.timestamp, h.marker, packet, h.payloadOffset, length);
  }

  private onForeignSsrc(h: RtpHeader, packet: Uint8Array): PushResult {
    if (this.probationActive && h.ssrc === this.probationSsrc && h.sequence === ((this.probationSeq + 1) & 0xffff)) {
      // Confirmed: the stream moved to this SSRC. Play from the held packet.
      this.probationActive = false;
      this.anchor(h.ssrc, this.probationSeq, this.probationTs);
      this.write(this.probationSeq, this.probationTs, this.probationData, 0, this.probationLength);
      const r = this.place(h.sequence, h.timestamp, h.marker, packet, h.payloadOffset, h.payloadLength);
      return r === PushResult.Accepted ? PushResult.Resynced : r;
    }
    this.probationActive = true;
    this.probationSsrc = h.ssrc;
    this.probationSeq = h.sequence;
    this.probationTs = h.timestamp;
    this.probationLength = h.payloadLength;
    this.probationData.set(packet.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength));
    return PushResult.Probation;
  }

  private place(seq: number, ts: number, marker: boolean, packet: Uint8Array, offset: number, length: number): PushResult {
    // Duplicates by sequence number.
    const seqDelta = ((seq - this.maxSeq) << 16) >> 16;
    if (seqDelta > 0) {
      if (seqDelta >= DUP_WINDOW) this.seen.fill(0);
      else for (let s = this.maxSeq + 1; s !== this.maxSeq + seqDelta + 1; s++) this.seen[s & (DUP_WINDOW - 1)] = 0;
      this.maxSeq = seq;
      this.seen[seq & (DUP_WINDOW - 1)] = 1;
    } else if (seqDelta > -DUP_WINDOW) {
      if (this.seen[seq & (DUP_WINDOW - 1)]) {
        this.stats.duplicates++;
        return PushResult.Duplicate;
      }
      this.seen[seq & (DUP_WINDOW - 1)] = 1;
    } else {
      // Far behind: a restarted sequence (the timestamp decides below whether playout restarts).
      this.maxSeq = seq;
      this.seen.fill(0);
      this.seen[seq & (DUP_WINDOW - 1)] = 1;
    }

    const span = this.capacityFrames * this.frameUnits;
    const delta = (ts - this.playTs) | 0;
    const empty = ((this.endTs - this.playTs) | 0) <= 0;
    const misaligned = delta % this.frameUnits !== 0;
    if ((empty && (marker || delta < 0 || misaligned)) || delta < -span || delta + length > span) {
      this.anchor(this.ssrc, seq, ts);
      this.write(seq, ts, packet, offset, length);
      return PushResult.Resynced;
    }
    if (delta < 0) {
      this.stats.late++;
      return PushResult.Late;
    }
    this.write(seq, ts, packet, offset, length);
    return PushResult.Accepted;
  }

  /** Restarts playout at `ts`, `targetFrames` ticks from now. */
  private anchor(ssrc: number, seq: number, ts: number): void {
    if (this.started) this.stats.resyncs++;
    this.started = true;
    this.ssrc = ssrc;
    this.playTs = ts >>> 0;
    this.endTs = this.playTs;
    this.head = 0;
    this.holdTicks = this.targetFrames;
    this.slotFill.fill(0);
    this.maxSeq = seq;
    this.seen.fill(0);
    this.seen[seq & (DUP_WINDOW - 1)] = 1;
    this.minDepth = Infinity;
    this.pullsInWindow = 0;
    if (this.probationActive && this.probationSsrc === ssrc) this.probationActive = false;
  }

  /** Copies payload bytes into the frame slots they cover (the caller checked they fit the span). */
  private write(_seq: number, ts: number, src: Uint8Array, offset: number, length: number): void {
    const unit = this.frameUnits;
    let delta = (ts - this.playTs) | 0;
    let i = 0;
    while (i < length) {
      const frame = Math.floor(delta / unit);
      const within = delta - frame * unit;
      const slot = (this.head + frame) % this.capacityFrames;
      const frameTs = (this.playTs + frame * unit) >>> 0;
      const base = slot * unit;
      if (this.slotFill[slot] === 0 || this.slotTs[slot] !== frameTs) {
        this.data.fill(this.silenceByte, base, base + unit);
        this.slotTs[slot] = frameTs;
        this.slotFill[slot] = 0;
      }
      const n = Math.min(unit - within, length - i);
      const data = this.data;
      for (let k = 0, from = offset + i, to = base + within; k < n; k++) data[to + k] = src[from + k]; // no subarray view per packet
      this.slotFill[slot] += n;
      i += n;
      delta += n;
    }
    const end = (ts + length) >>> 0;
    if (((end - this.endTs) | 0) > 0) this.endTs = end;
    this.stats.accepted++;
  }

  /** The frame for this tick: Frame with its payload in `out` (frameUnits bytes), or what to play instead. */
  pull(out: Uint8Array): PullResult {
    if (!this.started) return PullResult.Idle;
    if (this.holdTicks > 0) {
      this.holdTicks--;
      return PullResult.Buffering;
    }
    const slot = this.head;
    let result: PullResult = PullResult.Missing;
    if (this.slotFill[slot] > 0 && this.slotTs[slot] === this.playTs) {
      const base = slot * this.frameUnits;
      const data = this.data;
      for (let k = 0, n = this.frameUnits; k < n; k++) out[k] = data[base + k];
      result = PullResult.Frame;
    } else {
      this.stats.missing++;
    }
    this.advance();
    this.watchDepth();
    return result;
  }

  /** Moves past `frames` ticks without playing them (the caller fell behind). */
  skip(frames: number): void {
    if (!this.started) return;
    for (let i = 0; i < frames; i++) {
      if (this.holdTicks > 0) this.holdTicks--;
      else this.advance();
    }
  }

  private advance(): void {
    this.slotFill[this.head] = 0;
    this.head = (this.head + 1) % this.capacityFrames;
    this.playTs = (this.playTs + this.frameUnits) >>> 0;
  }

  private watchDepth(): void {
    const depth = this.depthFrames;
    if (depth < this.minDepth) this.minDepth = depth;
    if (++this.pullsInWindow < SHRINK_WINDOW) return;
    if (this.minDepth > this.targetFrames + 2) {
      this.advance();
      this.stats.dropped++;
    }
    this.minDepth = Infinity;
    this.pullsInWindow = 0;
  }
}

/** Frames of repeated audio before concealment gives way to silence. */
export const CONCEAL_FRAMES = 3;

/**
 * Loss concealment on decoded PCM: a missing frame replays the last good one, fading linearly to
 * silence over CONCEAL_FRAMES frames (so a lost packet is a smooth dip, and a long gap ends in
 * silence rather than a buzzing loop).
 */
export class Concealer {
  private readonly last: Int16Array;
  private haveLast = false;
  private missingRun = 0;

  constructor(frameSamples: number) {
    this.last = new Int16Array(frameSamples);
  }

  /** Notes a good frame (call for every decoded frame). */
  good(frame: Int16Array): void {
    this.last.set(frame);
    this.haveLast = true;
    this.missingRun = 0;
  }

  /** Fills `out` for a missing frame. */
  conceal(out: Int16Array): void {
    const run = this.missingRun++;
    if (!this.haveLast || run >= CONCEAL_FRAMES) {
      out.fill(0);
      return;
    }
    const n = out.length;
    const total = CONCEAL_FRAMES * n;
    const last = this.last;
    for (let i = 0; i < n; i++) {
      const gain = 1 - (run * n + i + 1) / total;
      out[i] = Math.round(last[i] * gain);
    }
  }

  /** Forgets the last frame (silence follows, a new stream starts). */
  reset(): void {
    this.haveLast = false;
    this.missingRun = 0;
  }
}
