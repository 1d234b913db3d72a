/**
 * Twilio webhooks and the Media Streams endpoint as one encapsulated Fastify plugin. Register it with
 * `prefix: '/twilio'` after @fastify/websocket:
 *   POST|GET /voice  -> CallHandler.callAnswered, replies <Connect><Stream> TwiML (a number's "A call comes in" URL, and the Url of calls Voxgate places)
 *   POST|GET /status -> status callbacks: ringing, and the end of the call (authoritative over the socket)
 *   POST|GET /amd    -> AsyncAmdStatusCallback: the answering-machine verdict of calls Voxgate placed
 *   GET /stream      -> WebSocket; after `start` names an answered call and carries its voxgateTicket parameter -> CallHandler.legStarted
 * With an auth token, X-Twilio-Signature is verified on every request (403) and on the upgrade (close 1008).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type {} from '@fastify/websocket';
import type { CallEnd, CallHandler, CallInfo } from '../leg.js';
import type { Logger } from '../../logger.js';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { first, parseForm, type FormParams } from '../callback-params.js';
import { formEncode, httpForm, signatureBases, trimBase, wsForm, type PublicOrigin } from '../public-urls.js';
import { signedWebhooks } from '../signed-webhooks.js';
import { acceptMediaStream } from '../websocket-media/stream-acceptor.js';
import { relayStream } from '../websocket-media/stream-relay.js';
import { routeStreamUpgrade, type StreamRoute } from '../websocket-media/stream-routing.js';
import type { ClusterRouting } from '../../cluster/forwarding.js';
import { StreamAdmission } from '../websocket-media/stream-admission.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../websocket-media/websocket-leg.js';
import { twilioCallControl } from './call-control.js';
import type { TwilioRestClient } from './rest-client.js';
import { verifyTwilioSignature } from './signature.js';
import { twilioMediaWire } from './stream-wire.js';
import { connectStreamTwiml, hangupTwiml } from './twiml.js';

export const TWILIO = 'twilio';

export interface TwilioRoutesOptions {
  /** e.g. "https://voice.example.com": base of the URLs Twilio signs; the stream URL is its wss:// form + prefix + "/stream". Read per request. */
  publicBaseUrl: string;
  /** Other public base URLs Twilio may use (server.publicUrls): signatures made for any of them hold. Read per request. */
  publicBaseUrls?: readonly string[];
  /**
   * With a cluster: routing tokens in the URLs given to Twilio (in the stream URL's path, as Twilio drops
   * a stream URL's query), and forwarding of what belongs to another instance.
   */
  cluster?: ClusterRouting;
  /** When set, X-Twilio-Signature is verified on every webhook (403) and on the stream upgrade (close 1008). */
  authToken?: string;
  /** The live-call registry. */
  handler: CallHandler;
  /** For transfer and hangup. */
  rest?: TwilioRestClient;
  logger: Logger;
  newCallId?: () => string;
  /** Default 64 KiB; larger stream frames close the stream with 1009. */
  maxMessageBytes?: number;
  /** How long a stream may stay open without a `start` message; default 10 s. */
  startTimeoutMs?: number;
  clock?: Clock;
  /** Issues the stream tickets; default one with a random key (tests pass their own). */
  streamAdmission?: StreamAdmission;
}

/** The <Parameter> that ties a Media Stream to its call: Twilio signs the upgrade over the bare URL, so the tie travels in `start`. */
export const STREAM_TICKET_PARAMETER = 'voxgateTicket';

const CALLBACK_BODY_LIMIT = 100 * 1024;
const SIGNATURE_HEADER = 'x-twilio-signature';
const TERMINAL_STATUSES = new Set(['completed', 'busy', 'failed', 'no-answer', 'canceled']);
const STATUS_CAUSES: Record<string, string> = { completed: 'Completed', busy: 'Busy', failed: 'Failed', 'no-answer': 'No Answer', canceled: 'Canceled' };
/** AnsweredBy values that mean nobody is listening. */
const MACHINE = /^(machine_|fax$)/;

/** A JSON webhook body, kept raw: its signature covers the bytes (bodySHA256), not parsed values. */
interface JsonBody {
  raw: string;
  params: FormParams;
}

/** The cause recorded for a call's end: Twilio's status, with the SIP response when Twilio gave one. */
export function twilioCause(status: string, sipResponseCode?: string): string {
  const cause = STATUS_CAUSES[status] ?? status;
  return sipResponseCode && sipResponseCode !== '200' ? `${cause} (SIP ${sipResponseCode})` : cause;
}

export async function twilioRoutes(scope: FastifyInstance, opts: TwilioRoutesOptions): Promise<void> {
  if (!scope.hasDecorator('websocketServer')) {
    throw new Error('twilioRoutes needs @fastify/websocket registered on the app before it');
  }
  const log = opts.logger.child({ carrier: TWILIO });
  const { handler } = opts;
  const newCallId = opts.newCallId ?? randomUUID;
  const clock = opts.clock ?? systemClock;
  const prefix = scope.prefix;
  const admission = opts.streamAdmission ?? new StreamAdmission();
  // Read per request: the app may only learn its public URL after listening.
  const baseUrl = () => trimBase(httpForm(opts.publicBaseUrl));
  const publicBases = (cameIn: PublicOrigin) => signatureBases([opts.publicBaseUrl, ...(opts.publicBaseUrls ?? [])], cameIn);

  scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: CALLBACK_BODY_LIMIT }, (_req, body, done) => {
    done(null, parseForm(body as string));
  });
  scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: CALLBACK_BODY_LIMIT }, (_req, body, done) => {
    try {
      const value: unknown = JSON.parse(body as string);
      const params: FormParams = {};
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        for (const [k, v] of Object.entries(value)) if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') params[k] = String(v);
      }
      done(null, { raw: body as string, params } satisfies JsonBody);
    } catch {
      done(Object.assign(new Error('the webhook body is not JSON'), { statusCode: 400 }), undefined);
    }
  });

  const jsonBody = (body: unknown): body is JsonBody => typeof body === 'object' && body !== null && 'raw' in body;

  /** Why the signature does not hold, or undefined (also when no auth token is configured). */
  function signatureProblem(request: FastifyRequest, url: string): string | undefined {
    if (!opts.authToken) return undefined;
    const signatureHeader = first(request.headers[SIGNATURE_HEADER]);
    if (!signatureHeader) return 'missing X-Twilio-Signature header';
    const body = request.method === 'POST' ? request.body : undefined;
    const valid = jsonBody(body)
      ? verifyTwilioSignature({ authToken: opts.authToken, url, body: body.raw, signatureHeader })
      : verifyTwilioSignature({ authToken: opts.authToken, url, params: body && typeof body === 'object' ? (body as FormParams) : {}, signatureHeader });
    return valid ? undefined : `X-Twilio-Signature does not match ${request.method} ${url} (check the auth token and the public URL)`;
  }

  const webhooks = signedWebhooks({
    label: 'Twilio',
    noun: 'webhook',
    logger: log,
    publicBases,
    signatureProblem,
    bodyParams: (body) => (jsonBody(body) ? body.params : body && typeof body === 'object' ? (body as FormParams) : {}),
    // A JSON body's signature covers its bytes: it is forwarded as it came.
    encodeBody: (body) => (jsonBody(body) ? body.raw : body && typeof body === 'object' ? formEncode(body as FormParams) : ''),
    ...(opts.cluster
      ? {
          cluster: {
            routing: opts.cluster,
            // Twilio names the call by its CallSid; calls Voxgate placed also carry Voxgate's id in their URLs.
            callKeys: (params: FormParams) => [
              ...(first(params.CallSid) ? [{ carrier: TWILIO, carrierCallId: first(params.CallSid)! }] : []),
              ...(first(params.callId) ? [{ callId: first(params.callId)! }] : []),
            ],
            knownHere: (params: FormParams) => {
              const callSid = first(params.CallSid);
              const placedId = first(params.callId);
              return (callSid !== undefined && (handler.findCall(TWILIO, callSid) !== undefined || handler.endedCall(TWILIO, callSid) !== undefined)) || (placedId !== undefined && handler.isOutbound?.(placedId) === true);
            },
            startsCall: ['voice'],
          },
        }
      : {}),
  });
  const webhookParams = webhooks.params;
  const requireCallSid = (params: FormParams, reply: FastifyReply, route: string) => webhooks.require(params, 'CallSid', reply, route);

  const twiml = (reply: FastifyReply, body: string) => void reply.type('text/xml').send(body);

  async function voice(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const params = await webhookParams(request, reply, 'voice');
    if (!params) return;
    const callSid = requireCallSid(params, reply, 'voice');
    if (!callSid) return;
    if (handler.endedCall(TWILIO, callSid) !== undefined) {
      log.warn({ callSid }, 'Twilio voice webhook for a call that already ended; replying Hangup');
      return twiml(reply, hangupTwiml());
    }
    let info = handler.findCall(TWILIO, callSid)?.info;
    if (info) {
      // Twilio retries a webhook that timed out: same call, same stream.
      log.info({ callId: info.callId, callSid }, 'Twilio voice webhook fetched again for a live call');
      handler.carrierCallback?.(info.callId);
    } else {
      // Calls Voxgate placed carry their id in the (signed) voice URL's query.
      const placedId = first(params.callId);
      const outbound = placedId !== undefined && handler.isOutbound?.(placedId) === true;
      const extra: Record<string, string> = {};
      for (const [key, value] of Object.entries(params)) {
        const v = first(value);
        if (!v) continue;
        // SIP-originated calls carry their X- headers as SipHeader_X-...; the bot sees them by their SIP names.
        if (key.startsWith('SipHeader_')) extra[key.slice('SipHeader_'.length)] = v;
        else if (key === 'ForwardedFrom' || key === 'CallerName' || key === 'AnsweredBy') extra[key] = v;
      }
      const direction = first(params.Direction) ?? 'inbound';
      info = {
        callId: outbound ? placedId : newCallId(),
        carrier: TWILIO,
        carrierCallId: callSid,
        direction: outbound || direction.startsWith('outbound') ? 'outbound' : 'inbound',
        from: first(params.From) ?? '',
        to: first(params.To) ?? '',
        ...(first(params.CallerName) ? { callerDisplayName: first(params.CallerName) } : {}),
        extra,
      } satisfies CallInfo;
      try {
        await handler.callAnswered(info);
      } catch (err) {
        log.error({ err, callSid, callId: info.callId }, 'callAnswered failed; hanging up the Twilio call');
        return twiml(reply, hangupTwiml());
      }
      log.info({ callId: info.callId, callSid, direction: info.direction }, 'Twilio call answered');
    }
    const streamPath = opts.cluster ? `/stream/${opts.cluster.token}` : '/stream';
    twiml(reply, connectStreamTwiml(`${wsForm(baseUrl())}${prefix}${streamPath}`, { callId: info.callId, [STREAM_TICKET_PARAMETER]: admission.ticketFor(callSid) }));
  }

  async function status(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const params = await webhookParams(request, reply, 'status');
    if (!params) return;
    const callSid = requireCallSid(params, reply, 'status');
    if (!callSid) return;
    const callStatus = first(params.CallStatus) ?? '';
    const placedId = first(params.callId);
    const placed = placedId !== undefined && handler.isOutbound?.(placedId) === true;
    const call = handler.findCall(TWILIO, callSid);
    try {
      if (callStatus === 'ringing') {
        if (placed) handler.callRinging?.(placedId);
      } else if (call && !TERMINAL_STATUSES.has(callStatus)) {
        handler.carrierCallback?.(call.info.callId);
      } else if (TERMINAL_STATUSES.has(callStatus)) {
        const cause = twilioCause(callStatus, first(params.SipResponseCode));
        if (call) {
          const duration = Number(first(params.CallDuration));
          const end: CallEnd = {
            cause,
            // Twilio does not say who hung up; a hangup Voxgate asked for is known to the session already.
            side: callStatus === 'completed' ? 'caller' : 'carrier',
            ...(Number.isFinite(duration) && first(params.CallDuration) !== undefined ? { durationSec: duration } : {}),
          };
          log.info({ callId: call.info.callId, callSid, status: callStatus, ...end }, 'Twilio call ended');
          handler.callEnded(call.info.callId, end);
        } else if (placed && handler.endedCall(TWILIO, callSid) === undefined) {
          // A call Voxgate placed that was never answered: busy, no answer, failed, canceled.
          log.info({ callId: placedId, callSid, status: callStatus, cause }, 'Twilio outbound call not answered');
          handler.callFailed?.(placedId, { cause, status: callStatus }, callSid);
        } else {
          log.warn({ callSid, status: callStatus, known: handler.endedCall(TWILIO, callSid) !== undefined }, 'Twilio status callback for a call that is not live');
        }
      }
    } catch (err) {
      log.error({ err, callSid, status: callStatus }, 'status callback handling failed');
    }
    twiml(reply, '<Response/>');
  }

  async function amd(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const params = await webhookParams(request, reply, 'amd');
    if (!params) return;
    const placedId = first(params.callId);
    const callSid = first(params.CallSid);
    const answeredBy = first(params.AnsweredBy) ?? 'unknown';
    if (!placedId || !handler.isOutbound?.(placedId)) {
      log.warn({ callSid, answeredBy }, 'Twilio machine-detection callback for a call Voxgate did not place; ignored');
      return twiml(reply, '<Response/>');
    }
    const isMachine = MACHINE.test(answeredBy);
    log.info({ callId: placedId, callSid, answeredBy }, 'Twilio machine detection');
    try {
      handler.machineDetected?.(placedId, isMachine);
    } catch (err) {
      log.error({ err, callId: placedId }, 'machine detection handling failed');
    }
    // Twilio never hangs up on a machine itself: with `disconnect`, Voxgate does.
    if (isMachine && first(params.amd) === 'disconnect' && callSid && opts.rest) {
      opts.rest.hangupCall(callSid).catch((err: unknown) => log.error({ err, callId: placedId, callSid }, 'hanging up on the answering machine failed'));
    }
    twiml(reply, '<Response/>');
  }

  /** Where each upgrade goes, decided before it (the cluster may ask Redis); read by `stream`. */
  const upgradeRoutes = new WeakMap<FastifyRequest, StreamRoute>();

  async function routeUpgrade(request: FastifyRequest): Promise<void> {
    const token = (request.params as { routingToken?: string }).routingToken;
    upgradeRoutes.set(request, await routeStreamUpgrade(request, token, { cluster: opts.cluster, publicBases }));
  }

  function stream(socket: WebSocket, request: FastifyRequest): void {
    const route = upgradeRoutes.get(request) ?? { handle: 'refuse', problem: 'the upgrade was not routed', closeReason: 'internal error' };
    if (route.handle === 'refuse') {
      log.warn({ url: request.url, ip: request.ip }, `Twilio stream upgrade rejected: ${route.problem}`);
      socket.close(1008, route.closeReason);
      return;
    }
    if (route.handle === 'relay') {
      relayStream(socket, { label: 'Twilio', owner: route.owner, url: request.url, headers: route.headers, logger: log, maxMessageBytes: opts.maxMessageBytes });
      return;
    }
    // Twilio signs the WebSocket handshake over the wss:// URL it was given, without parameters.
    let problem: string | undefined;
    for (const base of route.bases) {
      problem = signatureProblem(request, `${wsForm(base)}${request.url}`);
      if (!problem) break;
    }
    if (problem) {
      log.warn({ url: request.url, ip: request.ip }, `Twilio stream upgrade rejected: ${problem}`);
      socket.close(1008, 'invalid X-Twilio-Signature');
      return;
    }
    acceptMediaStream(socket, request.ip, {
      carrier: TWILIO,
      wire: twilioMediaWire,
      handler,
      control: (start) => twilioCallControl({ rest: opts.rest, callSid: start.carrierCallId, logger: log }),
      logger: log,
      clock,
      maxMessageBytes: opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      startTimeoutMs: opts.startTimeoutMs,
      admission,
      admit: (start) =>
        admission.ticketMatches(start.carrierCallId, start.parameters?.[STREAM_TICKET_PARAMETER])
          ? undefined
          : `start carries no valid ${STREAM_TICKET_PARAMETER} parameter for call ${start.carrierCallId} (streams are accepted only as the voice webhook's TwiML set them up)`,
    });
  }

  for (const method of ['GET', 'POST'] as const) {
    scope.route({ method, url: '/voice', handler: voice });
    scope.route({ method, url: '/status', handler: status });
    scope.route({ method, url: '/amd', handler: amd });
  }
  scope.get('/stream', { websocket: true, preValidation: routeUpgrade }, stream);
  // The stream URL of a cluster's instance carries its routing token in the path (Twilio drops a stream URL's query).
  if (opts.cluster) scope.get('/stream/:routingToken', { websocket: true, preValidation: routeUpgrade }, stream);
}
