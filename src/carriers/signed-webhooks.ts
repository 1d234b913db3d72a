/**
 * The guard every carrier webhook goes through. With a cluster, first whether the request belongs to
 * another instance (src/cluster/forwarding.ts: it is then forwarded there, before any check, so the
 * owner checks it once). Then its signature is checked against the public URL the carrier used (one of
 * the configured public base URLs; 403 naming what did not match, logged), then, for carriers whose
 * signatures carry a nonce, that it was not seen before (403 naming the replay), then its parameters are
 * read (query, then the body over it), and a parameter a route cannot do without is a 400 naming it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../logger.js';
import type { CallKey } from '../cluster/call-directory.js';
import type { ClusterRouting } from '../cluster/forwarding.js';
import { ROUTING_PARAM } from '../cluster/routing-token.js';
import { first, type FormParams } from './callback-params.js';
import { baseOrigin, formEncode, requestOrigin, type PublicOrigin } from './public-urls.js';

/** What a carrier tells the cluster routing about its webhooks. */
export interface WebhookCallRouting {
  routing: ClusterRouting;
  /** The names of the call a webhook is about (e.g. Plivo's CallUUID, and Voxgate's callId in URLs of calls it placed). */
  callKeys(params: FormParams): CallKey[];
  /** Whether this process knows that call (live, recently ended, or placed by its dialer). */
  knownHere(params: FormParams): boolean;
  /** Routes whose requests start a new call (an inbound call's answer URL): a draining instance passes them on. */
  startsCall: readonly string[];
}

export interface SignedWebhookOptions {
  /** "Plivo", "Twilio": how messages name the carrier. */
  label: string;
  /** The carrier's own word for its requests: "callback", "webhook". */
  noun: string;
  logger: Logger;
  /** The http(s) bases the carrier may sign URLs with (src/carriers/public-urls.ts signatureBases), the one `cameIn` names first; read per request. */
  publicBases(cameIn: PublicOrigin): string[];
  /** With a cluster: requests about another instance's calls are forwarded there. */
  cluster?: WebhookCallRouting;
  /** Why the signature does not hold for `url`, or undefined (also when no auth token is configured). */
  signatureProblem(request: FastifyRequest, url: string): string | undefined;
  /** Asked only once the signature held: why this request is a replay of one already seen, or undefined. */
  replayProblem?(request: FastifyRequest): Promise<string | undefined>;
  /** The parameters a parsed body carries; default: the body itself, when it is an object. */
  bodyParams?(body: unknown): FormParams;
  /** The body as forwarded to another instance; default: the parsed form parameters encoded again. */
  encodeBody?(body: unknown): string;
}

export interface SignedWebhooks {
  /** The request's parameters after its signature held and it was no replay; replies 403 itself (and resolves undefined) when not. */
  params(request: FastifyRequest, reply: FastifyReply, route: string): Promise<FormParams | undefined>;
  /** The value of a parameter the route needs; replies 400 naming it (and returns undefined) when it is missing. */
  require(params: FormParams, name: string, reply: FastifyReply, route: string): string | undefined;
}

export function signedWebhooks(opts: SignedWebhookOptions): SignedWebhooks {
  const { label, noun, logger } = opts;
  const bodyParams = opts.bodyParams ?? ((body: unknown) => (body && typeof body === 'object' ? (body as FormParams) : {}));
  const encodeBody = opts.encodeBody ?? ((body: unknown) => (body && typeof body === 'object' ? formEncode(body as FormParams) : ''));
  const allParams = (request: FastifyRequest): FormParams => ({ ...(request.query as FormParams), ...(request.method === 'POST' ? bodyParams(request.body) : {}) });

  /** Why the signature holds for none of the public URLs the carrier may have used (the one it came in on named), or undefined. */
  function signatureProblem(request: FastifyRequest, cameIn: PublicOrigin): string | undefined {
    let problem: string | undefined;
    for (const base of opts.publicBases(cameIn)) {
      const found = opts.signatureProblem(request, base + request.url);
      if (!found) return undefined;
      problem ??= found;
    }
    return problem ?? 'no public URL is configured to check the signature against';
  }
  return {
    async params(request, reply, route) {
      let cameIn = requestOrigin(request);
      if (opts.cluster) {
        const params = allParams(request);
        const decision = await opts.cluster.routing.route(request, reply, {
          what: `${label} ${route} ${noun}`,
          token: typeof (request.query as Record<string, unknown>)[ROUTING_PARAM] === 'string' ? ((request.query as Record<string, string>)[ROUTING_PARAM]) : undefined,
          callKeys: opts.cluster.callKeys(params),
          knownHere: opts.cluster.knownHere(params),
          startsCall: opts.cluster.startsCall.includes(route),
          body: request.method === 'POST' ? encodeBody(request.body) : '',
          cameIn: { ...cameIn, ...baseOrigin(opts.publicBases(cameIn)[0]) },
        });
        if (decision.handle === 'replied') return undefined;
        if (decision.cameIn) cameIn = decision.cameIn;
      }
      const problem = signatureProblem(request, cameIn);
      if (problem) {
        logger.warn({ route, url: request.url, ip: request.ip }, `${label} ${route} ${noun} rejected: ${problem}`);
        void reply.code(403).type('application/json').send({ error: `invalid ${label} signature: ${problem}` });
        return undefined;
      }
      const replay = await opts.replayProblem?.(request);
      if (replay) {
        logger.warn({ route, url: request.url, ip: request.ip }, `${label} ${route} ${noun} rejected as a replay: ${replay}`);
        void reply.code(403).type('application/json').send({ error: `replayed ${label} ${noun}: ${replay}` });
        return undefined;
      }
      return allParams(request);
    },
    require(params, name, reply, route) {
      const value = first(params[name]);
      if (!value) {
        logger.warn({ route, params: Object.keys(params) }, `${label} ${route} ${noun} without ${name}`);
        void reply.code(400).send({ error: `missing ${name}: a ${label} ${noun} must carry the call's ${name} parameter` });
        return undefined;
      }
      return value;
    },
  };
}
