/**
 * WHIP-shaped signalling (RFC 9725) for browser calls, under /webrtc:
 *   POST   /whip?bot=<name>   application/sdp offer + Bearer credential -> 201, the SDP answer, Location
 *   DELETE /whip/<session>    the same credential -> 200, the call ends as a caller hangup
 *   PATCH  /whip/<session>    405: trickle ICE is not taken (the page gathers before POSTing)
 *   OPTIONS on both           CORS preflight (any origin: the POST and DELETE decide)
 * Every error is JSON `{ error }` naming what was wrong; pages from allowed origins can read it (CORS).
 * With a cluster, the Location carries this instance's routing token and a DELETE landing on another
 * instance is forwarded here; the call and its media stay where the POST was answered.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../../logger.js';
import type { ClusterRouting } from '../../cluster/forwarding.js';
import { ROUTING_PARAM, withRoutingToken } from '../../cluster/routing-token.js';
import type { WebCaller, WebCallerAccess, WebCallRefusal } from '../carrier.js';
import { NoRouteError, type CallHandler, type CallInfo } from '../leg.js';
import { OfferProblem, readOffer, type OfferedAudio } from './sdp-offer.js';
import type { WebRtcConfig } from './webrtc-config.js';
import { answerOffer, createPeer, newSessionId, type NewCallInput, type PeerSettings, type WebRtcCall } from './webrtc-call.js';

export const WEBRTC = 'webrtc';
/** The largest SDP offer read; a browser's audio + data channel offer is 2-6 KiB. */
export const SDP_BODY_LIMIT = 64 * 1024;
const EXPOSED = 'Location, X-Voxgate-Call-Id';

export interface WhipRoutesOptions {
  config: WebRtcConfig;
  peer: PeerSettings;
  handler: CallHandler;
  webCallers?: WebCallerAccess;
  cluster?: ClusterRouting;
  /** This instance is draining: new calls are refused (503) so the load balancer or the page tries elsewhere. */
  draining?: () => boolean;
  /** The live browser calls of this instance, by session id (the carrier owns the map). */
  calls: Map<string, WebRtcCall>;
  /** Builds the call object for an answered offer (the carrier supplies clock, pacer, events). */
  newCall: (input: NewCallInput) => WebRtcCall;
  newCallId: () => string;
  logger: Logger;
}

function hashOf(authorization: string): Buffer {
  return createHash('sha256').update(authorization).digest();
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sendError(reply: FastifyReply, status: number, error: string, retryAfterSec?: number): void {
  if (retryAfterSec !== undefined) void reply.header('Retry-After', String(retryAfterSec));
  void reply.code(status).type('application/json').send({ error });
}

export async function whipRoutes(scope: FastifyInstance, opts: WhipRoutesOptions): Promise<void> {
  const { handler, calls, logger: log } = opts;
  const access = opts.webCallers;

  // The offer is read as text whatever its type, so a wrong Content-Type gets our 415, not the framework's.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: SDP_BODY_LIMIT }, (_request, body, done) => done(null, body));
  scope.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, request, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) {
      log.info({ url: request.url, ip: request.ip }, 'WHIP request refused: body over the SDP limit');
      sendError(reply, 413, `the SDP offer is larger than ${SDP_BODY_LIMIT / 1024} KiB`);
      return;
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) log.error({ err, url: request.url }, 'WHIP request failed');
    sendError(reply, status, status === 500 ? 'the gateway could not handle the request' : err.message);
  });

  const selfOrigin = (request: FastifyRequest) => `${request.protocol}://${request.host}`;

  /**
   * CORS grants every page the right to read the answer, refusals included. The endpoint takes no
   * ambient credentials (no cookies), so CORS protects nothing here: who may call is decided on every
   * POST and DELETE by the bearer credential and the Origin checked against the key's list. Granting
   * only allowed origins would turn a refusal (a revoked key, an origin taken off the list) into an
   * opaque network error the widget cannot explain.
   */
  scope.addHook('onRequest', async (request, reply) => {
    const origin = header(request, 'origin');
    if (!origin) return;
    void reply.header('Access-Control-Allow-Origin', origin).header('Vary', 'Origin').header('Access-Control-Expose-Headers', EXPOSED);
  });

  async function preflight(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
    void reply
      .code(204)
      .header('Access-Control-Allow-Methods', 'POST, DELETE, PATCH, OPTIONS')
      .header('Access-Control-Allow-Headers', 'Authorization, Content-Type')
      .header('Access-Control-Max-Age', '600')
      .send();
  }
  scope.options('/whip', preflight);
  scope.options('/whip/:sessionId', preflight);

  scope.post('/whip', async (request, reply) => {
    let origin = selfOrigin(request);
    if (opts.cluster) {
      const decision = await opts.cluster.route(request, reply, {
        what: 'WHIP offer',
        callKeys: [],
        knownHere: false,
        startsCall: true,
        body: typeof request.body === 'string' ? request.body : '',
        cameIn: { proto: request.protocol, host: request.host },
      });
      if (decision.handle === 'replied') return;
      if (decision.cameIn) origin = `${decision.cameIn.proto}://${decision.cameIn.host}`;
    }
    if (!access) return sendError(reply, 503, 'browser calls are not enabled on this gateway');
    if (opts.draining?.()) {
      log.info({ ip: request.ip }, 'browser call refused: this instance is draining');
      return sendError(reply, 503, 'this gateway is shutting down and takes no new calls; try again (another instance will answer)');
    }
    const authorization = header(request, 'authorization');
    const query = request.query as Record<string, unknown>;
    const bot = typeof query.bot === 'string' && query.bot !== '' ? query.bot : undefined;
    const admitted = await access.admitCall({ authorization, origin: header(request, 'origin'), selfOrigin: origin, ip: request.ip, ...(bot ? { bot } : {}) });
    if (!admitted.ok) {
      log.info({ status: admitted.status, ip: request.ip, bot }, `browser call refused: ${admitted.error}`);
      return sendError(reply, admitted.status, admitted.error, admitted.retryAfterSec);
    }
    const { caller } = admitted;
    // From here the caller holds a slot: every way out that is not a started call gives it back.
    let handedOver = false;
    try {
      const refusal = await answerPost(request, reply, authorization!, caller);
      if (refusal) {
        log.info({ status: refusal.status, ip: request.ip, bot: caller.bot, identity: caller.identity }, `browser call refused: ${refusal.error}`);
        sendError(reply, refusal.status, refusal.error);
      } else handedOver = true;
    } finally {
      if (!handedOver) caller.release();
    }
  });

  /** Answers an admitted offer; returns the refusal to send, or undefined once the 201 went out (the call then owns the caller's slot). */
  async function answerPost(request: FastifyRequest, reply: FastifyReply, authorization: string, caller: WebCaller): Promise<{ status: WebCallRefusal['status'] | 415 | 500; error: string } | undefined> {
    const contentType = (header(request, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
    if (contentType !== 'application/sdp') return { status: 415, error: `the offer must be Content-Type: application/sdp (got ${contentType || 'none'})` };
    if (calls.size >= opts.config.maxCalls) return { status: 503, error: `this gateway takes at most ${opts.config.maxCalls} browser calls at once; try again shortly` };
    const sdp = typeof request.body === 'string' ? request.body : '';
    let offer: OfferedAudio;
    try {
      offer = readOffer(sdp, opts.config.codecs);
    } catch (err) {
      if (err instanceof OfferProblem) return { status: 400, error: err.message };
      throw err;
    }
    const pc = createPeer(offer, opts.peer);
    let answerSdp: string;
    try {
      answerSdp = await answerOffer(pc, sdp);
    } catch (err) {
      await pc.close().catch(() => undefined);
      return { status: 400, error: `the SDP offer could not be applied: ${(err as Error).message}` };
    }
    const sessionId = newSessionId();
    const info: CallInfo = { callId: opts.newCallId(), carrier: WEBRTC, carrierCallId: sessionId, direction: 'inbound', from: caller.identity, to: caller.bot, bot: caller.bot, ...(caller.displayName ? { callerDisplayName: caller.displayName } : {}) };
    // The call follows its events before the registry announces it, so the page's first event is `answered`.
    const call = opts.newCall({ sessionId, info, offer, pc, caller, credentialHash: hashOf(authorization) });
    try {
      await handler.callAnswered(info);
    } catch (err) {
      call.abandon();
      if (err instanceof NoRouteError) return { status: 404, error: err.message };
      log.error({ err, bot: caller.bot }, 'browser call could not be started');
      return { status: 500, error: 'the gateway could not start the call' };
    }
    calls.set(sessionId, call);
    call.start();
    const location = withRoutingToken(`${scope.prefix}/whip/${sessionId}`, opts.cluster?.token);
    log.info({ callId: info.callId, sessionId, bot: caller.bot, from: info.from, codec: offer.codec, dataChannel: offer.dataChannel }, 'browser call answered');
    void reply.code(201).type('application/sdp').header('Location', location).header('X-Voxgate-Call-Id', info.callId).send(answerSdp);
    return undefined;
  }

  scope.delete('/whip/:sessionId', async (request, reply) => {
    const { sessionId } = request.params as { sessionId: string };
    let origin = selfOrigin(request);
    if (opts.cluster) {
      const token = (request.query as Record<string, unknown>)[ROUTING_PARAM];
      const decision = await opts.cluster.route(request, reply, {
        what: 'WHIP hangup',
        ...(typeof token === 'string' ? { token } : {}),
        callKeys: [{ carrier: WEBRTC, carrierCallId: sessionId }],
        knownHere: calls.has(sessionId),
        body: '',
        cameIn: { proto: request.protocol, host: request.host },
      });
      if (decision.handle === 'replied') return;
      if (decision.cameIn) origin = `${decision.cameIn.proto}://${decision.cameIn.host}`;
    }
    const authorization = header(request, 'authorization');
    if (!authorization) return sendError(reply, 401, 'hanging up needs the Authorization the call was placed with');
    if (access) {
      const check = await access.checkOrigin({ authorization, origin: header(request, 'origin'), selfOrigin: origin });
      if (!check.ok) return sendError(reply, check.status, check.error);
    }
    const call = calls.get(sessionId);
    if (!call) return sendError(reply, 404, `no browser call ${sessionId} on this gateway (it ended, or never existed)`);
    const given = hashOf(authorization);
    if (!timingSafeEqual(given, call.credentialHash)) {
      log.warn({ sessionId, ip: request.ip }, 'WHIP hangup refused: not the credential the call was placed with');
      return sendError(reply, 403, 'this is not the credential the call was placed with');
    }
    call.end({ cause: 'Caller hung up', side: 'caller' });
    void reply.code(200).type('application/json').send({ ended: true, callId: call.info.callId });
  });

  scope.patch('/whip/:sessionId', async (_request, reply) => {
    void reply.header('Allow', 'DELETE, OPTIONS');
    sendError(reply, 405, 'trickle ICE is not supported: gather candidates before POST');
  });
}
