/**
 * The simulator's SIP side: a small SIP/RTP endpoint on loopback, written with Voxgate's own SIP parts
 * (transport, transactions, user agent core, dialogs, SipCall/SipOutgoingCall, SDP offer/answer,
 * RtpSession), that plays the far end of Voxgate's SIP carrier. Virtual callers dial Voxgate
 * (`dialInbound`: INVITE with a PCMU/PCMA offer, RTP both ways every 20 ms, RFC 4733 keys, BYE), and
 * virtual callees answer the calls Voxgate places through a trunk pointed at the simulator
 * (`addCallee`: 180, 200 with SDP, or 486/603/480/404 as the script says). The parties, their scripts,
 * the timeline and the 20 ms ticker are the ones the Plivo and Twilio simulators use.
 *
 * What it does not do is in docs/simulator-sip.md: among them, REFER transfers are declined, there is no
 * authentication and no registrar, and only G.711 is offered or accepted.
 */
import { isIP } from 'node:net';
import { newCallId, parseUri } from '../../carriers/sip/message/headers.js';
import { endpointOf } from '../../carriers/sip/dialog/sip-dialog.js';
import { partyOf } from '../../carriers/sip/call/sip-call.js';
import { InboundAccess } from '../../carriers/sip/inbound-access.js';
import type { SipRequest } from '../../carriers/sip/message/sip-message.js';
import { RtpPortPool } from '../../carriers/sip/rtp/rtp-port-pool.js';
import type { RtpPacer } from '../../carriers/rtp-media/rtp-pacer.js';
import type { CodecName } from '../../carriers/sip/sdp/sdp-negotiation.js';
import { SipUserAgent } from '../../carriers/sip/sip-user-agent.js';
import type { ServerTransaction } from '../../carriers/sip/transaction/transactions.js';
import { SipTransport, type SipEndpoint, type SipTransportName } from '../../carriers/sip/transport/sip-transport.js';
import { numberKey } from '../callee-directory.js';
import { SimulatorCore, type SimulatorCoreOptions } from '../carrier-simulator.js';
import { validatePartyScript, type PartyScript } from '../virtual-party.js';
import { tickerPacer } from './sip-call-media.js';
import { SipSimCall, type SipSimEnvironment } from './sip-sim-call.js';

export interface SipSimulatorOptions extends Omit<SimulatorCoreOptions, 'callbackTimeoutMs'> {
  /** Where SIP and RTP bind, and what Contact, Via and SDP carry (an IP literal). Default 127.0.0.1. */
  address?: string;
  /** Default ['udp']; 'tcp' listens on the same port number too. */
  transports?: ('udp' | 'tcp')[];
  /** RTP port pairs for the calls (RTCP on the odd port). Default 40000-49999. */
  rtpPorts?: { min: number; max: number };
  /** Offered (callers) and accepted (callees), in this order. Default PCMU, PCMA. */
  codecs?: ('PCMU' | 'PCMA')[];
  /** How long a virtual caller lets Voxgate ring before giving up (CANCEL). Default 60 s. */
  ringTimeoutSec?: number;
}

export class SipSimulatorError extends Error {}

/** Where calls to a number go: Voxgate's SIP address. */
export interface SipNumberOptions {
  /** Voxgate's SIP URI, e.g. sip:127.0.0.1:5060 or sip:127.0.0.1:5060;transport=tcp (its `SIP` webhook URL). */
  uri: string;
}

export interface SipRtpTotals {
  packetsSent: number;
  packetsReceived: number;
  packetsLost: number;
}

interface SipStack {
  transport: SipTransport;
  ua: SipUserAgent;
  env: SipSimEnvironment;
}

export class SipSimulator extends SimulatorCore<SipSimCall> {
  readonly address: string;
  private readonly numbers = new Map<string, SipNumberOptions>();
  private readonly ringTimeoutMs: number;
  private readonly transports: ('udp' | 'tcp')[];
  private readonly codecs: CodecName[];
  private readonly ports: RtpPortPool;
  private readonly pacer: RtpPacer;
  private stack: SipStack | undefined;
  private readonly ended: SipRtpTotals = { packetsSent: 0, packetsReceived: 0, packetsLost: 0 };

  constructor(opts: SipSimulatorOptions = {}) {
    const configError = (message: string) => new SipSimulatorError(message);
    super(opts, {
      component: 'sip-sim',
      configError,
      // SIP sends no HTTP requests to the application; the shared environment still carries a requester.
      requests: { carrier: 'SIP', sign: () => ({}), userAgent: 'voxgate-sip-simulator', maxDocumentBytes: 0, retryDelayMs: 0 },
    });
    const address = opts.address ?? '127.0.0.1';
    if (isIP(address) === 0) throw configError(`address must be an IP literal, got ${JSON.stringify(address)}`);
    const codecs: CodecName[] = opts.codecs ?? ['PCMU', 'PCMA'];
    if (codecs.length === 0 || codecs.some((c) => c !== 'PCMU' && c !== 'PCMA')) throw configError(`codecs must name PCMU and/or PCMA, got ${JSON.stringify(codecs)}`);
    const ringTimeoutSec = opts.ringTimeoutSec ?? 60;
    if (!(ringTimeoutSec > 0)) throw configError(`ringTimeoutSec must be > 0, got ${String(opts.ringTimeoutSec)}`);
    const rtp = opts.rtpPorts ?? { min: 40000, max: 49999 };
    this.address = address;
    this.codecs = codecs;
    this.transports = opts.transports ?? ['udp'];
    this.ringTimeoutMs = ringTimeoutSec * 1000;
    this.ports = new RtpPortPool({ address, minPort: rtp.min, maxPort: rtp.max });
    this.pacer = tickerPacer(this.ticker);
  }

  /** Binds SIP (UDP, and TCP when asked) on `port` (0: a free one); resolves with the simulator's SIP URI and port. */
  async listen(port = 0): Promise<{ uri: string; port: number }> {
    if (this.stack) throw new SipSimulatorError('simulator is already listening');
    const transport = new SipTransport({ address: this.address, port, transports: this.transports, advertisedAddress: this.address, logger: this.logger, clock: this.clock });
    await transport.listen();
    // The simulator answers whoever reaches it (it binds to `address` only, loopback by default), as often as asked.
    const access = new InboundAccess({
      trunks: [{ name: 'voxgate', from: ['0.0.0.0/0', '::/0'] }],
      realm: this.address,
      invitesPerSecond: 1_000_000,
      burst: 1_000_000,
      now: () => this.clock.now(),
    });
    const ua = new SipUserAgent({ transport, clock: this.clock, logger: this.logger, access, onInvite: (invite, _source, transaction) => this.incoming(invite, transaction) });
    const env: SipSimEnvironment = {
      ...this.sharedEnvironment,
      ua,
      ports: this.ports,
      pacer: this.pacer,
      address: this.address,
      codecs: this.codecs,
      contact: (t) => `sip:sim@${transport.hostPort(t)}${t === 'udp' ? '' : `;transport=${t}`}`,
      mediaClosed: (stats) => {
        this.ended.packetsSent += stats.packetsSent;
        this.ended.packetsReceived += stats.packetsReceived;
        this.ended.packetsLost += stats.packetsLost;
      },
    };
    this.stack = { transport, ua, env };
    const main: SipTransportName = transport.port('udp') !== undefined ? 'udp' : 'tcp';
    return { uri: `sip:${transport.hostPort(main)}${main === 'udp' ? '' : ';transport=tcp'}`, port: transport.port(main)! };
  }

  /** Where calls to `number` go (Voxgate's SIP URI). A bad URI throws, naming it. */
  addNumber(number: string, options: SipNumberOptions): void {
    try {
      const uri = parseUri(options.uri);
      if (uri.scheme === 'tel') throw new Error('a tel: URI names no host');
    } catch (err) {
      throw new SipSimulatorError(`uri must be a SIP URI such as sip:127.0.0.1:5060, got ${JSON.stringify(options.uri)} (${(err as Error).message})`);
    }
    this.numbers.set(numberKey(number), options);
  }

  /**
   * A virtual caller dials `to`: a number configured with addNumber, or a SIP URI naming the number
   * (sip:+14155550100@127.0.0.1:5060). The call is returned at once; it rings, is answered or refused
   * as Voxgate decides.
   */
  dialInbound(args: { from: string; to: string; script: PartyScript; callerName?: string }): SipSimCall {
    const stack = this.stack;
    if (!stack) throw new SipSimulatorError('call listen() before dialInbound()');
    validatePartyScript(args.script, `caller ${args.from}`);
    const { target, destination, to } = this.route(args.to.trim());
    const call = new SipSimCall(stack.env, {
      role: 'caller',
      sipCallId: newCallId(this.address),
      from: args.from.trim(),
      to,
      script: args.script,
      ...(args.callerName ? { callerName: args.callerName } : {}),
    });
    this.track(call.sipCallId, call);
    void call.startCaller(target, destination, this.ringTimeoutMs).catch((err: unknown) => {
      call.logger.error({ err }, 'simulated SIP caller failed');
      void call.hangUp('simulator', `the simulator failed: ${(err as Error).message}`, 'failed', 500);
    });
    return call;
  }

  /** RTP packets the simulated parties sent and received, and lost on the way to them (RTP sequence gaps), live and ended calls. */
  rtpTotals(): SipRtpTotals {
    const totals = { ...this.ended };
    for (const call of this.liveCalls()) {
      const stats = call.media?.stats;
      if (!stats) continue;
      totals.packetsSent += stats.packetsSent;
      totals.packetsReceived += stats.packetsReceived;
      totals.packetsLost += stats.packetsLost;
    }
    return totals;
  }

  /** Hangs up every live call (BYE, CANCEL), then closes the SIP transport. */
  async close(): Promise<void> {
    await this.endLiveCalls();
    const stack = this.stack;
    this.stack = undefined;
    if (!stack) return;
    stack.ua.transactions.close();
    await stack.transport.close();
  }

  protected override endOnClose(call: SipSimCall): Promise<void> {
    return call.closeFromSimulator();
  }

  /** Voxgate's INVITE to a number: the callee registered there answers as its script says (404 when none is). */
  private incoming(invite: SipRequest, transaction: ServerTransaction): void {
    const env = this.stack!.env;
    const called = partyOf(invite.uri.startsWith('sip') ? `<${invite.uri}>` : invite.headers.get('to')).user || partyOf(invite.headers.get('to')).user;
    const caller = partyOf(invite.headers.get('from'));
    const script = this.callees.get(called);
    const call = new SipSimCall(env, {
      role: 'callee',
      sipCallId: invite.headers.get('call-id') ?? newCallId(this.address),
      from: caller.user,
      to: called,
      script: script ?? {},
      ...(caller.displayName ? { callerName: caller.displayName } : {}),
    });
    this.track(call.sipCallId, call);
    void call.startCallee(transaction, script !== undefined).catch((err: unknown) => {
      call.logger.error({ err }, 'simulated SIP callee failed');
      void call.hangUp('simulator', `the simulator failed: ${(err as Error).message}`, 'failed', 500);
    });
  }

  /** The Request-URI and next hop for a call to `to`. */
  private route(to: string): { target: string; destination: SipEndpoint; to: string } {
    if (/^sips?:/i.test(to)) {
      const uri = parseUri(to);
      const number = partyOf(`<${to}>`).user;
      return { target: to, destination: endpointOf(uri, 'udp'), to: number };
    }
    const number = this.numbers.get(numberKey(to));
    if (!number) throw new SipSimulatorError(`no SIP address for ${to}: call addNumber(${JSON.stringify(to)}, { uri }) first, or dial a SIP URI`);
    const gateway = parseUri(number.uri);
    const transport: SipTransportName = endpointOf(gateway, 'udp').transport;
    const host = gateway.port ? `${gateway.host}:${gateway.port}` : gateway.host;
    return { target: `sip:${to}@${host}${transport === 'udp' ? '' : `;transport=${transport}`}`, destination: endpointOf(gateway, 'udp'), to };
  }
}

export type { SipSimCall, SipSimCallResult, SipFinalStatus, SipEndedBy, SipPartyRole } from './sip-sim-call.js';
