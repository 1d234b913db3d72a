/**
 * What a simulated carrier (PlivoSimulator, TwilioSimulator, SipSimulator) has whatever its protocol:
 * the clock and the real-time ticker (its own, or one shared with another simulator), the media stats,
 * the virtual callees and the calls it made or received (SimulatorCore). Carriers driven over HTTP
 * (CarrierSimulator) add the account's outbound calls-per-second queue and the loopback REST server's
 * lifecycle; each carrier adds its API, its numbers and its call flow.
 */
import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { systemClock, type Clock } from '../runtime/clock.js';
import { silentLogger, type Logger } from '../logger.js';
import type { TtsProvider } from '../speech/tts/provider.js';
import { AppRequester, type RequestSigner } from './app-requests.js';
import { CalleeDirectory } from './callee-directory.js';
import { OutboundPacer } from './outbound-pacer.js';
import type { AnySimCall } from './simulated-call.js';
import { RealtimeTicker } from './realtime-ticker.js';
import type { SimEnvironment } from './simulated-call.js';
import { newSimStats, type SimStats } from './sim-stats.js';
import type { PartyScript } from './virtual-party.js';

/** Options every simulated carrier takes, whatever its protocol. */
export interface SimulatorCoreOptions {
  tts?: TtsProvider;
  clock?: Clock;
  logger?: Logger;
  /** Share a ticker with another simulator or a load generator; by default the simulator makes its own. */
  ticker?: RealtimeTicker;
  /** Timeout of each request to the application (documents, actions, callbacks). Default 5000 ms. */
  callbackTimeoutMs?: number;
}

/** Options every simulated carrier with a REST API takes. */
export interface CarrierSimulatorOptions extends SimulatorCoreOptions {
  /** The account's outbound calls per second: more are queued and fired in order at this rate. */
  outboundCallsPerSecond?: number;
}

/** What differs between carriers in the shared parts. */
export interface SimulatorProfile {
  /** Logger component, e.g. `plivo-sim`. */
  component: string;
  /** The carrier's error for bad options, naming the option. */
  configError: (message: string) => Error;
  /** How the carrier's requests to the application look (a carrier without HTTP requests, SIP, never sends one). */
  requests: { carrier: string; sign: RequestSigner; userAgent: string; maxDocumentBytes: number; retryDelayMs: number };
}

/** What differs between REST carriers in the shared parts. */
export interface CarrierProfile extends SimulatorProfile {
  defaultCallsPerSecond: number;
}

/** The carrier-neutral part of every simulator: clock, ticker, stats, callees, calls. */
export abstract class SimulatorCore<Call extends AnySimCall> extends EventEmitter<{ call: [Call]; fired: [Call] }> {
  readonly stats: SimStats = newSimStats();
  readonly ticker: RealtimeTicker;
  protected readonly clock: Clock;
  protected readonly logger: Logger;
  protected readonly callees = new CalleeDirectory();
  /** What every call's environment holds, whatever the carrier. */
  protected readonly sharedEnvironment: SimEnvironment;
  private readonly calls = new Map<string, Call>();

  constructor(opts: SimulatorCoreOptions, profile: SimulatorProfile) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.logger = (opts.logger ?? silentLogger()).child({ component: profile.component });
    this.ticker = opts.ticker ?? new RealtimeTicker(this.clock);
    this.sharedEnvironment = {
      clock: this.clock,
      ticker: this.ticker,
      logger: this.logger,
      requester: new AppRequester({ ...profile.requests, timeoutMs: opts.callbackTimeoutMs ?? 5000, clock: this.clock, logger: this.logger }),
      tts: opts.tts,
      stats: this.stats,
      lookupCallee: (number) => this.callees.get(number),
    };
  }

  /** Ends a call still live when the simulator closes (its callbacks are sent). */
  protected abstract endOnClose(call: Call): Promise<void>;

  /** A virtual party that outbound calls (and <Dial>) to `number` reach; a bad script throws, naming the field. */
  addCallee(number: string, script: PartyScript): void {
    this.callees.add(number, script);
  }

  /** The call with this carrier id (Plivo CallUUID, Twilio CallSid, SIP Call-ID), live or ended. */
  getCall(id: string): Call | undefined {
    return this.calls.get(id);
  }

  /** Calls not yet ended. */
  liveCalls(): Call[] {
    return [...this.calls.values()].filter((c) => !c.isEnded);
  }

  /** Ends every live call as the simulator closes. */
  protected async endLiveCalls(): Promise<void> {
    await Promise.all(this.liveCalls().map((c) => this.endOnClose(c)));
  }

  /** Registers a new call under its carrier id and announces it (`call` event). */
  protected track(id: string, call: Call): void {
    this.calls.set(id, call);
    this.emit('call', call);
  }
}

export abstract class CarrierSimulator<Call extends AnySimCall> extends SimulatorCore<Call> {
  /** Outbound calls waiting for the calls-per-second window, in request order. */
  protected readonly pacer: OutboundPacer<Call>;
  private server: FastifyInstance | undefined;
  private readonly configError: (message: string) => Error;

  constructor(opts: CarrierSimulatorOptions, profile: CarrierProfile) {
    super(opts, profile);
    this.configError = profile.configError;
    const cps = opts.outboundCallsPerSecond ?? profile.defaultCallsPerSecond;
    if (!Number.isInteger(cps) || cps < 1) throw profile.configError(`outboundCallsPerSecond must be an integer >= 1, got ${String(opts.outboundCallsPerSecond)}`);
    this.pacer = new OutboundPacer(this.clock, cps, (call) => this.emit('fired', call));
  }

  /** The carrier's REST API, routes and error handling included. */
  protected abstract buildRestApi(): FastifyInstance;

  /** Outbound calls still waiting in the calls-per-second queue. */
  queuedCalls(): Call[] {
    return this.pacer.waiting();
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<{ restBaseUrl: string }> {
    if (this.server) throw this.configError('simulator is already listening');
    const app = this.buildRestApi();
    this.server = app;
    await app.listen({ port, host });
    const address = app.server.address();
    const actualPort = typeof address === 'object' && address ? address.port : port;
    return { restBaseUrl: `http://127.0.0.1:${actualPort}` };
  }

  /**
   * Ends every live call (their final callbacks are sent), then closes the REST server. The ticker stops
   * by itself once nothing subscribes, so a ticker shared with another simulator keeps running for its calls.
   */
  async close(): Promise<void> {
    this.pacer.stop();
    await this.endLiveCalls();
    await this.server?.close();
    this.server = undefined;
  }
}
