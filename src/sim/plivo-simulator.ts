/**
 * A local Plivo: the Call REST API subset (HTTP Basic auth), numbers with attached applications,
 * scripted callers and callees, XML execution and audio streams, all on loopback. Tests, benchmarks
 * and the demo drive real protocol traffic through it.
 *
 * Differences from Plivo worth knowing: invalid XML (not well-formed, wrong root, unknown element or
 * nesting) hangs the call up with "Invalid Answer XML" as Plivo does; Record, Conference and
 * MultiPartyCall are valid but not simulated (skipped with a warning); speech input is not recognized.
 * Outbound calls beyond the account's calls per second are queued and fired in order as Plivo does
 * ("call queued"); the REST API's 300 requests / 5 s limit (429) is modelled when `apiRateLimit` is set.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { AppRequestError, httpUrlProblem, parseMethod } from './app-requests.js';
import { parseBasicAuth } from './basic-auth.js';
import { numberKey } from './callee-directory.js';
import { CarrierSimulator, type CarrierSimulatorOptions } from './carrier-simulator.js';
import { HANGUP_CAUSES } from './hangup-causes.js';
import { PlivoCall as SimCall, plivoTime, type CallApp, type MachineDetectionOptions, type PlivoEnvironment } from './plivo-call.js';
import { plivoSignedHeaders } from './plivo-signature-headers.js';
import { validatePartyScript, type PartyScript } from './virtual-party.js';

/**
 * tts, clock, logger, ticker (share one with a load generator or the Twilio simulator), callbackTimeoutMs
 * (answer/action/hangup URLs, default 5000 ms) and outboundCallsPerSecond (default 2, Plivo's default).
 */
export interface PlivoSimulatorOptions extends CarrierSimulatorOptions {
  authId: string;
  authToken: string;
  /** Delay before the answer URL's 2nd attempt (the 3rd waits twice as long). Default 250 ms. */
  answerRetryDelayMs?: number;
  /** Plivo's REST API rate limit (300 requests per 5000 ms): beyond it requests get 429. Off by default. */
  apiRateLimit?: { maxRequests: number; windowMs: number };
}

/** One outbound call as the Call API queued and fired it, for measuring the achieved calls per second. */
export interface OutboundFiring {
  requestUuid: string;
  callUuid: string;
  to: string;
  /** When the Call API request arrived (clock ms). */
  requestedAt: number;
  /** When Plivo started the call (clock ms); undefined while queued, or when canceled in the queue. */
  firedAt: number | undefined;
}

export interface NumberAppOptions {
  answerUrl: string;
  answerMethod?: 'GET' | 'POST';
  hangupUrl?: string;
  hangupMethod?: 'GET' | 'POST';
  fallbackUrl?: string;
  fallbackMethod?: 'GET' | 'POST';
}

export class SimRequestError extends Error {}

/** Plivo numbers are digits without '+'; accept both spellings. */
export const normalizeNumber = numberKey;

function requireUrl(value: unknown, field: string, optional = false): string | undefined {
  if (value === undefined || value === null || value === '') {
    if (optional) return undefined;
    throw new SimRequestError(`${field} is required`);
  }
  if (typeof value !== 'string') throw new SimRequestError(`${field} must be a string URL`);
  const problem = httpUrlProblem(value, field);
  if (problem) throw new SimRequestError(problem);
  return value;
}

function intField(body: Record<string, unknown>, field: string, fallback: number, min: number, max: number): number {
  const raw = body[field];
  if (raw === undefined || raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new SimRequestError(`${field} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

function stringField(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (v === undefined || v === null || v === '') throw new SimRequestError(`${field} is required`);
  if (typeof v !== 'string' && typeof v !== 'number') throw new SimRequestError(`${field} must be a string`);
  return String(v);
}

export class PlivoSimulator extends CarrierSimulator<SimCall> {
  private readonly env: PlivoEnvironment;
  private readonly numbers = new Map<string, CallApp>();
  private readonly firings: SimCall[] = [];
  private apiRequests: number[] = [];

  constructor(private readonly opts: PlivoSimulatorOptions) {
    if (!opts.authId || !opts.authToken) throw new SimRequestError('PlivoSimulator needs authId and authToken');
    super(opts, {
      component: 'plivo-sim',
      defaultCallsPerSecond: 2,
      configError: (message) => new SimRequestError(message),
      requests: {
        carrier: 'Plivo',
        sign: (method, url, params) => plivoSignedHeaders(method, url, params, opts.authToken),
        userAgent: 'PlivoHTTP/voxgate-sim',
        maxDocumentBytes: 100 * 1024,
        retryDelayMs: opts.answerRetryDelayMs ?? 250,
      },
    });
    const limit = opts.apiRateLimit;
    if (limit && !(Number.isInteger(limit.maxRequests) && limit.maxRequests >= 1 && limit.windowMs > 0)) {
      throw new SimRequestError('apiRateLimit needs maxRequests (integer >= 1) and windowMs (> 0)');
    }
    this.env = { ...this.sharedEnvironment, authId: opts.authId, authToken: opts.authToken };
  }

  /** Attaches an application to a Plivo number (inbound calls to it fetch `answerUrl`). */
  addNumber(number: string, app: NumberAppOptions): void {
    this.numbers.set(normalizeNumber(number), {
      answerUrl: requireUrl(app.answerUrl, 'answerUrl')!,
      answerMethod: parseMethod(app.answerMethod, 'POST', 'answerMethod'),
      hangupUrl: requireUrl(app.hangupUrl, 'hangupUrl', true),
      hangupMethod: parseMethod(app.hangupMethod, 'POST', 'hangupMethod'),
      fallbackUrl: requireUrl(app.fallbackUrl, 'fallbackUrl', true),
      fallbackMethod: parseMethod(app.fallbackMethod, 'POST', 'fallbackMethod'),
      ringMethod: 'POST',
    });
  }

  /** A virtual caller dials a Plivo number. Unknown numbers end at once with "Invalid Destination Address". */
  dialInbound(args: { from: string; to: string; script: PartyScript }): SimCall {
    validatePartyScript(args.script, `caller ${args.from}`);
    const call = new SimCall(this.env, {
      direction: 'inbound',
      from: normalizeNumber(args.from),
      to: normalizeNumber(args.to),
      script: args.script,
      app: this.numbers.get(normalizeNumber(args.to)),
    });
    this.track(call.callUuid, call);
    void call.startInbound();
    return call;
  }

  /** Every outbound call the Call API accepted, in request order, with when it was actually fired. */
  outboundFirings(): OutboundFiring[] {
    return this.firings.map((c) => ({ requestUuid: c.requestUuid, callUuid: c.callUuid, to: c.to, requestedAt: c.createdAt, firedAt: c.firedAt }));
  }

  protected override buildRestApi(): FastifyInstance {
    const app = Fastify({ logger: false, routerOptions: { ignoreTrailingSlash: true }, bodyLimit: 1024 * 1024 });
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    app.addHook('onRequest', async (req, reply) => this.authenticate(req, reply) ?? this.rateLimit(reply));
    app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
      const status = err instanceof SimRequestError || err instanceof AppRequestError ? 400 : (err.statusCode ?? 500);
      if (status >= 500) this.logger.error({ err }, 'simulator REST error');
      void reply.code(status).send({ api_id: randomUUID(), error: err.message });
    });
    app.setNotFoundHandler((req, reply) => void reply.code(404).send({ api_id: randomUUID(), error: `no such resource: ${req.method} ${req.url}` }));

    const base = '/v1/Account/:authId/Call';
    app.post(`${base}/`, async (req, reply) => this.makeCall(req, reply));
    app.delete(`${base}/:callUuid/`, async (req, reply) => {
      const call = this.liveCall(req);
      if (!call) return reply.code(404).send({ api_id: randomUUID(), error: 'not found' });
      void call.hangup(call.answeredAt === undefined ? HANGUP_CAUSES.canceled : HANGUP_CAUSES.normal, 'API Request');
      return reply.code(204).send();
    });
    // Retrieve a live call (`?status=live`), else the call detail record of an ended one.
    app.get(`${base}/:callUuid/`, async (req, reply) => {
      const call = this.getCall((req.params as { callUuid: string }).callUuid);
      const wantsLive = (req.query as { status?: string }).status === 'live';
      if (wantsLive) {
        if (!call || call.isEnded) return reply.code(404).send({ api_id: randomUUID(), error: 'call not found' });
        return reply.send(liveCallResource(call));
      }
      if (!call || !call.isEnded) return reply.code(404).send({ api_id: randomUUID(), error: 'not found' });
      return reply.send(callDetailRecord(call, this.opts.authId));
    });
    app.post(`${base}/:callUuid/`, async (req, reply) => {
      const call = this.liveCall(req);
      if (!call || call.answeredAt === undefined) return reply.code(404).send({ api_id: randomUUID(), error: 'call not found or not in progress' });
      const body = this.body(req);
      const legs = String(body.legs ?? 'aleg');
      if (legs !== 'aleg' && legs !== 'both') throw new SimRequestError(`legs "${legs}" is not supported (only aleg; the simulator has no B legs to transfer)`);
      const url = requireUrl(body.aleg_url, 'aleg_url')!;
      call.transfer(url, parseMethod(body.aleg_method as string | undefined, 'POST', 'aleg_method'));
      return reply.code(202).send({ api_id: randomUUID(), message: 'call transferred' });
    });
    app.post(`${base}/:callUuid/DTMF/`, async (req, reply) => {
      const call = this.liveCall(req);
      if (!call || call.answeredAt === undefined) return reply.code(404).send({ api_id: randomUUID(), error: 'call not found or not in progress' });
      const digits = stringField(this.body(req), 'digits');
      if (!/^[0-9*#A-Dw]+$/.test(digits)) throw new SimRequestError(`digits must be 0-9 * # A-D (w for a pause), got ${JSON.stringify(digits)}`);
      call.partyHearsDigits(digits.replace(/w/g, ''), 'api');
      return reply.code(202).send({ api_id: randomUUID(), message: 'digits sent' });
    });
    return app;
  }

  protected override endOnClose(call: SimCall): Promise<void> {
    return call.hangup(call.answeredAt === undefined ? HANGUP_CAUSES.canceled : HANGUP_CAUSES.normal, 'Plivo');
  }

  private authenticate(req: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
    const fail = (error: string) => reply.code(401).header('WWW-Authenticate', 'Basic realm="plivo-sim"').send({ api_id: randomUUID(), error });
    const credentials = parseBasicAuth(req.headers.authorization);
    if (!credentials) return fail('authentication required: send HTTP Basic auth with auth_id and auth_token');
    if (credentials.user !== this.opts.authId || credentials.password !== this.opts.authToken) return fail('authentication failed: wrong auth_id or auth_token');
    const pathId = (req.params as { authId?: string } | undefined)?.authId;
    if (pathId !== undefined && pathId !== this.opts.authId) return fail(`auth_id ${pathId} in the URL does not match the credentials`);
    return undefined;
  }

  /** Plivo's API limit counts every authenticated request of the account in a sliding window. */
  private rateLimit(reply: FastifyReply): FastifyReply | undefined {
    const limit = this.opts.apiRateLimit;
    if (!limit) return undefined;
    const now = this.clock.now();
    this.apiRequests = this.apiRequests.filter((t) => t > now - limit.windowMs);
    if (this.apiRequests.length >= limit.maxRequests) {
      return reply.code(429).send({ api_id: randomUUID(), error: `too many requests: the API allows ${limit.maxRequests} requests per ${limit.windowMs / 1000} seconds` });
    }
    this.apiRequests.push(now);
    return undefined;
  }

  /** Queues an outbound call behind the calls-per-second window; true when it had to wait. */
  private enqueueOutbound(call: SimCall, start: () => void): boolean {
    this.firings.push(call);
    return this.pacer.enqueue(call, start);
  }

  private body(req: FastifyRequest): Record<string, unknown> {
    const body = req.body;
    if (body === undefined || body === null) return {};
    if (typeof body !== 'object' || Array.isArray(body)) throw new SimRequestError('request body must be a JSON object or form-encoded');
    return body as Record<string, unknown>;
  }

  private liveCall(req: FastifyRequest): SimCall | undefined {
    const call = this.getCall((req.params as { callUuid: string }).callUuid);
    return call && !call.isEnded ? call : undefined;
  }

  /** The Call API's machine_detection parameters; undefined when detection is off. */
  private machineDetection(body: Record<string, unknown>): MachineDetectionOptions | undefined {
    const raw = body.machine_detection;
    if (raw === undefined || raw === null || raw === '' || raw === false || raw === 'false') return undefined;
    const mode = raw === true ? 'true' : String(raw).toLowerCase();
    if (mode !== 'true' && mode !== 'hangup') throw new SimRequestError(`machine_detection must be true or hangup, got ${JSON.stringify(raw)}`);
    return {
      mode,
      timeMs: intField(body, 'machine_detection_time', 5000, 2000, 10_000),
      url: requireUrl(body.machine_detection_url, 'machine_detection_url', true),
      method: parseMethod(body.machine_detection_method as string | undefined, 'POST', 'machine_detection_method'),
    };
  }

  private async makeCall(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const body = this.body(req);
    const from = stringField(body, 'from');
    const to = stringField(body, 'to');
    const app: CallApp = {
      answerUrl: requireUrl(body.answer_url, 'answer_url')!,
      answerMethod: parseMethod(body.answer_method as string | undefined, 'POST', 'answer_method'),
      hangupUrl: requireUrl(body.hangup_url, 'hangup_url', true),
      hangupMethod: parseMethod(body.hangup_method as string | undefined, 'POST', 'hangup_method'),
      fallbackUrl: requireUrl(body.fallback_url, 'fallback_url', true),
      fallbackMethod: parseMethod(body.fallback_method as string | undefined, 'POST', 'fallback_method'),
      ringUrl: requireUrl(body.ring_url, 'ring_url', true),
      ringMethod: parseMethod(body.ring_method as string | undefined, 'POST', 'ring_method'),
    };
    const ringTimeoutSec = intField(body, 'ring_timeout', 120, 1, 7200);
    const machineDetection = this.machineDetection(body);
    const timeLimitSec = intField(body, 'time_limit', 14_400, 1, 86_400);
    const destinations = to.split('<').map((d) => d.trim());
    if (destinations.some((d) => !d)) throw new SimRequestError(`to "${to}" contains an empty destination`);
    const requestUuids: string[] = [];
    let queued = false;
    for (const destination of destinations) {
      const requestUuid = randomUUID();
      requestUuids.push(requestUuid);
      const script = this.callees.get(destination);
      const call = new SimCall(this.env, {
        direction: 'outbound',
        from: normalizeNumber(from),
        to: normalizeNumber(destination),
        script: script ?? {},
        app,
        requestUuid,
        ringTimeoutSec,
        timeLimitSec,
        callerName: typeof body.caller_name === 'string' ? body.caller_name : undefined,
        machineDetection,
      });
      this.track(call.callUuid, call);
      // Plivo answers the API request first; the call progresses asynchronously.
      const start = () =>
        void this.clock.setTimeout(() => {
          if (call.isEnded) return;
          if (script) void call.startOutbound();
          else void call.hangup(HANGUP_CAUSES.invalidDestination, 'Plivo');
        }, 0);
      if (this.enqueueOutbound(call, start)) queued = true;
    }
    return reply.code(201).send({
      api_id: randomUUID(),
      message: queued ? 'call queued' : 'call fired',
      request_uuid: requestUuids.length === 1 ? requestUuids[0] : requestUuids,
    });
  }
}

/** A live call as Plivo's Live Call API answers it. */
function liveCallResource(call: SimCall): Record<string, unknown> {
  return {
    api_id: randomUUID(),
    call_status: call.state === 'in-progress' ? 'in-progress' : 'ringing',
    call_uuid: call.callUuid,
    caller_name: call.from,
    direction: call.direction,
    from: call.from,
    to: call.to,
    request_uuid: call.requestUuid,
    session_start: plivoTime(call.createdAt),
  };
}

/** An ended call's detail record as Plivo's Call API answers it. */
function callDetailRecord(call: SimCall, authId: string): Record<string, unknown> {
  const answered = call.answeredAt !== undefined;
  const durationSec = answered && call.endedAt !== undefined ? Math.round((call.endedAt - call.answeredAt!) / 1000) : 0;
  return {
    api_id: randomUUID(),
    answer_time: answered ? plivoTime(call.answeredAt!) : null,
    bill_duration: durationSec,
    call_direction: call.direction,
    call_duration: durationSec,
    call_state: answered ? 'ANSWER' : 'NO ANSWER',
    call_uuid: call.callUuid,
    end_time: call.endedAt === undefined ? null : plivoTime(call.endedAt),
    from_number: call.from,
    hangup_cause_code: call.hangupCause?.code ?? null,
    hangup_cause_name: call.hangupCause?.name ?? null,
    hangup_source: call.hangupSource ?? null,
    initiation_time: plivoTime(call.createdAt),
    resource_uri: `/v1/Account/${authId}/Call/${call.callUuid}/`,
    to_number: call.to,
  };
}

/** The Plivo call (named SimCall since the simulator spoke only Plivo). */
export { PlivoCall as SimCall, PlivoCall } from './plivo-call.js';
export type { MachineDetectionOptions, CallResult } from './plivo-call.js';
export type { SimStats } from './sim-stats.js';
export type { PartyScript } from './virtual-party.js';
export { RealtimeTicker, LatenessHistogram } from './realtime-ticker.js';
export { formatTimelineEvent, type TimelineEvent } from './timeline.js';
