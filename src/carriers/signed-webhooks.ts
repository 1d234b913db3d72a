/**
 * The guard every carrier webhook goes through: its signature is checked against the public URL the
 * carrier used (403 naming what did not match, logged), then, for carriers whose signatures carry a
 * nonce, that it was not seen before (403 naming the replay), then its parameters are read (query, then
 * the body over it), and a parameter a route cannot do without is a 400 naming it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../logger.js';
import { first, type FormParams } from './callback-params.js';

export interface SignedWebhookOptions {
  /** "Plivo", "Twilio": how messages name the carrier. */
  label: string;
  /** The carrier's own word for its requests: "callback", "webhook". */
  noun: string;
  logger: Logger;
  /** The http(s) base the carrier signs URLs with (the public URL), read per request. */
  baseUrl: () => string;
  /** Why the signature does not hold for `url`, or undefined (also when no auth token is configured). */
  signatureProblem(request: FastifyRequest, url: string): string | undefined;
  /** Asked only once the signature held: why this request is a replay of one already seen, or undefined. */
  replayProblem?(request: FastifyRequest): Promise<string | undefined>;
  /** The parameters a parsed body carries; default: the body itself, when it is an object. */
  bodyParams?(body: unknown): FormParams;
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
  return {
    async params(request, reply, route) {
      const problem = opts.signatureProblem(request, opts.baseUrl() + request.url);
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
      return { ...(request.query as FormParams), ...(request.method === 'POST' ? bodyParams(request.body) : {}) };
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
