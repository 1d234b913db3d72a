/**
 * SIP as a carrier module: Voxgate listens for INVITEs from trunks, SBCs and PBXs and answers them with
 * RTP media of its own, and places calls through a trunk. Nothing here is HTTP: `registerRoutes` starts
 * the SIP transports beside the web server and stops them when it closes.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { Carrier, CarrierContext, CarrierModule, PlaceCallRequest } from '../carrier.js';
import { NoRouteError, type CallHandler, type CallInfo, type OutboundFailure } from '../leg.js';
import type { OutboundReasonCode } from '../../events/outbound-events.js';
import { resolveSecret } from '../../runtime/secrets.js';
import type { SipRequest } from './message/sip-message.js';
import { SipTransport, type SipEndpoint } from './transport/sip-transport.js';
import type { ServerTransaction } from './transaction/transactions.js';
import { SipUserAgent } from './sip-user-agent.js';
import { InboundAccess, type InboundTrunk } from './inbound-access.js';
import { SipCall, partyOf, type SipCallEnd } from './call/sip-call.js';
import { sessionIntervalTooSmall, MIN_SESSION_EXPIRES } from './call/session-timer.js';
import { SipLeg } from './sip-leg.js';
import { RtpPacer } from './rtp/rtp-session.js';
import { RtpSession } from './rtp/rtp-session.js';
import { RtpPortPool } from './rtp/rtp-port-pool.js';
import { codecByName } from './rtp/rtp-codec.js';
import { LocalSdpSession, SdpNegotiationError, type NegotiatedMedia } from './sdp/sdp-negotiation.js';
import type { Socket } from 'node:dgram';
import { sipConfigSchema, type SipConfig } from './sip-config.js';
import { sipOutboundReason, SipOutboundDialer } from './outbound/sip-outbound.js';

export const SIP = 'sip';

/** One call's RTP sockets and its side of the SDP. */
export interface SipMedia {
  port: number;
  rtp: Socket;
  rtcp: Socket;
  sdp: LocalSdpSession;
}

/** The address peers reach us at: configured, else the bind address, else this host's first external IPv4. */
export function advertisedAddressOf(config: SipConfig): string {
  if (config.externalAddress) return config.externalAddress;
  if (config.address !== '0.0.0.0' && config.address !== '::') return config.address;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** The INVITE headers the configuration passes on to the bot ("X-*" matches every X- header). */
export function headersForBot(invite: SipRequest, patterns: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const matches = (lower: string) => patterns.some((p) => (p.endsWith('*') ? lower.startsWith(p.slice(0, -1).toLowerCase()) : lower === p.toLowerCase()));
  for (const [name, value] of invite.headers.entries()) {
    if (!matches(name.toLowerCase())) continue;
    const before = out[name];
    out[name] = before === undefined ? value : `${before}, ${value}`;
  }
  return out;
}

export class SipCarrier implements Carrier {
  /** RTP inactivity and RFC 4028 session timers end a SIP call that went quiet, with a cause saying which. */
  readonly endsSilentCalls = true;
  readonly name = SIP;
  readonly prefix = '/sip';
  readonly transport: SipTransport;
  readonly ua: SipUserAgent;
  private readonly ports: RtpPortPool;
  private readonly pacer: RtpPacer;
  private readonly outbound: SipOutboundDialer;
  private handler?: CallHandler;
  private readonly advertised: string;
  private readonly legs = new Set<SipLeg>();

  constructor(
    private readonly config: SipConfig,
    private readonly context: CarrierContext,
  ) {
    this.advertised = advertisedAddressOf(config);
    this.transport = new SipTransport({
      address: config.address,
      port: config.port,
      transports: config.transports,
      ...(config.tls ? { tls: { port: config.tls.port, cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) } } : {}),
      advertisedAddress: this.advertised,
      logger: context.logger.child({ carrier: SIP }),
      clock: context.clock,
    });
    const inboundTrunks: InboundTrunk[] = config.trunks.flatMap((trunk) =>
      trunk.inbound
        ? [
            {
              name: trunk.name,
              from: trunk.inbound.from,
              ...(trunk.inbound.auth ? { auth: { username: trunk.inbound.auth.username, password: resolveSecret(trunk.inbound.auth.password, `carriers.sip.trunks.${trunk.name}.inbound.auth.password`, process.env)! } } : {}),
            },
          ]
        : [],
    );
    const nonceSecret = resolveSecret(config.digest.nonceSecret, 'carriers.sip.digest.nonceSecret', process.env);
    const access = new InboundAccess({
      trunks: inboundTrunks,
      realm: config.digest.realm ?? this.advertised,
      ...(nonceSecret ? { nonceSecret: Buffer.from(nonceSecret, 'utf8') } : {}),
      invitesPerSecond: config.invitesPerSecond,
      burst: config.inviteBurst,
      now: () => context.clock.now(),
    });
    this.ua = new SipUserAgent({
      transport: this.transport,
      clock: context.clock,
      logger: context.logger.child({ carrier: SIP }),
      access,
      onInvite: (invite, source, transaction, trunk) => void this.incoming(invite, source, transaction, trunk),
    });
    this.ports = new RtpPortPool({ address: config.address, minPort: config.rtp.minPort, maxPort: config.rtp.maxPort });
    this.pacer = new RtpPacer(context.clock);
    this.outbound = new SipOutboundDialer({ carrier: this, config, context });
  }

  async registerRoutes(app: Parameters<Carrier['registerRoutes']>[0], handler: CallHandler): Promise<void> {
    this.handler = handler;
    await this.transport.listen();
    app.addHook('onClose', async () => this.close());
    this.context.logger.info({ carrier: SIP, sip: this.webhookUrls().SIP }, 'SIP listening');
    await this.outbound.start(handler);
  }

  placeCall(request: PlaceCallRequest): Promise<{ carrierRequestId: string }> {
    return this.outbound.placeCall(request);
  }

  cannotPlace(request: Pick<PlaceCallRequest, 'machineDetection'>): string | undefined {
    return request.machineDetection ? 'machineDetection: answering-machine detection is not available on SIP calls; leave it out' : undefined;
  }

  outboundReason(failure: OutboundFailure): OutboundReasonCode {
    return sipOutboundReason(failure);
  }

  webhookUrls(): Record<string, string> {
    const transports = this.config.transports.map((t) => `sip:${this.transport.hostPort(t)};transport=${t}`);
    return { SIP: transports[0], ...(transports[1] ? { 'SIP (TCP)': transports[1] } : {}) };
  }

  /** Our Contact URI on `transport`. */
  contact(transport: SipEndpoint['transport']): string {
    return `sip:voxgate@${this.transport.hostPort(transport)}${transport === 'udp' ? '' : `;transport=${transport}`}`;
  }

  /** Binds an RTP port pair and builds the session's SDP side; the caller releases the port on failure. */
  async allocateMedia(): Promise<SipMedia> {
    const allocated = await this.ports.allocate();
    return { ...allocated, sdp: new LocalSdpSession(this.advertised, allocated.port) };
  }

  /** Gives back media no RTP session took over (a refused, cancelled or unanswered call): its sockets close, its port is free again. */
  discardMedia(media: SipMedia): void {
    for (const socket of [media.rtp, media.rtcp]) {
      try {
        socket.close();
      } catch {
        // already closed
      }
    }
    this.ports.release(media.port);
  }

  /** The RTP session of one call's negotiated media, on the sockets allocated for it. */
  createRtpSession(media: SipMedia, negotiated: NegotiatedMedia, logger: CarrierContext['logger']): RtpSession {
    const codec = codecByName(negotiated.codec)!;
    const rtp = new RtpSession({
      rtp: media.rtp,
      rtcp: media.rtcp,
      codec: { ...codec, payloadType: negotiated.sendPayloadType ?? negotiated.payloadType },
      ...(negotiated.telephoneEventPayloadType !== undefined ? { telephoneEventPayloadType: negotiated.sendTelephoneEventPayloadType ?? negotiated.telephoneEventPayloadType } : {}),
      remote: negotiated.remote,
      clock: this.context.clock,
      logger,
      pacer: this.pacer,
      inactivityTimeoutMs: this.config.rtp.timeoutSec * 1000,
      jitterBufferFrames: this.config.rtp.jitterBufferFrames,
    });
    rtp.setDirection(negotiated.direction);
    return rtp;
  }

  /** The leg for an answered call (either direction), with its RTP session on the given sockets. */
  createLeg(input: { info: CallInfo; call: SipCall; media: SipMedia; negotiated: NegotiatedMedia }): SipLeg {
    const { info, media, negotiated } = input;
    const logger = this.context.logger.child({ callId: info.callId, carrier: SIP, sipCallId: info.carrierCallId });
    const leg = new SipLeg({
      callId: info.callId,
      carrier: SIP,
      call: input.call,
      rtp: this.createRtpSession(media, negotiated, logger),
      sdp: media.sdp,
      media: negotiated,
      codecs: this.config.codecs,
      logger,
      onClosed: () => {
        this.legs.delete(leg);
        this.ports.release(media.port);
      },
      dialTarget: async (target, headers) => {
        const bridged = await this.outbound.dialForBridge({ to: target, from: info.from || 'voxgate', headers: Object.entries(headers), ringTimeoutMs: this.config.transferRingTimeoutSec * 1000, logger });
        return { call: bridged.call, rtp: this.createRtpSession(bridged.media, bridged.negotiated, logger.child({ bridgedTo: target })), release: () => this.ports.release(bridged.media.port) };
      },
    });
    this.legs.add(leg);
    return leg;
  }

  get callOptions() {
    return {
      ua: this.ua,
      clock: this.context.clock,
      sessionExpiresSec: this.config.sessionExpiresSec,
      referTimeoutMs: this.config.referTimeoutSec * 1000,
    };
  }

  async close(): Promise<void> {
    await this.outbound.stop();
    await Promise.all([...this.legs].map((leg) => leg.hangup('gateway-shutdown').catch(() => undefined)));
    this.ua.transactions.close();
    await this.transport.close();
  }

  /** An INVITE a trunk admitted: check what can be checked before a record exists, then offer the call to the application. */
  private async incoming(invite: SipRequest, source: SipEndpoint, transaction: ServerTransaction, trunk: string): Promise<void> {
    const handler = this.handler;
    const sipCallId = invite.headers.get('call-id') ?? '';
    const logger = this.context.logger.child({ carrier: SIP, sipCallId });
    const call = new SipCall({ ...this.callOptions, logger, contact: this.contact(source.transport) }, { transaction });
    if (!handler) {
      call.reject(503, 'Service Unavailable (starting)');
      return;
    }
    if (sessionIntervalTooSmall(invite)) {
      call.reject(422, 'Session Interval Too Small', [['Min-SE', String(MIN_SESSION_EXPIRES)]]);
      return;
    }
    const contentType = (invite.headers.get('content-type') ?? 'application/sdp').split(';')[0].trim().toLowerCase();
    if (invite.body.length > 0 && contentType !== 'application/sdp') {
      call.reject(415, 'Unsupported Media Type', [['Accept', 'application/sdp']]);
      return;
    }

    const caller = partyOf(invite.headers.get('from'));
    const called = partyOf(invite.uri.startsWith('sip') || invite.uri.startsWith('tel') ? `<${invite.uri}>` : invite.headers.get('to'));
    const to = called.user || partyOf(invite.headers.get('to')).user;
    const offered: CallInfo = {
      callId: randomUUID(),
      carrier: SIP,
      carrierCallId: sipCallId,
      direction: 'inbound',
      from: caller.user,
      to,
      ...(caller.displayName ? { callerDisplayName: caller.displayName } : {}),
      extra: { ...headersForBot(invite, this.config.headersToBot), 'X-Voxgate-Trunk': trunk },
    };
    // A CANCEL (or the caller giving up) can land during any await below: from here on, `ended` says so.
    let ended: SipCallEnd | undefined;
    let registered = false;
    let answering = false;
    let media: SipMedia | undefined;
    call.once('ended', (end) => {
      if (answering) return;
      ended = end;
      if (media) this.discardMedia(media);
      // The registry took the call when callAnswered was called: it hears at once that the caller is gone.
      if (registered) handler.callEnded(offered.callId, { cause: end.cause, side: end.side });
    });

    try {
      media = await this.allocateMedia();
    } catch (err) {
      logger.error({ err }, 'no RTP port for an incoming SIP call');
      call.reject(503, 'Service Unavailable (no media ports)');
      return;
    }
    if (ended) {
      this.discardMedia(media);
      return;
    }
    let answerSdp: string;
    let negotiated: NegotiatedMedia;
    try {
      if (invite.body.length === 0) throw new SdpNegotiationError(488, 'INVITE without an SDP offer (delayed offer) is not supported');
      ({ answerSdp, media: negotiated } = media.sdp.answer(invite.body.toString('utf8'), { codecs: this.config.codecs }));
    } catch (err) {
      const status = err instanceof SdpNegotiationError ? err.status : 400;
      logger.info({ status, reason: (err as Error).message }, 'SIP INVITE refused: its SDP offer cannot be answered');
      // Warning 305 "Incompatible media format" (RFC 3261 20.43) names what the offer lacked.
      call.reject(status, status === 488 ? 'Not Acceptable Here' : 'Bad Request', [['Warning', `${status === 488 ? 305 : 399} voxgate "${(err as Error).message.replace(/["\r\n]/g, ' ').slice(0, 150)}"`]]);
      return;
    }

    call.progress(180);
    registered = true; // callAnswered registers the call before its first await
    try {
      await handler.callAnswered(offered);
    } catch (err) {
      registered = false;
      if (ended) return;
      const noRoute = err instanceof NoRouteError;
      logger.info({ callId: offered.callId, to, err: noRoute ? undefined : err }, noRoute ? `SIP call to ${to} refused: ${(err as Error).message}` : 'SIP call refused: the gateway could not start it');
      call.reject(noRoute ? 404 : 500, noRoute ? 'Not Found' : 'Server Internal Error');
      return;
    }
    if (ended) return; // the registry already heard (above)
    answering = true;
    const leg = this.createLeg({ info: offered, call, media, negotiated });
    call.on('ended', (end) => handler.callEnded(offered.callId, { cause: end.cause, side: end.side, ...(end.reason ? { reason: end.reason } : {}) }));
    call.once('confirmed', () => handler.legStarted(offered, leg));
    call.accept(answerSdp);
    logger.info({ callId: offered.callId, from: offered.from, to, codec: negotiated.codec, remote: `${negotiated.remote.address}:${negotiated.remote.port}`, trunk }, 'SIP call answered');
  }
}

export const sipCarrier: CarrierModule<SipConfig> = {
  name: SIP,
  configSchema: sipConfigSchema,
  env: [
    ['VOXGATE_SIP_PORT', 'port'],
    ['VOXGATE_SIP_ADDRESS', 'address'],
    ['VOXGATE_SIP_EXTERNAL_ADDRESS', 'externalAddress'],
  ],
  create(config, context): Carrier {
    return new SipCarrier(config, context);
  },
};
