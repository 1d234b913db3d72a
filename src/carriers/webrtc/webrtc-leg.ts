/**
 * A browser call as a uniform CarrierLeg. Media in: each RTP packet of the browser's audio is decoded
 * (Opus at the leg's rate, or G.711) and cut into 20 ms `audio` frames as it arrives, in one reused
 * array; RFC 4733 telephone-events and the page's keypad (data channel) become `dtmf`. Media out:
 * play() queues PCM, and every 20 ms tick of the process's shared RtpPacer encodes one frame and sends
 * it over the peer connection's SRTP; marks fire once what was queued before them has been sent, and
 * clear() (barge-in) drops the queue. While nothing is queued nothing is sent (the RTP timestamp runs on
 * and the next packet carries the marker bit): the browser's jitter buffer plays silence, and an idle
 * call costs no Opus encoding.
 *
 * Call control: a page cannot be transferred to a number or sent DTMF tones, so those capabilities are
 * off and the session refuses such bot commands. hangup() asks the call to end (the page hears `ended`
 * on its data channel, then the peer connection closes).
 */
import { EventEmitter } from 'node:events';
import { RtpHeader, RtpPacket } from 'werift';
import type { Logger } from '../../logger.js';
import type { Clock } from '../../runtime/clock.js';
import { RateLimitedWarnings } from '../../runtime/rate-limited-warnings.js';
import type { CallEnd, CarrierLeg, LegCapabilities, LegEventMap, LegHangup, LegSampleRate, TransferRequest } from '../leg.js';
import { FrameAssembler } from '../../media/frame-assembler.js';
import { samplesPerFrame } from '../../media/audio.js';
import { PlayoutQueue } from '../rtp-media/playout-queue.js';
import { TICK_MS, type PacedSession, type RtpPacer } from '../rtp-media/rtp-pacer.js';
import { parseTelephoneEventInto, TelephoneEventTracker, type TelephoneEvent } from '../rtp-media/telephone-event.js';
import type { LegCodec } from './leg-codecs.js';

/** Packets sent back to back at most when catching up after an event-loop stall; later slots are skipped. */
const MAX_BURST = 5;
/** A packet this far behind the newest one (in sequence numbers) is late: its audio was already due. */
const LATE_WINDOW = 1000;

export interface WebRtcLegOptions {
  callId: string;
  carrier: string;
  codec: LegCodec;
  /** The telephone-event payload types the browser offered (it may send keys on any of them); empty or absent: no RFC 4733. */
  telephoneEventPayloadTypes?: readonly number[];
  /** Where our RTP goes (the audio transceiver's sender); absent in tests of the media path alone. */
  send: (packet: RtpPacket) => void;
  pacer: RtpPacer;
  clock: Clock;
  logger: Logger;
  /** The bot hangs up: the call ends with this cause on the gateway's side. */
  requestEnd: (end: CallEnd) => void;
}

export class WebRtcLeg extends EventEmitter<LegEventMap> implements CarrierLeg, PacedSession {
  readonly callId: string;
  readonly carrier: string;
  readonly sampleRate: LegSampleRate;
  readonly capabilities: LegCapabilities = { transfer: false, bridgeTransfer: false, sendDtmf: false, sendMetadata: false, record: false };
  private readonly codec: LegCodec;
  private readonly warnings: RateLimitedWarnings;
  private readonly queue = new PlayoutQueue((name) => this.emit('mark', name));
  private readonly frames: FrameAssembler;
  private readonly tracker: TelephoneEventTracker;
  private readonly te: TelephoneEvent = { event: 0, end: false, volume: 0, duration: 0 };
  private readonly unregister: () => void;
  /** The outbound frame and the packet sent with it, reused every tick (werift encrypts synchronously). */
  private readonly pcmOut: Int16Array;
  private readonly header = new RtpHeader({ sequenceNumber: 0, timestamp: 0, payloadType: 0, marker: true });
  private readonly packet = new RtpPacket(this.header, Buffer.alloc(0));
  /**
   * Random starts (RFC 3550), the timestamp's below 2^29: V8 keeps integers under 2^30 unboxed, where
   * a larger timestamp would be a new heap number on every tick (2^29 leaves hours of headroom).
   */
  private seq = Math.floor(Math.random() * 65536);
  private ts = Math.floor(Math.random() * 2 ** 29);
  private markerNext = true;
  private nextTickAt: number | undefined;
  private lastSeq = -1;
  private ended = false;
  private stats = { packetsReceived: 0, packetsSent: 0, late: 0, undecodable: 0 };

  constructor(private readonly options: WebRtcLegOptions) {
    super();
    this.callId = options.callId;
    this.carrier = options.carrier;
    this.codec = options.codec;
    this.sampleRate = options.codec.sampleRate;
    this.warnings = new RateLimitedWarnings(options.logger, options.clock);
    this.pcmOut = new Int16Array(samplesPerFrame(this.sampleRate));
    this.frames = new FrameAssembler(this.sampleRate, (frame) => this.emit('audio', frame));
    this.tracker = new TelephoneEventTracker((digit) => this.emit('dtmf', digit));
    this.unregister = options.pacer.add(this);
  }

  // ---------------------------------------------------------------- media in

  /** One RTP packet of the browser's audio track (audio or telephone-event). */
  receiveRtp(packet: RtpPacket): void {
    if (this.ended) return;
    const h = packet.header;
    if (this.isLate(h.sequenceNumber)) {
      this.stats.late++;
      return;
    }
    this.stats.packetsReceived++;
    if (this.options.telephoneEventPayloadTypes?.includes(h.payloadType)) {
      if (!parseTelephoneEventInto(packet.payload, 0, packet.payload.length, this.te)) {
        this.warn('short-telephone-event', 'a telephone-event packet shorter than 4 bytes was ignored');
        return;
      }
      this.tracker.onPacket(h.timestamp, this.te.event, this.te.end, this.options.clock.now());
      return;
    }
    let count: number;
    try {
      count = this.codec.decode(packet.payload);
    } catch (err) {
      this.stats.undecodable++;
      this.warn('undecodable', `an ${this.codec.name} packet could not be decoded: ${(err as Error).message}`);
      return;
    }
    this.frames.push(this.codec.decoded, count);
  }

  /** A key from the page's keypad (data channel): the same as a key sent by RFC 4733. */
  pressFromPage(digit: string): void {
    if (!this.ended) this.emit('dtmf', digit);
  }

  /** Duplicates and packets older than the newest are dropped: their 20 ms have passed. */
  private isLate(sequence: number): boolean {
    if (this.lastSeq < 0) {
      this.lastSeq = sequence;
      return false;
    }
    const ahead = (sequence - this.lastSeq + 65536) % 65536;
    if (ahead === 0 || ahead > 65536 - LATE_WINDOW) return true;
    this.lastSeq = sequence;
    return false;
  }

  // ---------------------------------------------------------------- media out

  play(samples: Int16Array): void {
    if (!this.ended) this.queue.play(samples);
  }

  mark(name: string): void {
    if (!this.ended) this.queue.mark(name);
  }

  /** Barge-in: queued audio is dropped; its marks fire at once, then `cleared` (in a microtask, never inside this call). */
  clear(): void {
    if (this.ended) return;
    const marks = this.queue.clear();
    queueMicrotask(() => {
      if (this.ended) return;
      for (const m of marks) this.emit('mark', m);
      this.emit('cleared');
    });
  }

  /** Called by the pacer every 20 ms: one packet per elapsed slot (a burst of at most MAX_BURST after a stall). */
  tick(now: number): void {
    if (this.ended) return;
    if (this.nextTickAt === undefined) this.nextTickAt = now;
    let burst = 0;
    while (now - this.nextTickAt > -TICK_MS / 2) {
      if (burst === MAX_BURST) {
        const missed = Math.ceil((now - this.nextTickAt + TICK_MS / 2) / TICK_MS);
        this.nextTickAt += missed * TICK_MS;
        this.ts = (this.ts + missed * this.codec.timestampStep) >>> 0;
        this.markerNext = true;
        break;
      }
      this.nextTickAt += TICK_MS;
      burst++;
      this.sendSlot();
      if (this.ended) return;
    }
    this.tracker.poll(now);
  }

  private sendSlot(): void {
    this.queue.emitDueMarks();
    if (!this.queue.isEmpty) {
      this.queue.fill(this.pcmOut);
      this.sendFrame(this.pcmOut);
      this.queue.emitDueMarks();
    } else {
      this.markerNext = true; // a talkspurt starts with the next packet
    }
    this.ts = (this.ts + this.codec.timestampStep) >>> 0;
  }

  private sendFrame(pcm: Int16Array): void {
    let payload: Buffer;
    try {
      payload = this.codec.encode(pcm);
    } catch (err) {
      this.warn('encode-failed', `${this.codec.name} encoding failed: ${(err as Error).message}`);
      return;
    }
    const h = this.header;
    h.sequenceNumber = this.seq;
    h.timestamp = this.ts;
    h.marker = this.markerNext;
    this.packet.payload = payload;
    this.markerNext = false;
    this.seq = (this.seq + 1) & 0xffff;
    this.stats.packetsSent++;
    this.options.send(this.packet);
  }

  // ---------------------------------------------------------------- call control

  sendDtmf(): void {
    throw new Error('a browser call cannot be sent DTMF tones');
  }

  transfer(request: TransferRequest): Promise<void> {
    return Promise.reject(new Error(`a browser call cannot be transferred (to ${request.target}): the caller is a web page, not a phone line`));
  }

  async hangup(reason: string): Promise<void> {
    if (!this.ended) this.options.requestEnd({ cause: reason, side: 'gateway' });
  }

  endFromCarrier(end: CallEnd): void {
    this.finish({ cause: end.cause, side: end.side });
  }

  get active(): boolean {
    return !this.ended;
  }

  get mediaStats(): Readonly<WebRtcLeg['stats']> {
    return this.stats;
  }

  private finish(end: LegHangup): void {
    if (this.ended) return;
    this.ended = true;
    this.unregister();
    this.queue.reset();
    this.codec.close();
    this.emit('hangup', end);
  }

  /** Logged at most once per kind per 10 s (a broken stream must not flood the log); `warning` each time. */
  private warn(kind: string, message: string): void {
    this.warnings.warn(kind, message);
    this.emit('warning', message);
  }
}
