/**
 * Plivo webhooks and the audio stream endpoint as one encapsulated Fastify plugin. Register it with
 * `prefix: '/plivo'` after @fastify/websocket:
 *   POST|GET /answer  -> CallHandler.callAnswered, replies <Stream> XML
 *   POST|GET /hangup  -> CallHandler.callEnded (and ends the call's stream leg)
 *   POST|GET /dial    -> <Dial> XML used by PlivoStreamLeg.transfer to a number or SIP URI
 *   POST|GET /ring    -> CallHandler.callRinging (outbound calls placed with ?callId=)
 *   POST|GET /machine -> CallHandler.machineDetected (answering-machine detection result)
 *   GET /stream       -> WebSocket at the URL the answer gave (?callUuid=&ticket=); after `start` names that call -> CallHandler.legStarted
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type {} from '@fastify/websocket';
import type { CallEnd, CallHandler, CallInfo } from '../leg.js';
import type { HangupSide } from '../../events/call-events.js';
import type { Logger } from '../../logger.js';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { first, parseForm, type FormParams } from '../callback-params.js';
import { trimBase, httpForm, wsForm, signatureBases, type PublicOrigin } from '../public-urls.js';
import { signedWebhooks } from '../signed-webhooks.js';
import { createReplayGuard, type ReplayGuard } from '../replay-guard.js';
import { acceptMediaStream } from '../websocket-media/stream-acceptor.js';
import { relayStream } from '../websocket-media/stream-relay.js';
import { routeStreamUpgrade } from '../websocket-media/stream-routing.js';
import type { ClusterRouting } from '../../cluster/forwarding.js';
import type { InstanceInfo } from '../../cluster/call-directory.js';
import { ROUTING_PARAM, withRoutingToken } from '../../cluster/routing-token.js';
import { StreamAdmission } from '../websocket-media/stream-admission.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../websocket-media/websocket-leg.js';
import { dialXml, formatExtraHeaders, hangupXml, parseExtraHeaders, parsePlivoContentType, streamExtraHeadersProblem, streamXml, type PlivoContentType } from './answer-xml.js';
import { SIGNATURE_V3_HEADER, SIGNATURE_V3_NONCE_HEADER, verifyV3Signature, type PlivoSignatureParams } from './signature.js';
import { plivoCallControl } from './call-control.js';
import { plivoMediaWire, streamFormatOf } from './stream-wire.js';
import type { PlivoRestClient } from './rest-client.js';

export const PLIVO = 'plivo';

export interface PlivoRoutesOptions {
  /** e.g. "http://127.0.0.1:8080": base for signature URLs; the stream URL is its ws(s):// form + prefix + "/stream". Read per request. */
  publicBaseUrl: string;
  /** Other public base URLs Plivo may use (server.publicUrls): signatures made for any of them hold. Read per request. */
  publicBaseUrls?: readonly string[];
  /** With a cluster: routing tokens in the URLs given to Plivo, and forwarding of what belongs to another instance. */
  cluster?: ClusterRouting;
  /** When set, Signature V3 is verified on every callback (403) and on the stream upgrade (close 1008). */
  authToken?: string;
  contentType: PlivoContentType;
  /** <Stream extraHeaders>: letters and digits only (Plivo's rule); streams are matched by `start.callId`, not by these. */
  streamExtraHeaders?: Record<string, string>;
  /** The live-call registry. */
  handler: CallHandler;
  /** For leg.hangup()/transfer(). */
  rest?: PlivoRestClient;
  logger: Logger;
  newCallId?: () => string;
  /** Default 64 KiB; larger stream frames close the stream with 1009. */
  maxMessageBytes?: number;
  /** How long a stream may stay open without a `start` event; default 10 s. */
  startTimeoutMs?: number;
  clock?: Clock;
  /** How long a signature nonce is remembered to refuse replays; default 5 minutes. */
  replayWindowMs?: number;
  /** Shares seen nonces across Voxgate processes; default: this process's memory. */
  redisUrl?: string;
  /** A replay guard owned by the caller (tests); overrides replayWindowMs and redisUrl. */
  replayGuard?: ReplayGuard;
  /** Issues the stream tickets; default one with a random key (tests pass their own to build stream URLs). */
  streamAdmission?: StreamAdmission;
}

export const DEFAULT_REPLAY_WINDOW_MS = 5 * 60_000;

const CALLBACK_BODY_LIMIT = 100 * 1024;

/** Maps Plivo's HangupSource to who ended the call; "Caller"/"Callee" depend on the call's direction. */
export function hangupSide(source: string | undefined, direction: CallInfo['direction']): HangupSide {
  switch ((source ?? '').toLowerCase()) {
    case 'caller':
      return direction === 'inbound' ? 'caller' : 'gateway';
    case 'callee':
      return direction === 'inbound' ? 'gateway' : 'caller';
    case 'api request':
    case 'api':
    case 'answer xml':
      return 'gateway';
    default:
      return 'carrier';
  }
}

const PASSED_THROUGH = ['ForwardedFrom', 'ALegUUID', 'ALegRequestUUID', 'CallStatus', 'Event', 'CallerName', 'SIP-H-To'];

export async function plivoRoutes(scope: FastifyInstance, opts: PlivoRoutesOptions): Promise<void> {
  if (!scope.hasDecorator('websocketServer')) {
    throw new Error('plivoRoutes needs @fastify/websocket registered on the app before it');
  }
  const requestedFormat = parsePlivoContentType(opts.contentType);
  const extraHeadersProblem = streamExtraHeadersProblem(opts.streamExtraHeaders ?? {});
  if (extraHeadersProblem) throw new Error(`Plivo streamExtraHeaders: ${extraHeadersProblem}`);
  const log = opts.logger.child({ carrier: PLIVO });
  const { handler } = opts;
  const newCallId = opts.newCallId ?? randomUUID;
  const clock = opts.clock ?? systemClock;
  const prefix = scope.prefix;
  const admission = opts.streamAdmission ?? new StreamAdmission();
  // Options are read per request: the app may only learn its public URL after listening.
  const baseUrl = () => trimBase(httpForm(opts.publicBaseUrl));
  const publicBases = (cameIn: PublicOrigin) => signatureBases([opts.publicBaseUrl, ...(opts.publicBaseUrls ?? [])], cameIn);
  const routed = (url: string) => withRoutingToken(url, opts.cluster?.token);

  scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: CALLBACK_BODY_LIMIT }, (_req, body, done) => {
    done(null, parseForm(body as string));
  });

  /** Verifies Signature V3 when an auth token is configured; returns why it failed, or undefined. */
  function signatureProblem(request: FastifyRequest, url: string): string | undefined {
    if (!opts.authToken) return undefined;
    const method = request.method === 'GET' ? 'GET' : 'POST';
    const params: PlivoSignatureParams = method === 'POST' && request.body && typeof request.body === 'object' ? (request.body as FormParams) : {};
    const signatureHeader = first(request.headers[SIGNATURE_V3_HEADER]);
    const nonce = first(request.headers[SIGNATURE_V3_NONCE_HEADER]);
    if (!signatureHeader) return 'missing X-Plivo-Signature-V3 header';
    if (!nonce) return 'missing X-Plivo-Signature-V3-Nonce header';
    return verifyV3Signature({ method, url, params, nonce, authToken: opts.authToken, signatureHeader })
      ? undefined
      : `X-Plivo-Signature-V3 does not match ${method} ${url} (check the auth token and the public URL)`;
  }

  const replayGuard = opts.replayGuard ?? createReplayGuard({ windowMs: opts.replayWindowMs ?? DEFAULT_REPLAY_WINDOW_MS, redisUrl: opts.redisUrl, logger: log, clock });
  if (!opts.replayGuard) scope.addHook('onClose', () => replayGuard.close());

  /**
   * Plivo signs every request with a fresh random nonce (a retry is a new request, with a new nonce), so
   * a nonce seen again with the same signature is a captured request sent again. Only signed requests
   * are checked: without an auth token nothing proves where a request came from anyway.
   */
  async function replayProblem(request: FastifyRequest): Promise<string | undefined> {
    if (!opts.authToken) return undefined;
    const nonce = first(request.headers[SIGNATURE_V3_NONCE_HEADER]) ?? '';
    const signature = first(request.headers[SIGNATURE_V3_HEADER]) ?? '';
    if (await replayGuard.firstSeen(`plivo\n${nonce}\n${signature}`)) return undefined;
    return `X-Plivo-Signature-V3-Nonce ${nonce} was already used within the last ${Math.round(replayGuard.windowMs / 1000)} s`;
  }

  const webhooks = signedWebhooks({
    label: 'Plivo',
    noun: 'callback',
    logger: log,
    publicBases,
    signatureProblem,
    replayProblem,
    ...(opts.cluster
      ? {
          cluster: {
            routing: opts.cluster,
            // Plivo names the call by its CallUUID; calls Voxgate placed also carry Voxgate's id in their URLs.
            callKeys: (params: FormParams) => [
              ...(first(params.CallUUID) ? [{ carrier: PLIVO, carrierCallId: first(params.CallUUID)! }] : []),
              ...(first(params.callId) ? [{ callId: first(params.callId)! }] : []),
            ],
            knownHere: (params: FormParams) => {
              const callUuid = first(params.CallUUID);
              const placedId = first(params.callId);
              return (callUuid !== undefined && (handler.findCall(PLIVO, callUuid) !== undefined || handler.endedCall(PLIVO, callUuid) !== undefined)) || (placedId !== undefined && handler.isOutbound?.(placedId) === true);
            },
            startsCall: ['answer'],
          },
        }
      : {}),
  });
  const callbackParams = webhooks.params;
  const requireCallUuid = (params: FormParams, reply: FastifyReply, route: string) => webhooks.require(params, 'CallUUID', reply, route);

  async function answer(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const params = await callbackParams(request, reply, 'answer');
    if (!params) return;
    const callUuid = requireCallUuid(params, reply, 'answer');
    if (!callUuid) return;
    const directionParam = first(params.Direction);
    if (directionParam !== undefined && directionParam !== 'inbound' && directionParam !== 'outbound') {
      void reply.code(400).send({ error: `Direction is "${directionParam}": expected inbound or outbound` });
      return;
    }
    if (handler.endedCall(PLIVO, callUuid) !== undefined) {
      log.warn({ callUuid }, 'Plivo answer callback for a call that already hung up; replying Hangup');
      void reply.type('text/xml').send(hangupXml());
      return;
    }
    let info = handler.findCall(PLIVO, callUuid)?.info;
    if (info) {
      // Plivo retries the answer URL and fetches it again on Transfer/Redirect: same call, same stream.
      log.info({ callId: info.callId, callUuid, event: first(params.Event) }, 'Plivo answer URL fetched again for a live call');
      handler.carrierCallback?.(info.callId);
    } else {
      const extra: Record<string, string> = {};
      for (const [key, value] of Object.entries(params)) {
        const v = first(value);
        if (v && (PASSED_THROUGH.includes(key) || key.startsWith('X-PH-'))) extra[key] = v;
      }
      // Calls Voxgate dialed carry their id in the (signed) answer URL's query.
      const placedId = first(params.callId);
      const outbound = placedId !== undefined && handler.isOutbound?.(placedId) === true;
      info = {
        callId: outbound ? placedId : newCallId(),
        carrier: PLIVO,
        carrierCallId: callUuid,
        direction: directionParam ?? 'inbound',
        from: first(params.From) ?? '',
        to: first(params.To) ?? '',
        ...(first(params.CallerName) ? { callerDisplayName: first(params.CallerName) } : {}),
        extra,
      };
      try {
        await handler.callAnswered(info);
      } catch (err) {
        log.error({ err, callUuid, callId: info.callId }, 'callAnswered failed; hanging up the Plivo call');
        void reply.type('text/xml').send(hangupXml());
        return;
      }
      log.info({ callId: info.callId, callUuid, direction: info.direction }, 'Plivo call answered');
    }
    // The call and its ticket ride in the stream URL, which the upgrade's signature covers: the stream serves this call only.
    const streamQuery = new URLSearchParams({ callUuid, ticket: admission.ticketFor(callUuid) });
    const xml = streamXml({
      streamUrl: routed(`${wsForm(baseUrl())}${prefix}/stream?${streamQuery.toString()}`),
      contentType: opts.contentType,
      extraHeaders: opts.streamExtraHeaders,
    });
    void reply.type('text/xml').send(xml);
  }

  async function hangup(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const params = await callbackParams(request, reply, 'hangup');
    if (!params) return;
    const callUuid = requireCallUuid(params, reply, 'hangup');
    if (!callUuid) return;
    const call = handler.findCall(PLIVO, callUuid);
    const placedId = first(params.callId);
    const known = handler.endedCall(PLIVO, callUuid) !== undefined;
    if (!call && placedId && !known && handler.isOutbound?.(placedId)) {
      // A call Voxgate dialed that was never answered: busy, no answer, rejected, unreachable.
      const failure = { cause: first(params.HangupCauseName) || first(params.HangupCause) || 'Unknown', status: first(params.CallStatus) };
      log.info({ callId: placedId, callUuid, ...failure }, 'Plivo outbound call not answered');
      try {
        handler.callFailed?.(placedId, failure, callUuid);
      } catch (err) {
        log.error({ err, callId: placedId }, 'callFailed failed');
      }
      void reply.type('text/xml').send('<Response></Response>');
      return;
    }
    if (!call) {
      // Calls rejected before answer, or a duplicate hangup: nothing to end, but Plivo needs a 200.
      log.warn({ callUuid, known }, 'Plivo hangup callback for a call that is not live');
      void reply.type('text/xml').send('<Response></Response>');
      return;
    }
    const duration = Number(first(params.Duration));
    const end: CallEnd = {
      cause: first(params.HangupCauseName) || first(params.HangupCause) || 'Unknown',
      side: hangupSide(first(params.HangupSource), call.info.direction),
      ...(Number.isFinite(duration) && first(params.Duration) !== '' ? { durationSec: duration } : {}),
    };
    log.info({ callId: call.info.callId, callUuid, ...end }, 'Plivo call ended');
    try {
      handler.callEnded(call.info.callId, end);
    } catch (err) {
      log.error({ err, callId: call.info.callId }, 'callEnded failed');
    }
    void reply.type('text/xml').send('<Response></Response>');
  }

  /** ring_url and machine_detection_url of calls Voxgate dialed: informational, always answered 200. */
  function outboundEvent(route: 'ring' | 'machine') {
    return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const params = await callbackParams(request, reply, route);
      if (!params) return;
      const placedId = first(params.callId);
      if (!placedId || !handler.isOutbound?.(placedId)) {
        log.warn({ route, callUuid: first(params.CallUUID) }, `Plivo ${route} callback for a call Voxgate did not place; ignored`);
      } else {
        try {
          if (route === 'ring') handler.callRinging?.(placedId);
          else handler.machineDetected?.(placedId, (first(params.Machine) ?? '').toLowerCase() === 'true');
        } catch (err) {
          log.error({ err, callId: placedId, route }, `${route} handling failed`);
        }
      }
      void reply.type('text/xml').send('<Response></Response>');
    };
  }

  async function dial(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const params = await callbackParams(request, reply, 'dial');
    if (!params) return;
    const target = first(params.target);
    if (!target) {
      void reply.code(400).send({ error: 'missing target: the number or sip: URI to dial' });
      return;
    }
    let xml: string;
    try {
      xml = dialXml(target, { sipHeaders: parseExtraHeaders(first(params.sipHeaders)) });
    } catch (err) {
      log.warn({ target }, `Plivo dial XML refused: ${(err as Error).message}`);
      void reply.code(400).send({ error: (err as Error).message });
      return;
    }
    void reply.type('text/xml').send(xml);
  }

  function transferXmlUrl(target: string, headers?: Record<string, string>): string {
    const query = new URLSearchParams({ target });
    if (headers && Object.keys(headers).length > 0) query.set('sipHeaders', formatExtraHeaders(headers));
    return routed(`${baseUrl()}${prefix}/dial?${query.toString()}`);
  }

  /** Why a stream upgrade is refused, decided before the upgrade (the replay check may wait on Redis); read by `stream`. */
  const refusedUpgrades = new WeakMap<FastifyRequest, { problem: string; closeReason: string }>();
  /** Streams of another instance's calls (their routing token names it): piped there, unchecked here. */
  const relayedUpgrades = new WeakMap<FastifyRequest, { owner: InstanceInfo; headers: Record<string, string> }>();

  async function checkStreamUpgrade(request: FastifyRequest): Promise<void> {
    const token = (request.query as Record<string, unknown>)[ROUTING_PARAM];
    const route = await routeStreamUpgrade(request, typeof token === 'string' ? token : undefined, { cluster: opts.cluster, publicBases });
    if (route.handle === 'refuse') return void refusedUpgrades.set(request, route);
    if (route.handle === 'relay') return void relayedUpgrades.set(request, route);
    let signature: string | undefined;
    for (const base of route.bases) {
      signature = signatureProblem(request, base + request.url);
      if (!signature) break;
    }
    if (signature) return void refusedUpgrades.set(request, { problem: signature, closeReason: 'invalid X-Plivo-Signature-V3' });
    const replay = await replayProblem(request);
    if (replay) return void refusedUpgrades.set(request, { problem: `replayed upgrade: ${replay}`, closeReason: 'replayed X-Plivo-Signature-V3-Nonce' });
    const { callUuid, ticket } = request.query as { callUuid?: unknown; ticket?: unknown };
    if (typeof callUuid !== 'string' || !callUuid || !admission.ticketMatches(callUuid, typeof ticket === 'string' ? ticket : undefined)) {
      const problem = typeof callUuid === 'string' && callUuid ? `the stream ticket is not the one issued for call ${callUuid}` : 'the stream URL names no call (use the URL the answer XML gave)';
      refusedUpgrades.set(request, { problem, closeReason: 'invalid stream ticket' });
    }
  }

  function stream(socket: WebSocket, request: FastifyRequest): void {
    const refused = refusedUpgrades.get(request);
    if (refused) {
      log.warn({ url: request.url, ip: request.ip }, `Plivo stream upgrade rejected: ${refused.problem}`);
      socket.close(1008, refused.closeReason);
      return;
    }
    const relayed = relayedUpgrades.get(request);
    if (relayed) {
      relayStream(socket, { label: 'Plivo', owner: relayed.owner, url: request.url, headers: relayed.headers, logger: log, maxMessageBytes: opts.maxMessageBytes });
      return;
    }
    const boundCallUuid = (request.query as { callUuid: string }).callUuid;
    acceptMediaStream(socket, request.ip, {
      carrier: PLIVO,
      wire: plivoMediaWire,
      handler,
      control: (start) => plivoCallControl({ rest: opts.rest, callUuid: start.carrierCallId, transferXmlUrl, logger: log }),
      logger: log,
      clock,
      maxMessageBytes: opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      startTimeoutMs: opts.startTimeoutMs,
      requestedFormat: { format: streamFormatOf(requestedFormat), name: opts.contentType },
      admission,
      admit: (start) => (start.carrierCallId === boundCallUuid ? undefined : `start names call ${start.carrierCallId}, but the stream URL was issued for call ${boundCallUuid}`),
    });
  }

  for (const method of ['GET', 'POST'] as const) {
    scope.route({ method, url: '/answer', handler: answer });
    scope.route({ method, url: '/hangup', handler: hangup });
    scope.route({ method, url: '/dial', handler: dial });
    scope.route({ method, url: '/ring', handler: outboundEvent('ring') });
    scope.route({ method, url: '/machine', handler: outboundEvent('machine') });
  }
  scope.get('/stream', { websocket: true, preValidation: checkStreamUpgrade }, stream);
}
