/**
 * A local Twilio: the Calls REST API subset (HTTP Basic auth with AccountSid:AuthToken, form-encoded
 * requests, JSON answers and errors), numbers with voice URLs, scripted callers and callees, signed
 * webhooks and status callbacks, TwiML execution, answering machine detection and Media Streams, all
 * on loopback. It shares the virtual parties, the media engine and (when given one) the real-time
 * ticker with the Plivo simulator, so one process can run both carriers.
 *
 * Differences from Twilio worth knowing are in docs/simulator-twilio.md: among them, speech input,
 * recording, conferences and queues are not simulated (skipped with a warning); AMD verdicts follow
 * the party script and Twilio's default thresholds; a declined call is reported busy (SIP 603).
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { computeTwilioSignature } from '../../carriers/twilio/signature.js';
import { httpUrlProblem, parseMethod, type HttpMethod } from '../app-requests.js';
import { parseBasicAuth } from '../basic-auth.js';
import { numberKey } from '../callee-directory.js';
import { CarrierSimulator, type CarrierSimulatorOptions } from '../carrier-simulator.js';
import { validatePartyScript, type PartyScript } from '../virtual-party.js';
import { TWILIO_ENDINGS } from './call-endings.js';
import { callResource } from './call-resource.js';
import { parseCreateCall, parseUpdateCall } from './call-requests.js';
import { TwilioRestError } from './rest-errors.js';
import { parseStatusCallbackEvents, type StatusCallbackConfig, type StatusCallbackEvent } from './status-callbacks.js';
import { TwilioCall, type TwilioEnvironment, type TwimlSource } from './twilio-call.js';
import { ACCOUNT_SID_PATTERN, API_VERSION } from './twilio-ids.js';

/**
 * tts, clock, logger, ticker (share one with the Plivo simulator, e.g. `plivoSimulator.ticker`, or a load
 * generator), callbackTimeoutMs (voice URL, actions, callbacks; default 5000 ms) and
 * outboundCallsPerSecond (default 1, Twilio's default CPS).
 */
export interface TwilioSimulatorOptions extends CarrierSimulatorOptions {
  /** "AC" + 32 hex digits. */
  accountSid: string;
  authToken: string;
  /** Delay before the voice URL's 2nd attempt (the 3rd waits twice as long). Default 250 ms. */
  voiceUrlRetryDelayMs?: number;
}

/** A Twilio number's voice configuration. */
export interface TwilioNumberOptions {
  voiceUrl: string;
  voiceMethod?: HttpMethod;
  voiceFallbackUrl?: string;
  voiceFallbackMethod?: HttpMethod;
  statusCallback?: string;
  statusCallbackMethod?: HttpMethod;
  /** Events sent to statusCallback (default: completed only). */
  statusCallbackEvent?: StatusCallbackEvent[];
}

interface NumberConfig {
  twiml: TwimlSource;
  statusCallback?: StatusCallbackConfig;
}

export class TwilioSimulatorError extends Error {}

function checkUrl(value: string | undefined, field: string): string | undefined {
  const problem = value === undefined ? undefined : httpUrlProblem(value, field);
  if (problem) throw new TwilioSimulatorError(problem);
  return value;
}

export class TwilioSimulator extends CarrierSimulator<TwilioCall> {
  readonly accountSid: string;
  private readonly env: TwilioEnvironment;
  private readonly numbers = new Map<string, NumberConfig>();

  constructor(private readonly opts: TwilioSimulatorOptions) {
    if (!opts.accountSid || !ACCOUNT_SID_PATTERN.test(opts.accountSid)) {
      throw new TwilioSimulatorError(`accountSid must be "AC" followed by 32 hex digits, got ${JSON.stringify(opts.accountSid)}`);
    }
    if (!opts.authToken) throw new TwilioSimulatorError('TwilioSimulator needs authToken');
    super(opts, {
      component: 'twilio-sim',
      defaultCallsPerSecond: 1,
      configError: (message) => new TwilioSimulatorError(message),
      requests: {
        carrier: 'Twilio',
        sign: (_method, url, params) => ({ 'X-Twilio-Signature': computeTwilioSignature(opts.authToken, url, params) }),
        userAgent: 'TwilioProxy/1.1',
        maxDocumentBytes: 64 * 1024,
        retryDelayMs: opts.voiceUrlRetryDelayMs ?? 250,
      },
    });
    this.accountSid = opts.accountSid;
    this.env = { ...this.sharedEnvironment, accountSid: opts.accountSid, authToken: opts.authToken };
  }

  /** Configures a Twilio number: inbound calls to it fetch `voiceUrl`. Bad values throw, naming the field. */
  addNumber(number: string, config: TwilioNumberOptions): void {
    const voiceUrl = checkUrl(config.voiceUrl, 'voiceUrl');
    if (!voiceUrl) throw new TwilioSimulatorError('voiceUrl is required');
    const fallbackUrl = checkUrl(config.voiceFallbackUrl, 'voiceFallbackUrl');
    const statusCallbackUrl = checkUrl(config.statusCallback, 'statusCallback');
    this.numbers.set(numberKey(number), {
      twiml: {
        url: voiceUrl,
        method: parseMethod(config.voiceMethod, 'POST', 'voiceMethod'),
        ...(fallbackUrl ? { fallback: { url: fallbackUrl, method: parseMethod(config.voiceFallbackMethod, 'POST', 'voiceFallbackMethod') } } : {}),
      },
      ...(statusCallbackUrl
        ? {
            statusCallback: {
              url: statusCallbackUrl,
              method: parseMethod(config.statusCallbackMethod, 'POST', 'statusCallbackMethod'),
              events: parseStatusCallbackEvents(config.statusCallbackEvent ?? []),
            },
          }
        : {}),
    });
  }

  /** A virtual caller dials a Twilio number. A number nobody configured fails at once (no webhooks). */
  dialInbound(args: { from: string; to: string; script: PartyScript; callerName?: string }): TwilioCall {
    validatePartyScript(args.script, `caller ${args.from}`);
    const number = this.numbers.get(numberKey(args.to));
    const call = new TwilioCall(this.env, {
      direction: 'inbound',
      from: args.from.trim(),
      to: args.to.trim(),
      script: args.script,
      callerName: args.callerName,
      twiml: number?.twiml,
      statusCallback: number?.statusCallback,
    });
    this.track(call.callSid, call);
    void call.startInbound();
    return call;
  }

  protected override buildRestApi(): FastifyInstance {
    const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
    // Twilio's REST API takes form-encoded bodies only; anything else is answered with a clear 400.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, new URLSearchParams(body as string)));
    app.addContentTypeParser('*', { parseAs: 'string' }, (req, _body, done) => {
      done(new TwilioRestError(400, 21200, `request body must be application/x-www-form-urlencoded, got ${req.headers['content-type'] ?? 'no Content-Type'}`), undefined);
    });
    app.addHook('onRequest', async (req, reply) => this.authenticate(req, reply));
    app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
      const error = err instanceof TwilioRestError ? err : new TwilioRestError(err.statusCode ?? 500, err.statusCode && err.statusCode < 500 ? 21200 : 20500, err.message);
      if (error.status >= 500) this.logger.error({ err }, 'simulator REST error');
      void reply.code(error.status).send(error.body());
    });
    app.setNotFoundHandler((req, reply) => void reply.code(404).send(new TwilioRestError(404, 20404, `The requested resource ${req.url} was not found`).body()));

    const calls = `/${API_VERSION}/Accounts/:accountSid/Calls`;
    app.post(`${calls}.json`, async (req, reply) => {
      const request = parseCreateCall(this.form(req));
      const call = this.createOutbound(request);
      return reply.code(201).send(callResource(call));
    });
    app.get(`${calls}/:callSid.json`, async (req, reply) => reply.send(callResource(this.knownCall(req))));
    app.post(`${calls}/:callSid.json`, async (req, reply) => {
      const call = this.knownCall(req);
      const update = parseUpdateCall(this.form(req));
      if (update.status) call.hangUpFromApi(update.status);
      else if (update.twiml && !call.redirect(update.twiml)) {
        throw new TwilioRestError(400, 21220, `Call is not in-progress (status ${call.status}). Cannot redirect.`);
      }
      return reply.send(callResource(call));
    });
    return app;
  }

  protected override endOnClose(call: TwilioCall): Promise<void> {
    return call.end(TWILIO_ENDINGS.simulatorClosed);
  }

  private createOutbound(request: ReturnType<typeof parseCreateCall>): TwilioCall {
    const script = this.callees.get(request.to);
    const call = new TwilioCall(this.env, {
      direction: 'outbound-api',
      from: request.from,
      to: request.to,
      script: script ?? {},
      calleeKnown: script !== undefined,
      twiml: request.twiml,
      statusCallback: request.statusCallback,
      timeoutSec: request.timeoutSec,
      machineDetection: request.machineDetection,
    });
    this.track(call.callSid, call);
    // Twilio answers the API request first (status queued); the call progresses asynchronously.
    this.pacer.enqueue(call, () =>
      this.clock.setTimeout(() => {
        if (!call.isEnded) void call.startOutbound();
      }, 0),
    );
    return call;
  }

  private authenticate(req: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
    const fail = (detail: string) =>
      reply.code(401).header('WWW-Authenticate', 'Basic realm="Twilio API"').send(new TwilioRestError(401, 20003, 'Authenticate', detail).body());
    const credentials = parseBasicAuth(req.headers.authorization);
    if (!credentials) return fail('No credentials: send HTTP Basic auth with your AccountSid and AuthToken');
    if (credentials.user !== this.opts.accountSid || credentials.password !== this.opts.authToken) return fail('Your AccountSid or AuthToken was incorrect.');
    const pathSid = (req.params as { accountSid?: string } | undefined)?.accountSid;
    if (pathSid !== undefined && pathSid !== this.opts.accountSid) return fail(`AccountSid ${pathSid} in the URL does not match the credentials`);
    return undefined;
  }

  private form(req: FastifyRequest): URLSearchParams {
    return req.body instanceof URLSearchParams ? req.body : new URLSearchParams();
  }

  private knownCall(req: FastifyRequest): TwilioCall {
    const call = this.getCall((req.params as { callSid: string }).callSid);
    if (!call) throw new TwilioRestError(404, 20404, `The requested resource ${req.url} was not found`);
    return call;
  }
}

export type { TwilioCall, TwilioCallResult } from './twilio-call.js';
export type { AnsweredBy } from './machine-detection.js';
export type { StatusCallbackEvent } from './status-callbacks.js';
export type { TwilioCallStatus, TwilioFinalStatus } from './call-endings.js';
