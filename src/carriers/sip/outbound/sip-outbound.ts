/**
 * Outbound calls over SIP: each dialout or campaign call becomes an INVITE through the configured
 * trunk's proxy; its progress reaches the application as the other carriers' callbacks do (ringing,
 * failed with the SIP status, answered with a media leg). Trunks that want it are registered with
 * and kept registered.
 */
import type { CarrierContext, PlaceCallRequest } from '../../carrier.js';
import type { CallHandler, CallInfo, OutboundFailure } from '../../leg.js';
import type { OutboundReasonCode } from '../../../events/outbound-events.js';
import { resolveSecret } from '../../../runtime/secrets.js';
import { parseUri } from '../message/headers.js';
import { endpointOf } from '../dialog/sip-dialog.js';
import type { SipConfig, SipTrunkConfig } from '../sip-config.js';
import type { SipCarrier } from '../sip-carrier.js';
import { SipOutgoingCall } from './sip-outgoing-call.js';
import { SipRegistration } from './sip-registration.js';
import type { NegotiatedMedia } from '../sdp/sdp-negotiation.js';

type OutboundMedia = Awaited<ReturnType<SipCarrier['allocateMedia']>>;

/** A SIP final status (and the cause text) of an unanswered call -> Voxgate's reason. */
export function sipOutboundReason(failure: OutboundFailure): OutboundReasonCode {
  const status = Number(failure.status);
  if (status === 486 || status === 600) return 'busy';
  if (status === 603 || status === 607 || status === 608) return 'declined';
  if (status === 480 || status === 408 || status === 487) return 'no-answer';
  return 'error';
}

interface OutboundTrunk {
  name: string;
  proxy: string;
  domain: string;
  credentials?: { username: string; password: string };
  pAssertedIdentity: boolean;
  register?: { expiresSec: number };
}

export class SipOutboundDialer {
  private readonly trunks: OutboundTrunk[];
  private readonly registrations: SipRegistration[] = [];
  private handler?: CallHandler;

  constructor(private readonly deps: { carrier: SipCarrier; config: SipConfig; context: CarrierContext }) {
    this.trunks = deps.config.trunks.flatMap((trunk) => (trunk.outbound ? [outboundTrunk(trunk)] : []));
  }

  async start(handler: CallHandler): Promise<void> {
    this.handler = handler;
    for (const trunk of this.trunks) {
      if (!trunk.register || !trunk.credentials) continue;
      const registration = new SipRegistration({
        ua: this.deps.carrier.ua,
        clock: this.deps.context.clock,
        logger: this.deps.context.logger.child({ carrier: 'sip', trunk: trunk.name }),
        registrar: trunk.proxy,
        aor: `sip:${trunk.credentials.username}@${trunk.domain}`,
        contact: this.deps.carrier.contact(endpointOf(parseUri(trunk.proxy), 'udp').transport),
        credentials: trunk.credentials,
        expiresSec: trunk.register.expiresSec,
      });
      this.registrations.push(registration);
      registration.start();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.registrations.map((r) => r.stop()));
  }

  /**
   * Sends the INVITE through the (first) trunk with an outbound section; resolves with the SIP Call-ID
   * once it is on its way. Answering-machine detection is not available on SIP: a request for it is
   * refused rather than silently ignored.
   */
  async placeCall(request: PlaceCallRequest): Promise<{ carrierRequestId: string }> {
    if (request.machineDetection) throw new Error('answering-machine detection is not available on SIP calls; leave machineDetection out');
    const handler = this.handler;
    if (!handler) throw new Error('the SIP carrier is not started yet');
    const logger = this.deps.context.logger.child({ callId: request.callId, carrier: 'sip' });
    const { call, media } = await this.invite({
      to: request.to,
      from: request.from,
      ...(request.callerDisplayName ? { callerDisplayName: request.callerDisplayName } : {}),
      ringTimeoutMs: request.ringTimeoutSec * 1000,
      logger,
    });
    const sipCallId = call.callId;
    let answered = false;
    call.onRinging = () => handler.callRinging?.(request.callId);
    call.once('ended', (end) => {
      if (answered) return;
      this.deps.carrier.discardMedia(media);
      handler.callFailed?.(request.callId, { cause: end.cause, ...(end.status !== undefined ? { status: String(end.status) } : {}) }, sipCallId);
    });
    call.onAnswered = (answerSdp) => {
      answered = true;
      void this.connect({ request, call, media, answerSdp, handler, sipCallId, logger });
    };
    call.start();
    logger.info({ to: request.to, sipCallId }, 'SIP INVITE sent');
    return { carrierRequestId: sipCallId };
  }

  /**
   * Calls `to` for a bridged transfer: resolves once it answered, with its media negotiated, and
   * rejects with the reason (486 Busy Here, no answer...) when it does not.
   */
  async dialForBridge(input: { to: string; from: string; headers: [string, string][]; ringTimeoutMs: number; logger: CarrierContext['logger'] }): Promise<{ call: SipOutgoingCall; media: OutboundMedia; negotiated: NegotiatedMedia }> {
    const { call, media } = await this.invite(input);
    return new Promise((resolve, reject) => {
      let answered = false;
      call.once('ended', (end) => {
        if (answered) return;
        this.deps.carrier.discardMedia(media);
        reject(new Error(`transfer target ${input.to} did not answer: ${end.cause}`));
      });
      call.onAnswered = (answerSdp) => {
        answered = true;
        try {
          resolve({ call, media, negotiated: media.sdp.acceptAnswer(answerSdp) });
        } catch (err) {
          this.deps.carrier.discardMedia(media);
          void call.hangup('Unusable SDP answer');
          reject(new Error(`transfer target ${input.to} answered with SDP Voxgate cannot use: ${(err as Error).message}`));
        }
      };
      call.start();
    });
  }

  /**
   * Builds the INVITE for `to`: a sip: URI goes straight to its host; a number goes through the first
   * trunk with an outbound section (its proxy, domain, credentials).
   */
  private async invite(input: { to: string; from: string; callerDisplayName?: string; headers?: [string, string][]; ringTimeoutMs: number; logger: CarrierContext['logger'] }): Promise<{ call: SipOutgoingCall; media: OutboundMedia }> {
    const { carrier, config } = this.deps;
    const direct = /^sips?:/i.test(input.to);
    const trunk = this.trunks[0];
    if (!direct && !trunk) throw new Error(`no SIP trunk can call ${input.to}: add carriers.sip.trunks[].outbound with the proxy to send INVITEs to`);
    const target = direct ? input.to : `sip:${input.to.replace(/^tel:/i, '')}@${trunk!.domain}`;
    const destination = endpointOf(parseUri(direct ? input.to : trunk!.proxy), config.transports[0]);
    const domain = trunk?.domain ?? this.deps.carrier.transport.advertisedAddress;
    const from = `sip:${input.from.replace(/^tel:/i, '')}@${domain}`;
    const media = await carrier.allocateMedia();
    const headers: [string, string][] = [...(trunk?.pAssertedIdentity ? [['P-Asserted-Identity', `<${from}>`] as [string, string]] : []), ...(input.headers ?? [])];
    const call = new SipOutgoingCall(
      { ...carrier.callOptions, logger: input.logger, contact: carrier.contact(destination.transport) },
      {
        target,
        from,
        ...(input.callerDisplayName ? { callerDisplayName: input.callerDisplayName } : {}),
        destination,
        offerSdp: media.sdp.offer({ codecs: config.codecs }),
        ringTimeoutMs: input.ringTimeoutMs,
        ...(!direct && trunk?.credentials ? { credentials: trunk.credentials } : {}),
        headers,
      },
    );
    return { call, media };
  }

  /** The callee answered: the application takes the call, and its media leg starts. */
  private async connect(input: {
    request: PlaceCallRequest;
    call: SipOutgoingCall;
    media: OutboundMedia;
    answerSdp: string;
    handler: CallHandler;
    sipCallId: string;
    logger: CarrierContext['logger'];
  }): Promise<void> {
    const { request, call, media, handler, sipCallId, logger } = input;
    const info: CallInfo = { callId: request.callId, carrier: 'sip', carrierCallId: sipCallId, direction: 'outbound', from: request.from, to: request.to };
    let negotiated;
    try {
      negotiated = media.sdp.acceptAnswer(input.answerSdp);
    } catch (err) {
      logger.warn({ err }, 'the callee answered with SDP we cannot use; hanging up');
      this.deps.carrier.discardMedia(media);
      await call.hangup(`Unusable SDP answer: ${(err as Error).message}`);
      handler.callFailed?.(request.callId, { cause: `Unusable SDP answer: ${(err as Error).message}`, status: '488' }, sipCallId);
      return;
    }
    const leg = this.deps.carrier.createLeg({ info, call, media, negotiated });
    call.on('ended', (end) => handler.callEnded(info.callId, { cause: end.cause, side: end.side, ...(end.reason ? { reason: end.reason } : {}) }));
    try {
      await handler.callAnswered(info);
    } catch (err) {
      logger.error({ err }, 'the gateway could not take the answered SIP call; hanging up');
      await leg.hangup('config-error');
      return;
    }
    if (!leg.active) return;
    handler.legStarted(info, leg);
  }
}

function outboundTrunk(trunk: SipTrunkConfig): OutboundTrunk {
  const outbound = trunk.outbound!;
  const password = resolveSecret(outbound.password, `carriers.sip.trunks.${trunk.name}.outbound.password`, process.env);
  return {
    name: trunk.name,
    proxy: outbound.proxy,
    domain: outbound.domain ?? parseUri(outbound.proxy).host,
    ...(outbound.username && password ? { credentials: { username: outbound.username, password } } : {}),
    pAssertedIdentity: outbound.pAssertedIdentity,
    ...(outbound.register ? { register: outbound.register } : {}),
  };
}
