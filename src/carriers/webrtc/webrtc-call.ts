/**
 * One browser call: its peer connection (ICE, DTLS-SRTP, the page's data channel), its leg once the
 * media connects, and its end, which happens exactly once whoever ends it (the page's DELETE or
 * `hangup` message, the bot, the peer connection failing or closing, ICE never connecting, shutdown):
 * the registry hears of it, the leg ends, the caller's slot is released, the page gets `ended`, then
 * the peer connection closes.
 */
import { randomBytes } from 'node:crypto';
import { RTCPeerConnection, RTCRtpCodecParameters, type MediaStreamTrack, type RTCIceServer, type RtpPacket, type RTCRtpTransceiver } from 'werift';
import type { Logger } from '../../logger.js';
import type { Clock, TimerHandle } from '../../runtime/clock.js';
import type { CallEventFeed, WebCaller } from '../carrier.js';
import type { CallEnd, CallHandler, CallInfo } from '../leg.js';
import type { RtpPacer } from '../rtp-media/rtp-pacer.js';
import { createLegCodec } from './leg-codecs.js';
import { PageChannel } from './page-channel.js';
import type { OfferedAudio } from './sdp-offer.js';
import type { WebRtcConfig } from './webrtc-config.js';
import { WebRtcLeg } from './webrtc-leg.js';

/** How long the peer connection stays up after `ended` was sent, so the page's data channel delivers it. */
const ENDED_LINGER_MS = 250;
/** How long the data channel's closing handshake may take before the peer connection closes anyway. */
const CHANNEL_CLOSE_BOUND_MS = 1000;
/** How long to wait for the call's `ended` event before closing the peer connection anyway. */
const ENDED_WAIT_MS = 2000;

/** What the peer connection is built from: the carrier's ICE settings. */
export interface PeerSettings {
  iceServers: RTCIceServer[];
  config: Pick<WebRtcConfig, 'publicAddress' | 'interfaceAddress' | 'portRange'>;
}

/** A new 128-bit session id (the WHIP resource name), base64url. */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

function codecParameters(offer: OfferedAudio): RTCRtpCodecParameters[] {
  const audio =
    offer.codec === 'opus'
      ? new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: offer.payloadType })
      : new RTCRtpCodecParameters({ mimeType: `audio/${offer.codec}`, clockRate: 8000, channels: 1, payloadType: offer.payloadType });
  const te = offer.telephoneEventPayloadType;
  return te === undefined ? [audio] : [audio, new RTCRtpCodecParameters({ mimeType: 'audio/telephone-event', clockRate: audio.clockRate, channels: 1, payloadType: te })];
}

/** The peer connection for one offer: only the codec chosen (and RFC 4733), host candidates as configured. */
export function createPeer(offer: OfferedAudio, settings: PeerSettings): RTCPeerConnection {
  const { publicAddress, interfaceAddress, portRange } = settings.config;
  const extraHosts = [interfaceAddress, publicAddress].filter((a): a is string => a !== undefined);
  return new RTCPeerConnection({
    codecs: { audio: codecParameters(offer) },
    // No header extensions: an audio call needs none, and each one costs bytes in every packet.
    headerExtensions: { audio: [] },
    iceServers: settings.iceServers,
    ...(portRange ? { icePortRange: portRange } : {}),
    // With an interface address, only it (and the public address) are gathered; otherwise every interface.
    ...(interfaceAddress ? { iceInterfaceAddresses: { udp4: interfaceAddress }, iceUseIpv4: false, iceUseIpv6: false } : {}),
    ...(extraHosts.length > 0 ? { iceAdditionalHostAddresses: extraHosts } : {}),
  });
}

/** Applies the offer and answers it once every local candidate is gathered (non-trickle: the answer has them all). */
export async function answerOffer(pc: RTCPeerConnection, sdp: string): Promise<string> {
  await pc.setRemoteDescription({ type: 'offer', sdp });
  for (const t of pc.getTransceivers()) if (t.kind === 'audio') t.setDirection('sendrecv');
  await pc.setLocalDescription(await pc.createAnswer());
  if (pc.iceGatheringState !== 'complete') await pc.iceGatheringStateChange.watch((state) => state === 'complete');
  const answer = pc.localDescription?.sdp;
  if (!answer) throw new Error('the WebRTC stack produced no answer');
  return answer;
}

export interface WebRtcCallOptions {
  sessionId: string;
  info: CallInfo;
  offer: OfferedAudio;
  pc: RTCPeerConnection;
  caller: WebCaller;
  /** SHA-256 of the POST's Authorization: a DELETE must carry the same credential. */
  credentialHash: Buffer;
  handler: CallHandler;
  callEvents?: CallEventFeed;
  opusSampleRate: WebRtcConfig['sampleRate'];
  connectTimeoutMs: number;
  pacer: RtpPacer;
  clock: Clock;
  logger: Logger;
  /** The call ended: it no longer counts as live (its connection may still be closing). */
  onEnded: () => void;
  /** Its peer connection closed. */
  onClosed: () => void;
}

/** What the signalling route knows of a call when it hands it over. */
export type NewCallInput = Pick<WebRtcCallOptions, 'sessionId' | 'info' | 'offer' | 'pc' | 'caller' | 'credentialHash'>;

export class WebRtcCall {
  readonly sessionId: string;
  readonly info: CallInfo;
  readonly credentialHash: Buffer;
  private readonly pc: RTCPeerConnection;
  private readonly log: Logger;
  private readonly page: PageChannel;
  private readonly audio?: RTCRtpTransceiver;
  private leg?: WebRtcLeg;
  private started = false;
  private ended = false;
  private closing?: Promise<void>;
  private connectTimer?: TimerHandle;
  private closeTimer?: TimerHandle;
  private unfollow?: () => void;

  constructor(private readonly options: WebRtcCallOptions) {
    this.sessionId = options.sessionId;
    this.info = options.info;
    this.credentialHash = options.credentialHash;
    this.pc = options.pc;
    this.log = options.logger;
    this.page = new PageChannel(
      {
        dtmf: (digit) => this.leg?.pressFromPage(digit),
        hangup: () => this.end({ cause: 'Caller hung up (page)', side: 'caller' }),
        left: () => this.end({ cause: 'Browser closed the connection', side: 'caller' }),
      },
      this.log,
    );
    this.audio = this.pc.getTransceivers().find((t) => t.kind === 'audio');
    this.unfollow = options.callEvents?.follow(options.info.callId, (event) => {
      this.page.send(event);
      if (event.type === 'ended') this.closeSoon(ENDED_LINGER_MS);
    });
  }

  /**
   * The registry took the call: from now on the call owns the caller's slot, and follows the
   * connection (the leg starts once ICE and DTLS are up).
   */
  start(): void {
    this.started = true;
    this.pc.onDataChannel.subscribe((channel) => this.page.attach(channel));
    // The remote track usually exists already (setRemoteDescription made it); a later one is followed too.
    const follow = (track: MediaStreamTrack) => track.onReceiveRtp.subscribe((packet: RtpPacket) => this.leg?.receiveRtp(packet));
    this.audio?.receiver.tracks.forEach(follow);
    this.audio?.onTrack.subscribe(follow);
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') this.connected();
      else if (state === 'failed') this.end({ cause: 'Browser connection lost (ICE/DTLS failed)', side: 'caller' });
      else if (state === 'closed') this.end({ cause: 'Browser closed the connection', side: 'caller' });
    });
    this.connectTimer = this.options.clock.setTimeout(() => {
      const seconds = Math.round(this.options.connectTimeoutMs / 1000);
      this.log.warn({ sessionId: this.sessionId }, `browser call never connected its media within ${seconds} s`);
      this.end({ cause: `Media never connected: ICE/DTLS did not complete within ${seconds} s (the browser could not reach the gateway; check publicAddress, portRange and TURN)`, side: 'gateway' });
    }, this.options.connectTimeoutMs);
    if (this.pc.connectionState === 'connected') this.connected();
  }

  /**
   * Ends the call once: the registry first (the record's cause and side), then the leg, the caller's
   * slot, and the peer connection once the page was told.
   */
  end(end: CallEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.connectTimer?.cancel();
    this.log.info({ sessionId: this.sessionId, cause: end.cause, side: end.side, media: this.leg?.mediaStats }, 'browser call ended');
    this.options.onEnded();
    if (this.started) {
      this.options.handler.callEnded(this.info.callId, end);
      this.options.caller.release();
    }
    this.leg?.endFromCarrier(end);
    // The page hears `ended` from the call's events (then the peer closes); without them, or when they never come, close anyway.
    if (!this.closeTimer) this.closeSoon(this.options.callEvents && this.page.isOpen ? ENDED_WAIT_MS : 0);
  }

  private connected(): void {
    if (this.leg || this.ended) return;
    this.connectTimer?.cancel();
    const sender = this.audio?.sender;
    const leg = new WebRtcLeg({
      callId: this.info.callId,
      carrier: this.info.carrier,
      codec: createLegCodec(this.options.offer.codec, this.options.opusSampleRate),
      telephoneEventPayloadTypes: this.options.offer.telephoneEventPayloadTypes,
      send: (packet) => void sender?.sendRtp(packet).catch((err: unknown) => this.log.debug({ err }, 'RTP not sent')),
      pacer: this.options.pacer,
      clock: this.options.clock,
      logger: this.log,
      requestEnd: (end) => this.end(end),
    });
    this.leg = leg;
    this.log.info({ sessionId: this.sessionId, codec: this.options.offer.codec, sampleRate: leg.sampleRate }, 'browser call media connected');
    this.options.handler.legStarted(this.info, leg);
  }

  private closeSoon(delayMs: number): void {
    if (this.closing) return;
    this.closeTimer?.cancel();
    this.closeTimer = this.options.clock.setTimeout(() => void this.close(), delayMs);
  }

  /** Closes the peer connection and forgets the call; resolves once the connection closed. */
  private close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closeTimer?.cancel();
    this.unfollow?.();
    if (!this.ended) this.end({ cause: 'Gateway closed the connection', side: 'gateway' });
    // The data channel first: its close reaches the page at once, where the peer connection's end may only show when ICE consent lapses.
    this.closing = this.page
      .close(CHANNEL_CLOSE_BOUND_MS)
      .then(() => this.pc.close())
      .catch((err: unknown) => this.log.debug({ err }, 'peer connection close failed'))
      .finally(() => this.options.onClosed());
    return this.closing;
  }

  /** The registry refused the call before it started: nothing to end, only the peer connection to close. */
  abandon(): void {
    this.ended = true;
    void this.close();
  }

  /** Shutdown: end the call and close at once; resolves once the connection closed. */
  shutdown(): Promise<void> {
    this.end({ cause: 'Gateway Shutdown', side: 'gateway' });
    return this.close();
  }
}
