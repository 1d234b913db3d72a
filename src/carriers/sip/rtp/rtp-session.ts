/**
 * One call's RTP audio: from two bound UDP sockets to 20 ms PCM16 frames and back.
 *
 * Outbound: play() queues PCM; every 20 ms tick of the shared RtpPacer sends exactly one packet —
 * queued audio, an RFC 4733 event while digits play, or encoded silence when nothing is queued (so the
 * peer's jitter buffer, NAT bindings and media timers stay fed). The schedule is kept against
 * clock.now() in 20 ms steps, so it never drifts; after an event-loop stall the late packets go out in
 * a burst of at most MAX_BURST, and beyond that the missed slots are skipped (the RTP timestamp jumps
 * with them and the next packet carries the marker bit). Timestamp and sequence run on across silence
 * and DTMF; SSRC, sequence and timestamp start random. A mark is emitted once every packet queued
 * before it has been sent: what the caller has heard, give or take the network and their jitter buffer.
 *
 * Inbound: each datagram is parsed into one reusable header; packets of the negotiated codec go to the
 * jitter buffer, telephone-events to the DTMF tracker, RTCP (when muxed) to the RTCP handler, and
 * anything else is counted and warned about (rate-limited). Once media has started, every tick emits
 * exactly one `audio` frame: decoded audio, concealment for a missing frame, or silence. Symmetric RTP:
 * packets are sent to where the stream's packets come from once they arrive (with one warning when
 * that is not the SDP's address).
 *
 * Hot paths allocate nothing per packet: send buffers (a small ring, since dgram may read a buffer
 * after send() returns), the decode frame, and the header object are made once per session. A
 * malformed datagram never throws out of a socket handler.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { Logger } from '../../../logger.js';
import type { Clock } from '../../../runtime/clock.js';
import { RateLimitedWarnings } from '../../../runtime/rate-limited-warnings.js';
import { Concealer, JitterBuffer, PullResult, PushResult } from './jitter-buffer.js';
import { silencePayload, type AudioCodec, type AudioDecoder, type AudioEncoder } from './rtp-codec.js';
import { createRtpHeader, isRtcp, parseRtpHeader, RTP_HEADER_LENGTH, writeRtpHeader } from './rtp-packet.js';
import { RtpPacer, sharedPacer, TICK_MS } from '../../rtp-media/rtp-pacer.js';
import {
  MAX_COMPOUND_BYTES,
  ntpTime,
  parseRtcp,
  ReceptionStats,
  roundTripMs,
  writeBye,
  writeReceiverReport,
  writeSdesCname,
  writeSenderReport,
  type ReportBlock,
  type SenderInfo,
} from './rtcp.js';
import { PlayoutQueue } from '../../rtp-media/playout-queue.js';
import { eventOfDtmfDigit, parseTelephoneEventInto, TelephoneEventTracker, writeTelephoneEvent, type TelephoneEvent } from '../../rtp-media/telephone-event.js';

export { RtpPacer } from '../../rtp-media/rtp-pacer.js';

export interface RtpSessionEvents {
  /** One 20 ms frame at `sampleRate`; the array is reused once listeners return. */
  audio: [frame: Int16Array];
  dtmf: [digit: string];
  mark: [name: string];
  cleared: [];
  /** No RTP for `inactivityTimeoutMs` while media was expected; once per silence (re-armed by the next packet). */
  timeout: [silentMs: number];
  /** A media-path problem, already logged (rate-limited: at most one event per kind per 10 s). */
  warning: [message: string];
}

export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface RtpRemote {
  address: string;
  port: number;
  rtcpPort?: number;
}

export interface RtpSessionOptions {
  /** Bound sockets the session owns (it closes them on close()). */
  rtp: dgram.Socket;
  rtcp?: dgram.Socket;
  codec: AudioCodec;
  /** The negotiated telephone-event payload type; absent: no RFC 4733 in either direction. */
  telephoneEventPayloadType?: number;
  /** From the SDP; replaced by the source of the peer's packets once they arrive (symmetric RTP). */
  remote?: RtpRemote;
  clock: Clock;
  logger: Logger;
  /** The process's shared ticker; absent: the shared pacer of `clock`. */
  pacer?: RtpPacer;
  /** No RTP received for this long while media is expected -> 'timeout' (0/absent: off). */
  inactivityTimeoutMs?: number;
  /** Jitter buffer playout delay in 20 ms frames (default 3). */
  jitterBufferFrames?: number;
  /** Send RTCP on the RTP socket (a=rtcp-mux negotiated). Without an RTCP socket and without this, no RTCP is sent. */
  rtcpMux?: boolean;
  /** SDES CNAME (default: random). */
  cname?: string;
}

export interface RtpSessionStats {
  packetsSent: number;
  packetsReceived: number;
  packetsLost: number;
  malformed: number;
  jitterMs: number;
  lastReceivedAt?: number;
  /** Packets of payload types not negotiated. */
  ignored: number;
  duplicates: number;
  late: number;
  /** Frames emitted as concealment or silence because their packet was missing. */
  concealed: number;
  /** Jitter buffer restarts (new SSRC, new talkspurt after silence, timestamp jumps). */
  resyncs: number;
  /** From the peer's RTCP reports about our stream. */
  roundTripMs?: number;
  remoteFractionLost?: number;
  remoteJitterMs?: number;
}

/** Packets sent back to back at most when catching up after a stall; later slots are skipped. */
export const MAX_BURST = 5;
/** Send buffers in rotation (dgram may read a buffer after send() returns). */
const SEND_RING = 16;
const DEFAULT_DTMF_MS = 100;
const DEFAULT_DTMF_PAUSE_MS = 60;
const DTMF_VOLUME = 10;
const RTCP_INTERVAL_MS = 5000;
const WARNING_EVENT_INTERVAL_MS = 10_000;

interface DtmfItem {
  event: number;
  packets: number;
  pauseTicks: number;
}

interface SendSlot {
  buf: Buffer;
  payload: Uint8Array;
}

function sameEndpoint(a: RtpRemote | undefined, b: RtpRemote | undefined): boolean {
  return a !== undefined && b !== undefined && a.address === b.address && a.port === b.port && a.rtcpPort === b.rtcpPort;
}

export class RtpSession extends EventEmitter<RtpSessionEvents> {
  private readonly rtp: dgram.Socket;
  private readonly rtcp: dgram.Socket | undefined;
  private readonly rtcpMux: boolean;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly warnings: RateLimitedWarnings;
  private readonly warningEmittedAt = new Map<string, number>();
  private readonly unregister: () => void;
  private readonly inactivityTimeoutMs: number;
  private readonly jitterBufferFrames: number;
  private readonly cname: string;

  private codecValue: AudioCodec;
  private tePt: number | undefined;
  private encoder: AudioEncoder;
  private decoder: AudioDecoder;
  private jitter: JitterBuffer;
  private concealer: Concealer;
  /** The frame handed to `audio` listeners, the outbound PCM frame and the inbound payload. */
  private frame: Int16Array;
  private pcmOut: Int16Array;
  private payloadIn: Uint8Array;
  private sendRing: SendSlot[];
  private sendNext = 0;
  private readonly rtcpBuf = Buffer.alloc(MAX_COMPOUND_BYTES);
  private readonly header = createRtpHeader();
  private readonly sendHeader = { marker: false, payloadType: 0, sequence: 0, timestamp: 0, ssrc: 0 };
  private readonly te: TelephoneEvent = { event: 0, end: false, volume: 0, duration: 0 };
  private readonly tracker: TelephoneEventTracker;
  private readonly recv = new ReceptionStats(8000);
  private readonly reportBlock: ReportBlock = { ssrc: 0, fractionLost: 0, cumulativeLost: 0, extendedHighestSequence: 0, jitter: 0, lastSr: 0, delaySinceLastSr: 0 };
  private readonly senderInfo: SenderInfo = { ssrc: 0, ntpSeconds: 0, ntpFraction: 0, rtpTimestamp: 0, packetCount: 0, octetCount: 0 };

  // Outbound stream state.
  private readonly ssrc: number;
  private seq: number;
  private ts: number;
  private markerNext = true;
  private readonly queue = new PlayoutQueue((name) => this.emit('mark', name));
  private readonly dtmfQueue: DtmfItem[] = [];
  private dtmfActive = false;
  private dtmfEvent = 0;
  private dtmfStartTs = 0;
  private dtmfPackets = 0;
  private dtmfSent = 0;
  private dtmfEndRepeats = 0;
  private dtmfPause = 0;
  private nextTickAt: number | undefined;
  private sentSinceReport = false;
  private sentInPreviousInterval = false;
  private octetsSent = 0;

  // Remote endpoints.
  private sdpRemote: RtpRemote | undefined;
  private rtpDestAddress: string | undefined;
  private rtpDestPort = 0;
  private latched = false;
  private latchWarned = false;
  private rtcpLatchedAddress: string | undefined;
  private rtcpLatchedPort = 0;

  // Direction, timers, counters.
  private direction: MediaDirection = 'sendrecv';
  private expectSince: number;
  private timeoutFired = false;
  private nextRtcpAt: number;
  private closed = false;
  private mediaStarted = false;
  private packetsSent = 0;
  private packetsReceived = 0;
  private malformed = 0;
  private ignored = 0;
  private concealed = 0;
  private lastReceivedAt: number | undefined;
  private roundTrip: number | undefined;
  private remoteFractionLost: number | undefined;
  private remoteJitterMs: number | undefined;
  private jbStatsBefore = { duplicates: 0, late: 0, resyncs: 0 };

  constructor(options: RtpSessionOptions) {
    super();
    this.rtp = options.rtp;
    this.rtcp = options.rtcp;
    this.rtcpMux = options.rtcpMux ?? false;
    this.clock = options.clock;
    this.logger = options.logger;
    this.warnings = new RateLimitedWarnings(this.logger, this.clock);
    this.inactivityTimeoutMs = options.inactivityTimeoutMs ?? 0;
    this.jitterBufferFrames = options.jitterBufferFrames ?? 3;
    this.cname = options.cname ?? `voxgate-${randomBytes(8).toString('hex')}`;
    this.codecValue = options.codec;
    this.tePt = options.telephoneEventPayloadType;
    this.encoder = options.codec.createEncoder();
    this.decoder = options.codec.createDecoder();
    this.jitter = this.makeJitterBuffer(options.codec);
    this.concealer = new Concealer(options.codec.frameSamples);
    this.frame = new Int16Array(options.codec.frameSamples);
    this.pcmOut = new Int16Array(options.codec.frameSamples);
    this.payloadIn = new Uint8Array(options.codec.frameBytes);
    this.sendRing = this.makeSendRing(options.codec.frameBytes);
    this.tracker = new TelephoneEventTracker((digit) => this.emit('dtmf', digit));

    this.ssrc = randomInt(0, 2 ** 32);
    this.seq = randomInt(0, 65536);
    this.ts = randomInt(0, 2 ** 32);
    this.senderInfo.ssrc = this.ssrc;

    if (options.remote) this.setDestination(options.remote);
    const now = this.clock.now();
    this.expectSince = now;
    this.nextRtcpAt = now + RTCP_INTERVAL_MS * (0.25 + Math.random() * 0.5);

    this.rtp.on('message', this.onRtpMessage);
    this.rtp.on('error', this.onSocketError);
    if (this.rtcp) {
      this.rtcp.on('message', this.onRtcpMessage);
      this.rtcp.on('error', this.onSocketError);
    }
    this.unregister = (options.pacer ?? sharedPacer(this.clock)).add(this);
  }

  get codec(): AudioCodec {
    return this.codecValue;
  }

  /** PCM rate of play() input and `audio` frames: the codec's (8000, or 16000 for G.722). */
  get sampleRate(): 8000 | 16000 {
    return this.codecValue.sampleRate;
  }

  /** Our SSRC (random per session). */
  get localSsrc(): number {
    return this.ssrc;
  }

  /** Where RTP goes now: the latched source of the peer's packets, else the SDP's address. */
  get destination(): { address: string; port: number } | undefined {
    return this.rtpDestAddress === undefined ? undefined : { address: this.rtpDestAddress, port: this.rtpDestPort };
  }

  get stats(): RtpSessionStats {
    const jb = this.jitter.stats;
    return {
      packetsSent: this.packetsSent,
      packetsReceived: this.packetsReceived,
      packetsLost: this.recv.totalLost,
      malformed: this.malformed,
      jitterMs: this.recv.jitterMs,
      lastReceivedAt: this.lastReceivedAt,
      ignored: this.ignored,
      duplicates: this.jbStatsBefore.duplicates + jb.duplicates,
      late: this.jbStatsBefore.late + jb.late,
      concealed: this.concealed,
      resyncs: this.jbStatsBefore.resyncs + jb.resyncs,
      roundTripMs: this.roundTrip,
      remoteFractionLost: this.remoteFractionLost,
      remoteJitterMs: this.remoteJitterMs,
    };
  }

  // ---------------------------------------------------------------- outbound API

  /** Queues PCM16 at `sampleRate` (takes ownership); it leaves one 20 ms packet per tick. */
  play(samples: Int16Array): void {
    if (this.closed) return;
    this.queue.play(samples);
  }

  /**
   * Emits `mark` once every packet queued before it has been sent. A mark on an empty queue fires on
   * the next tick. While sending is paused (hold: recvonly/inactive) queued audio and marks wait.
   */
  mark(name: string): void {
    if (this.closed) return;
    this.queue.mark(name);
  }

  /**
   * Barge-in: drops queued audio (the packet already sent is the last one heard). Queued marks are
   * emitted at once, in order — the audio they waited for will never play, and whoever waits on them
   * should not hang — then `cleared`. Both are emitted in a microtask, never inside this call. Digits
   * being sent are not cut (an RFC 4733 event must end properly).
   */
  clear(): void {
    if (this.closed) return;
    const marks = this.queue.clear();
    queueMicrotask(() => {
      if (this.closed) return;
      for (const m of marks) this.emit('mark', m);
      this.emit('cleared');
    });
  }

  /**
   * Sends digits as RFC 4733 events, starting on the next tick; queued audio pauses while they play
   * and resumes after. Each digit: `durationMs` (default 100) of packets every 20 ms sharing the
   * start timestamp, marker on the first, the end packet three times; `pauseMs` (default 60) of
   * silence between digits. Throws for characters other than 0-9 * # A-D, and when no telephone-event
   * payload type was negotiated.
   */
  sendDtmf(digits: string, options: { durationMs?: number; pauseMs?: number } = {}): void {
    if (this.tePt === undefined) throw new Error('Cannot send DTMF: the peer did not negotiate telephone-event (RFC 4733)');
    const events: number[] = [];
    for (const ch of digits) {
      const e = eventOfDtmfDigit(ch);
      if (e === undefined) throw new Error(`Cannot send DTMF "${digits}": "${ch}" is not a DTMF digit (0-9 * # A-D)`);
      events.push(e);
    }
    if (this.closed) return;
    const packets = Math.max(2, Math.ceil((options.durationMs ?? DEFAULT_DTMF_MS) / TICK_MS));
    const pauseTicks = Math.max(0, Math.ceil((options.pauseMs ?? DEFAULT_DTMF_PAUSE_MS) / TICK_MS));
    events.forEach((event, i) => this.dtmfQueue.push({ event, packets, pauseTicks: i < events.length - 1 ? pauseTicks : 0 }));
  }

  // ---------------------------------------------------------------- negotiation changes

  /** A re-INVITE moved the peer: send to the new SDP address until its packets show where they come from. */
  setRemote(remote: RtpRemote): void {
    if (sameEndpoint(remote, this.sdpRemote)) return;
    this.setDestination(remote);
  }

  /**
   * A re-INVITE changed the codec (and/or the telephone-event payload type). Packets of the old
   * payload type are ignored from now on; without a telephone-event type, digits not yet sent are dropped. When the sample rate changes, queued audio (at the old rate)
   * is dropped with its marks emitted, as clear() does, and `audio` frames change size.
   */
  setCodec(codec: AudioCodec, telephoneEventPayloadType?: number): void {
    this.tePt = telephoneEventPayloadType;
    if (telephoneEventPayloadType === undefined) {
      this.dtmfQueue.length = 0; // no payload type to send them with any more
      this.dtmfActive = false;
    }
    if (codec === this.codecValue) return;
    const rateChanged = codec.sampleRate !== this.codecValue.sampleRate;
    this.codecValue = codec;
    this.encoder = codec.createEncoder();
    this.decoder = codec.createDecoder();
    this.addJitterStats();
    this.jitter = this.makeJitterBuffer(codec);
    this.concealer = new Concealer(codec.frameSamples);
    if (this.frame.length !== codec.frameSamples) {
      this.frame = new Int16Array(codec.frameSamples);
      this.pcmOut = new Int16Array(codec.frameSamples);
    }
    if (this.payloadIn.length !== codec.frameBytes) {
      this.payloadIn = new Uint8Array(codec.frameBytes);
      this.sendRing = this.makeSendRing(codec.frameBytes);
    }
    this.markerNext = true;
    if (rateChanged && !this.queue.isEmpty) {
      this.problem('codec-rate-change', `codec changed to ${codec.name} at ${codec.sampleRate} Hz; queued audio at the old rate was dropped`);
      this.clear();
    }
  }

  /**
   * Our direction from the SDP: we send only when sendrecv/sendonly (queued audio and marks wait
   * otherwise), and expect media (inactivity timeout) only when sendrecv/recvonly.
   */
  setDirection(direction: MediaDirection): void {
    if (direction === this.direction) return;
    const wasExpecting = this.expectsMedia;
    const wasSending = this.sends;
    this.direction = direction;
    if (!wasExpecting && this.expectsMedia) {
      this.expectSince = this.clock.now();
      this.timeoutFired = false;
    }
    if (!wasSending && this.sends) this.markerNext = true;
  }

  get currentDirection(): MediaDirection {
    return this.direction;
  }

  private get sends(): boolean {
    return this.direction === 'sendrecv' || this.direction === 'sendonly';
  }

  private get expectsMedia(): boolean {
    return this.direction === 'sendrecv' || this.direction === 'recvonly';
  }

  /** Stops pacing, sends RTCP BYE, closes the sockets (once pending sends have left). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unregister();
    this.queue.reset();
    this.dtmfQueue.length = 0;
    this.rtp.off('message', this.onRtpMessage);
    this.rtcp?.off('message', this.onRtcpMessage);
    const closeSockets = () => {
      for (const s of [this.rtp, this.rtcp]) {
        if (!s) continue;
        try {
          s.close();
        } catch {
          // already closed by its owner
        }
      }
    };
    let byeSent = false;
    try {
      byeSent = this.sendRtcpReport(true, closeSockets);
    } catch {
      byeSent = false;
    }
    if (!byeSent) setImmediate(closeSockets);
  }

  // ---------------------------------------------------------------- ticking

  /** Called by the pacer every 20 ms. */
  tick(now: number): void {
    if (this.closed) return;
    try {
      if (this.nextTickAt === undefined) this.nextTickAt = now;
      let burst = 0;
      while (now - this.nextTickAt > -TICK_MS / 2) {
        if (burst === MAX_BURST) {
          const missed = Math.ceil((now - this.nextTickAt + TICK_MS / 2) / TICK_MS);
          this.skipTicks(missed);
          break;
        }
        this.nextTickAt += TICK_MS;
        burst++;
        this.sendTick();
        if (this.closed) return;
        this.receiveTick();
        if (this.closed) return;
      }
      this.tracker.poll(now);
      this.checkInactivity(now);
      if (now >= this.nextRtcpAt) {
        this.nextRtcpAt = now + RTCP_INTERVAL_MS * (0.5 + Math.random());
        this.sendRtcpReport(false);
      }
    } catch (err) {
      this.problem('tick-error', `RTP tick failed: ${(err as Error)?.message ?? String(err)}`);
    }
  }

  private skipTicks(missed: number): void {
    this.nextTickAt = (this.nextTickAt ?? 0) + missed * TICK_MS;
    this.ts = (this.ts + missed * this.codecValue.timestampStep) >>> 0;
    this.markerNext = true;
    this.jitter.skip(missed);
    this.problem('pacing-stall', `event loop stalled: ${missed} RTP packet slots skipped`);
  }

  private sendTick(): void {
    const step = this.codecValue.timestampStep;
    if (!this.sends || this.rtpDestAddress === undefined) {
      this.ts = (this.ts + step) >>> 0; // time passes on the stream even when nothing is sent
      this.markerNext = true;
      return;
    }
    if (this.dtmfActive || this.dtmfQueue.length > 0) {
      this.sendDtmfTick();
    } else {
      this.queue.emitDueMarks();
      this.sendAudioTick();
      this.queue.emitDueMarks();
    }
    this.ts = (this.ts + step) >>> 0;
  }

  private nextSendSlot(): SendSlot {
    const slot = this.sendRing[this.sendNext];
    this.sendNext = (this.sendNext + 1) % SEND_RING;
    return slot;
  }

  private sendAudioTick(): void {
    this.queue.fill(this.pcmOut);
    const slot = this.nextSendSlot();
    this.encoder.encode(this.pcmOut, slot.payload);
    this.sendRtp(slot.buf, this.codecValue.payloadType, this.ts, this.codecValue.frameBytes);
  }

  private sendDtmfTick(): void {
    if (!this.dtmfActive) {
      const item = this.dtmfQueue.shift()!;
      this.dtmfActive = true;
      this.dtmfEvent = item.event;
      this.dtmfPackets = item.packets;
      this.dtmfPause = item.pauseTicks;
      this.dtmfSent = 0;
      this.dtmfEndRepeats = 0;
      this.dtmfStartTs = this.ts;
    }
    if (this.dtmfSent < this.dtmfPackets || this.dtmfEndRepeats < 3) {
      if (this.dtmfSent < this.dtmfPackets) this.dtmfSent++;
      const end = this.dtmfSent === this.dtmfPackets;
      if (end) this.dtmfEndRepeats++;
      const te = this.te;
      te.event = this.dtmfEvent;
      te.end = end;
      te.volume = DTMF_VOLUME;
      te.duration = Math.min(0xffff, this.dtmfSent * this.codecValue.timestampStep);
      const slot = this.nextSendSlot();
      writeTelephoneEvent(slot.buf, RTP_HEADER_LENGTH, te);
      if (this.dtmfSent === 1) this.markerNext = true;
      this.sendRtp(slot.buf, this.tePt!, this.dtmfStartTs, 4);
      if (this.dtmfEndRepeats === 3 && this.dtmfPause === 0) this.dtmfActive = false;
      return;
    }
    // The pause before the next digit: comfort silence.
    this.dtmfPause--;
    if (this.dtmfPause <= 0) this.dtmfActive = false;
    const slot = this.nextSendSlot();
    this.pcmOut.fill(0);
    this.encoder.encode(this.pcmOut, slot.payload);
    this.sendRtp(slot.buf, this.codecValue.payloadType, this.ts, this.codecValue.frameBytes);
  }

  private sendRtp(buf: Buffer, payloadType: number, timestamp: number, payloadLength: number): void {
    const h = this.sendHeader;
    h.marker = this.markerNext;
    h.payloadType = payloadType;
    h.sequence = this.seq;
    h.timestamp = timestamp;
    h.ssrc = this.ssrc;
    writeRtpHeader(buf, h);
    this.markerNext = false;
    this.seq = (this.seq + 1) & 0xffff;
    try {
      this.rtp.send(buf, 0, RTP_HEADER_LENGTH + payloadLength, this.rtpDestPort, this.rtpDestAddress);
      this.packetsSent++;
      this.octetsSent += payloadLength;
      this.sentSinceReport = true;
    } catch (err) {
      this.problem('send-failed', `RTP send failed: ${(err as Error).message}`);
    }
  }

  private receiveTick(): void {
    const jb = this.jitter;
    const r = jb.pull(this.payloadIn);
    if (r === PullResult.Idle && !this.mediaStarted) return;
    this.mediaStarted = true; // from now on one frame per tick, whatever happens to the stream (codec change included)
    const frame = this.frame;
    if (r === PullResult.Frame) {
      this.decoder.decode(this.payloadIn, frame);
      this.concealer.good(frame);
    } else if (r === PullResult.Missing) {
      this.concealed++;
      this.concealer.conceal(frame);
    } else {
      frame.fill(0);
      this.concealer.reset();
    }
    this.emit('audio', frame);
  }

  private checkInactivity(now: number): void {
    if (this.inactivityTimeoutMs <= 0 || this.timeoutFired || !this.expectsMedia) return;
    const since = this.lastReceivedAt !== undefined && this.lastReceivedAt > this.expectSince ? this.lastReceivedAt : this.expectSince;
    const silent = now - since;
    if (silent >= this.inactivityTimeoutMs) {
      this.timeoutFired = true;
      this.emit('timeout', silent);
    }
  }

  // ---------------------------------------------------------------- inbound

  private readonly onRtpMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    try {
      this.receive(msg, rinfo);
    } catch (err) {
      this.malformed++;
      this.problem('receive-error', `RTP packet handling failed: ${(err as Error)?.message ?? String(err)}`);
    }
  };

  private readonly onRtcpMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    try {
      if (this.closed) return;
      this.receiveRtcp(msg, rinfo, false);
    } catch (err) {
      this.malformed++;
      this.problem('receive-error', `RTCP packet handling failed: ${(err as Error)?.message ?? String(err)}`);
    }
  };

  private readonly onSocketError = (err: Error): void => {
    this.problem('socket-error', `RTP socket error: ${err.message}`);
  };

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.closed) return;
    if (isRtcp(msg)) {
      this.receiveRtcp(msg, rinfo, true);
      return;
    }
    const h = this.header;
    if (!parseRtpHeader(msg, h)) {
      this.malformed++;
      this.problem('malformed-rtp', 'malformed RTP packet ignored');
      return;
    }
    const now = this.clock.now();
    if (h.payloadType === this.codecValue.payloadType) {
      const jb = this.jitter;
      const wasActive = jb.active;
      const ssrcBefore = jb.currentSsrc;
      const r = jb.push(h, msg);
      if (r === PushResult.Probation) return; // a stray or the first packet of a new stream: not ours yet
      if (r === PushResult.Unusable) {
        this.malformed++;
        this.problem('unusable-rtp', 'RTP audio packet with an empty or oversized payload ignored');
        return;
      }
      if (!wasActive || jb.currentSsrc !== ssrcBefore) {
        if (wasActive) {
          this.decoder = this.codecValue.createDecoder(); // a new sender: its encoder started afresh
          this.tracker.reset();
        }
        this.recv.restart(jb.currentSsrc, h.sequence);
      }
      // Duplicates are left out of the loss statistics, so a duplicated packet does not hide a lost one.
      if (r !== PushResult.Duplicate) this.recv.onPacket(h.sequence, h.timestamp, now);
      this.noteMedia(rinfo, now);
      return;
    }
    if (this.tePt !== undefined && h.payloadType === this.tePt) {
      if (this.jitter.active && h.ssrc !== this.jitter.currentSsrc) {
        this.ignored++;
        return; // events of another stream than the one playing (or a stray)
      }
      if (!parseTelephoneEventInto(msg, h.payloadOffset, h.payloadLength, this.te)) {
        this.malformed++;
        this.problem('malformed-telephone-event', 'telephone-event packet shorter than 4 bytes ignored');
        return;
      }
      this.tracker.onPacket(h.timestamp, this.te.event, this.te.end, now);
      // Events share the audio's sequence numbers: counted as received, so a key press is not reported as loss.
      if (this.recv.hasSource && h.ssrc === this.recv.ssrc) this.recv.onPacket(h.sequence, undefined, now);
      this.noteMedia(rinfo, now);
      return;
    }
    this.ignored++;
    this.problem('unexpected-payload-type', 'RTP packet of a payload type not negotiated ignored (see the SDP answer)');
  }

  /** A packet of the stream arrived: activity, and symmetric RTP latching to its source. */
  private noteMedia(rinfo: dgram.RemoteInfo, now: number): void {
    this.packetsReceived++;
    this.lastReceivedAt = now;
    this.timeoutFired = false;
    if (this.latched && rinfo.address === this.rtpDestAddress && rinfo.port === this.rtpDestPort) return;
    this.latched = true;
    this.rtpDestAddress = rinfo.address;
    this.rtpDestPort = rinfo.port;
    const sdp = this.sdpRemote;
    if (sdp && (sdp.address !== rinfo.address || sdp.port !== rinfo.port) && !this.latchWarned) {
      this.latchWarned = true;
      this.problem('rtp-source-differs', `RTP arrives from ${rinfo.address}:${rinfo.port}, not the SDP's ${sdp.address}:${sdp.port}; sending there (symmetric RTP)`);
    }
  }

  private setDestination(remote: RtpRemote): void {
    this.sdpRemote = { ...remote };
    this.rtpDestAddress = remote.address;
    this.rtpDestPort = remote.port;
    this.latched = false;
    this.latchWarned = false;
    this.rtcpLatchedAddress = undefined;
  }

  // ---------------------------------------------------------------- RTCP

  private receiveRtcp(msg: Buffer, rinfo: dgram.RemoteInfo, muxed: boolean): void {
    const rtcp = parseRtcp(msg);
    if (!rtcp) {
      this.malformed++;
      this.problem('malformed-rtcp', 'malformed RTCP packet ignored');
      return;
    }
    if (!muxed) {
      this.rtcpLatchedAddress = rinfo.address;
      this.rtcpLatchedPort = rinfo.port;
    }
    const now = this.clock.now();
    if (rtcp.sender && this.recv.hasSource && rtcp.sender.ssrc === this.recv.ssrc) {
      this.recv.onSenderReport(rtcp.sender.ntpSeconds, rtcp.sender.ntpFraction, now);
    }
    for (const block of rtcp.reports) {
      if (block.ssrc !== this.ssrc) continue;
      const rtt = roundTripMs(block, now);
      if (rtt !== undefined) this.roundTrip = rtt;
      this.remoteFractionLost = block.fractionLost / 256;
      this.remoteJitterMs = (block.jitter * 1000) / 8000;
    }
  }

  /** Sends SR (or RR) + SDES (+ BYE); returns whether a packet went out (`done` is then called once it left). */
  private sendRtcpReport(bye: boolean, done?: () => void): boolean {
    const socket = this.rtcp ?? (this.rtcpMux ? this.rtp : undefined);
    if (!socket) return false;
    let address: string | undefined;
    let port: number;
    if (this.rtcp === undefined) {
      address = this.rtpDestAddress;
      port = this.rtpDestPort;
    } else if (this.rtcpLatchedAddress !== undefined) {
      address = this.rtcpLatchedAddress;
      port = this.rtcpLatchedPort;
    } else {
      // The SDP's RTCP port while RTP goes where the SDP says; next to the latched RTP port otherwise (until RTCP arrives).
      const sdp = this.sdpRemote;
      const atSdp = sdp !== undefined && sdp.address === this.rtpDestAddress && sdp.port === this.rtpDestPort;
      address = this.rtpDestAddress;
      port = atSdp && sdp.rtcpPort !== undefined ? sdp.rtcpPort : this.rtpDestPort + 1;
    }
    if (address === undefined || port <= 0) return false;

    const buf = this.rtcpBuf;
    const now = this.clock.now();
    const block = this.recv.hasSource ? this.recv.report(this.reportBlock, now) : undefined;
    let offset: number;
    // A sender report while we sent during the last two intervals (RFC 3550 section 6.4), else a receiver report.
    const asSender = this.sentSinceReport || this.sentInPreviousInterval;
    this.sentInPreviousInterval = this.sentSinceReport;
    this.sentSinceReport = false;
    if (asSender) {
      const ntp = ntpTime(now);
      const s = this.senderInfo;
      s.ntpSeconds = ntp.seconds;
      s.ntpFraction = ntp.fraction;
      s.rtpTimestamp = this.ts;
      s.packetCount = this.packetsSent >>> 0;
      s.octetCount = this.octetsSent >>> 0;
      offset = writeSenderReport(buf, 0, s, block);
    } else {
      offset = writeReceiverReport(buf, 0, this.ssrc, block);
    }
    offset = writeSdesCname(buf, offset, this.ssrc, this.cname);
    if (bye) offset = writeBye(buf, offset, this.ssrc);
    try {
      if (done) socket.send(buf, 0, offset, port, address, () => done());
      else socket.send(buf, 0, offset, port, address);
      return true;
    } catch (err) {
      this.problem('send-failed', `RTCP send failed: ${(err as Error).message}`);
      return false;
    }
  }

  // ---------------------------------------------------------------- helpers

  private makeJitterBuffer(codec: AudioCodec): JitterBuffer {
    if (codec.frameBytes !== codec.timestampStep) throw new Error(`codec ${codec.name}: the jitter buffer needs one payload byte per RTP clock unit`);
    return new JitterBuffer({ frameUnits: codec.timestampStep, targetFrames: this.jitterBufferFrames, silenceByte: silencePayload(codec)[codec.frameBytes - 1] });
  }

  private makeSendRing(frameBytes: number): SendSlot[] {
    const size = RTP_HEADER_LENGTH + Math.max(frameBytes, 4);
    const ring: SendSlot[] = [];
    for (let i = 0; i < SEND_RING; i++) {
      const buf = Buffer.alloc(size);
      ring.push({ buf, payload: buf.subarray(RTP_HEADER_LENGTH, RTP_HEADER_LENGTH + frameBytes) });
    }
    return ring;
  }

  private addJitterStats(): void {
    const jb = this.jitter.stats;
    this.jbStatsBefore.duplicates += jb.duplicates;
    this.jbStatsBefore.late += jb.late;
    this.jbStatsBefore.resyncs += jb.resyncs;
  }

  /** Logs through the rate-limited warnings and emits `warning` at most once per kind per 10 s. */
  private problem(kind: string, message: string): void {
    this.warnings.warn(kind, message);
    const now = this.clock.now();
    const last = this.warningEmittedAt.get(kind);
    if (last !== undefined && now - last < WARNING_EVENT_INTERVAL_MS) return;
    this.warningEmittedAt.set(kind, now);
    this.emit('warning', message);
  }
}
