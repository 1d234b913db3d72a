/**
 * A simulated SIP call's audio: Voxgate's own RtpSession (codec, jitter buffer, RFC 4733 events,
 * RTCP, symmetric RTP) wired to the virtual party. It runs on the simulator's shared 20 ms ticker, not
 * on a pacer of its own, so the party's voice frame and the packet that carries it leave on the same
 * tick, and a thousand calls still cost one timer.
 *
 * - Party -> Voxgate: every frame the party speaks is queued on the session, which sends one packet a
 *   tick (encoded silence when the party says nothing). Key presses go as RFC 4733 events when the SDP
 *   agreed on telephone-event (voice is muted while an event plays, as phones do), else the caller of
 *   `sendDigit` falls back to SIP INFO.
 * - Voxgate -> party: the session's 20 ms frames (out of its jitter buffer) are the party's ear. What
 *   the party hears is judged by the audio itself, since RTP carries silence too: frames quieter than
 *   SILENCE_PEAK do not count as heard audio (but are still recorded as heard).
 */
import type dgram from 'node:dgram';
import type { Logger } from '../../logger.js';
import type { Clock } from '../../runtime/clock.js';
import { codecByName } from '../../carriers/sip/rtp/rtp-codec.js';
import type { PacedSession, RtpPacer } from '../../carriers/rtp-media/rtp-pacer.js';
import { RtpSession, type RtpSessionStats } from '../../carriers/sip/rtp/rtp-session.js';
import type { CodecName, NegotiatedMedia } from '../../carriers/sip/sdp/sdp-negotiation.js';
import type { RealtimeTicker } from '../realtime-ticker.js';
import type { AnySimCall } from '../simulated-call.js';
import { FRAME_SAMPLES_8K } from '../simulated-call.js';
import { HEARD_RATE } from '../virtual-party.js';

/** Peak sample level (about -54 dBFS) at or below which a frame is silence: G.711 silence, A-law's +/-8 included. */
export const SILENCE_PEAK = 64;
/** Ticks one RFC 4733 key press takes with RtpSession's defaults: 5 packets for 100 ms, then the end packet twice more. */
const DTMF_TICKS_PER_DIGIT = 7;
const DTMF_DURATION_MS = 100;
/** Frames kept for the ear when the session delivers faster than the call plays (a catch-up burst): older ones are dropped. */
const EAR_FRAMES = 8;

/**
 * RtpSession takes an RtpPacer; this one registers the sessions on the simulator's ticker instead of a
 * timer of its own. (RtpSession only ever calls `add`.)
 */
export function tickerPacer(ticker: RealtimeTicker): RtpPacer {
  const pacer = {
    add: (session: PacedSession) => ticker.subscribe((now, due) => session.tick(now > due ? now : due)),
  };
  return pacer as unknown as RtpPacer;
}

export interface SipCallMediaOptions {
  call: AnySimCall;
  /** The bound RTP and RTCP sockets of the call's port pair (the session closes them). */
  rtp: dgram.Socket;
  rtcp: dgram.Socket;
  negotiated: NegotiatedMedia;
  pacer: RtpPacer;
  clock: Clock;
  logger: Logger;
}

/** A fixed ring of 20 ms frames between the session's tick and the call's: no allocation per frame. */
class EarRing {
  private readonly frames: Int16Array[] = Array.from({ length: EAR_FRAMES }, () => new Int16Array(FRAME_SAMPLES_8K));
  private head = 0;
  private count = 0;

  push(frame: Int16Array): void {
    if (frame.length !== FRAME_SAMPLES_8K) return;
    if (this.count === EAR_FRAMES) {
      this.head = (this.head + 1) % EAR_FRAMES;
      this.count--;
    }
    this.frames[(this.head + this.count) % EAR_FRAMES].set(frame);
    this.count++;
  }

  /** Copies the oldest frame into `out`; false (and silence) when none is waiting. */
  pull(out: Int16Array): boolean {
    if (this.count === 0) {
      out.fill(0);
      return false;
    }
    out.set(this.frames[this.head]);
    this.head = (this.head + 1) % EAR_FRAMES;
    this.count--;
    return true;
  }
}

/** 200 ms: within what desk phones and softphones buffer adaptively. */
const SIMULATED_PHONE_JITTER_FRAMES = 10;

export class SipCallMedia {
  readonly session: RtpSession;
  /** The call's RTP socket: listeners may watch packets arrive (the benchmarks time them). */
  readonly socket: dgram.Socket;
  codec: CodecName;
  /** Whether key presses go as RFC 4733 events (the SDP agreed on telephone-event). */
  telephoneEvents: boolean;
  private readonly ear = new EarRing();
  private readonly mouth = new Int16Array(FRAME_SAMPLES_8K);
  private readonly cleanups: (() => void)[] = [];
  /** Voice frames still to drop while key presses play. */
  private mutedTicks = 0;
  private finalStats: RtpSessionStats | undefined;

  constructor(private readonly options: SipCallMediaOptions) {
    const { call, negotiated } = options;
    const codec = codecByName(negotiated.codec);
    if (!codec || codec.sampleRate !== HEARD_RATE) throw new Error(`the simulator plays 8 kHz codecs only, got ${negotiated.codec}`);
    this.codec = negotiated.codec;
    this.telephoneEvents = negotiated.telephoneEventPayloadType !== undefined;
    this.socket = options.rtp;
    this.session = new RtpSession({
      rtp: options.rtp,
      rtcp: options.rtcp,
      codec: { ...codec, payloadType: negotiated.sendPayloadType ?? negotiated.payloadType },
      ...(negotiated.telephoneEventPayloadType !== undefined ? { telephoneEventPayloadType: negotiated.telephoneEventPayloadType } : {}),
      remote: negotiated.remote,
      clock: options.clock,
      logger: options.logger,
      pacer: options.pacer,
      // A phone's jitter buffer: deep enough that a loaded machine (the simulator shares it with the
      // gateway) delays what the party hears rather than dropping it as late.
      jitterBufferFrames: SIMULATED_PHONE_JITTER_FRAMES,
    });
    this.session.setDirection(negotiated.direction);
    const stats = call.env.stats;
    this.session.on('audio', (frame) => {
      stats.framesReceived++;
      this.ear.push(frame);
    });
    this.session.on('dtmf', (digit) => call.partyHearsDigits(digit, 'rtp-event'));
    this.session.on('warning', (message) => call.logger.debug({ rtp: message }, 'simulated RTP warning'));
    this.cleanups.push(
      call.addEarSource({
        label: 'rtp',
        pull: (out) => {
          if (!this.ear.pull(out)) return 0;
          let peak = 0;
          for (let i = 0; i < out.length; i++) {
            const v = out[i] < 0 ? -out[i] : out[i];
            if (v > peak) peak = v;
          }
          if (peak <= SILENCE_PEAK) return 0;
          stats.framesPlayed++;
          return out.length;
        },
      }),
      call.addFrameTap((frameIndex, dueAt, now) => this.onFrame(frameIndex, dueAt, now)),
    );
  }

  /** A new offer/answer in the dialog (re-INVITE, UPDATE): where to send, which way, and the codec. */
  renegotiated(media: NegotiatedMedia): void {
    if (this.finalStats) return;
    const codec = codecByName(media.codec);
    if (codec && codec.sampleRate === HEARD_RATE && media.codec !== this.codec) {
      this.session.setCodec({ ...codec, payloadType: media.sendPayloadType ?? media.payloadType }, media.telephoneEventPayloadType);
      this.codec = media.codec;
    }
    this.telephoneEvents = media.telephoneEventPayloadType !== undefined;
    this.session.setRemote(media.remote);
    this.session.setDirection(media.direction);
  }

  /** Sends a key as an RFC 4733 event; false when the SDP has no telephone-event (send it by SIP INFO then). */
  sendDigit(digit: string): boolean {
    if (!this.telephoneEvents || this.finalStats) return false;
    this.session.sendDtmf(digit, { durationMs: DTMF_DURATION_MS });
    this.mutedTicks += DTMF_TICKS_PER_DIGIT;
    return true;
  }

  get stats(): RtpSessionStats {
    return this.finalStats ?? this.session.stats;
  }

  /** Stops sending and receiving (RTCP BYE, sockets closed); returns the session's final counters. Idempotent. */
  close(): RtpSessionStats {
    if (this.finalStats) return this.finalStats;
    this.finalStats = this.session.stats;
    for (const c of this.cleanups) c();
    this.session.close();
    return this.finalStats;
  }

  private onFrame(frameIndex: number, dueAt: number, now: number): void {
    const stats = this.options.call.env.stats;
    stats.framesSent++;
    stats.frameLateness.record(now - dueAt);
    if (this.mutedTicks > 0) {
      this.mutedTicks--;
      return;
    }
    // Silence is the session's own (encoded zeros when nothing is queued); only speech is queued.
    if (this.options.call.party.speak(frameIndex, HEARD_RATE, this.mouth)) this.session.play(this.mouth.slice());
  }
}
