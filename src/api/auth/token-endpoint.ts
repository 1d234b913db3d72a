/**
 * POST /oauth/token: the OAuth 2.0 client credentials grant (RFC 6749 §4.4). The client
 * authenticates with HTTP Basic (client_secret_basic) or client_id/client_secret in the body
 * (client_secret_post); the body is form-encoded as the RFC requires, JSON is accepted too.
 * Errors are RFC 6749 §5.2 JSON: {error, error_description}.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import rateLimit from '@fastify/rate-limit';
// Brings in @fastify/swagger's FastifySchema fields (tags, summary) for the route options.
import type {} from '@fastify/swagger';
import type { Logger } from '../../logger.js';
import type { ApiAuth } from './api-auth.js';
import { hasScope, isScope, type Scope } from './scopes.js';
import { HashChecksBusyError } from './secret-verifier.js';

export const TOKEN_ENDPOINT_PATH = '/oauth/token';
const REALM = 'voxgate';
const FORM_BODY_LIMIT = 8 * 1024;

export interface TokenEndpointOptions {
  auth: ApiAuth;
  logger: Logger;
}

type TokenErrorCode = 'invalid_request' | 'invalid_client' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope';

class TokenRequestError extends Error {
  constructor(
    readonly code: TokenErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TokenRequestError';
  }
}

/** Body parameters by name; a name given twice keeps every value, so the repetition can be refused (§3.2). */
type Params = Map<string, string[]>;

function formParams(text: string): Params {
  const params: Params = new Map();
  for (const [name, value] of new URLSearchParams(text)) params.set(name, [...(params.get(name) ?? []), value]);
  return params;
}

function jsonParams(body: unknown): Params {
  if (body === undefined || body === null) return new Map();
  if (typeof body !== 'object' || Array.isArray(body)) throw new TokenRequestError('invalid_request', 'the request body must be form parameters or a JSON object');
  const params: Params = new Map();
  for (const [name, value] of Object.entries(body)) {
    if (typeof value !== 'string') throw new TokenRequestError('invalid_request', `${name}: expected a string`);
    params.set(name, [value]);
  }
  return params;
}

/** Refused before the credentials are looked at: too many requests, or too many failures, from this source or for this client. */
class TooManyRequestsError extends Error {
  readonly statusCode = 429;
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'TooManyRequestsError';
  }
}

function single(params: Params, name: string): string | undefined {
  const values = params.get(name);
  if (!values) return undefined;
  if (values.length > 1) throw new TokenRequestError('invalid_request', `${name}: given more than once`);
  return values[0];
}

/** client_secret_basic: both parts are form-urlencoded before base64 (RFC 6749 §2.3.1). */
function basicCredentials(authorization: string | undefined): { clientId: string; secret: string } | undefined {
  if (authorization === undefined) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(authorization);
  if (!match) throw new TokenRequestError('invalid_client', 'the Authorization header must be HTTP Basic client credentials');
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new TokenRequestError('invalid_client', 'the Basic credentials must be client_id:client_secret');
  try {
    const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw new TokenRequestError('invalid_client', 'the Basic credentials are not form-urlencoded');
  }
}

function requestedScopes(text: string | undefined): Scope[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(' ').filter((s) => s !== '');
  if (names.length === 0) throw new TokenRequestError('invalid_scope', 'scope: expected space-separated scope names');
  const unknown = names.filter((s) => !isScope(s));
  if (unknown.length > 0) throw new TokenRequestError('invalid_scope', `scope: unknown scope ${unknown.join(', ')}`);
  return [...new Set(names as Scope[])];
}

export async function oauthTokenRoutes(scope: FastifyInstance, opts: TokenEndpointOptions): Promise<void> {
  const { auth, logger } = opts;

  // Every token request may cost a scrypt check: a plain cap per source address on top of the
  // failure lockouts, shared through Redis when configured (and not enforced while Redis is down).
  await scope.register(rateLimit, {
    global: false,
    hook: 'onRequest',
    skipOnError: true,
    ...(auth.redis ? { redis: auth.redis.client, nameSpace: `${auth.redis.prefix}:token-requests:` } : {}),
    errorResponseBuilder: (request, context) => {
      logger.warn({ ip: request.ip, max: context.max }, 'OAuth token requests over the per-source cap');
      return new TooManyRequestsError(`too many token requests from this address (at most ${context.max} a minute); retry in ${context.after}`, Math.ceil(context.ttl / 1000));
    },
  });

  scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) => {
    done(null, formParams(body as string));
  });

  /** `bodyCredentials`: the client authenticated in the body, so no Basic challenge (RFC 6749 §5.2; browsers would prompt). */
  const sendError = (reply: FastifyReply, err: TokenRequestError | TooManyRequestsError, bodyCredentials = false) => {
    if (err instanceof TooManyRequestsError) {
      return reply.code(429).header('retry-after', String(Math.max(1, err.retryAfterSeconds))).header('cache-control', 'no-store').send({ error: 'too_many_requests', error_description: err.message });
    }
    const status = err.code === 'invalid_client' ? 401 : 400;
    if (status === 401 && !bodyCredentials) void reply.header('www-authenticate', `Basic realm="${REALM}"`);
    return reply.code(status).header('cache-control', 'no-store').header('pragma', 'no-cache').send({ error: err.code, error_description: err.message });
  };

  // Body-parser failures (bad JSON, unsupported media type, too large) are malformed requests in OAuth terms.
  scope.setErrorHandler((err: { statusCode?: number; message: string }, _request, reply) => {
    if (err instanceof TooManyRequestsError) return sendError(reply, err);
    if (err.statusCode !== undefined && err.statusCode < 500) return sendError(reply, new TokenRequestError('invalid_request', err.message));
    logger.error({ err }, 'OAuth token endpoint failed');
    return reply.code(500).header('cache-control', 'no-store').send({ error: 'server_error', error_description: 'the token could not be issued' });
  });

  const perMinute = auth.throttle.limits.tokenRequestsPerMinute;
  scope.post(TOKEN_ENDPOINT_PATH, { config: { rateLimit: { max: perMinute, timeWindow: 60_000 } }, schema: { tags: ['oauth'], summary: 'Client credentials grant (RFC 6749 §4.4): an access token for an API client' } }, async (request, reply) => {
    try {
      const params = request.body instanceof Map ? (request.body as Params) : jsonParams(request.body);
      const grantType = single(params, 'grant_type');
      if (!grantType) throw new TokenRequestError('invalid_request', 'grant_type: required');
      if (grantType !== 'client_credentials') throw new TokenRequestError('unsupported_grant_type', `grant_type: only client_credentials is supported, got ${grantType}`);
      const scopeParam = single(params, 'scope');
      const bodyId = single(params, 'client_id');
      const bodySecret = single(params, 'client_secret');

      const basic = basicCredentials(request.headers.authorization);
      if (basic && bodySecret !== undefined) throw new TokenRequestError('invalid_request', 'use one client authentication method: HTTP Basic or client_secret in the body, not both');
      if (basic && bodyId !== undefined && bodyId !== basic.clientId) throw new TokenRequestError('invalid_request', 'client_id in the body differs from the HTTP Basic client');
      const credentials = basic ?? (bodyId !== undefined && bodySecret !== undefined ? { clientId: bodyId, secret: bodySecret } : undefined);
      if (!credentials) throw new TokenRequestError('invalid_client', 'client authentication required: HTTP Basic or client_id and client_secret');

      // Limits first: a locked-out source or client id costs no lookup and no hash check.
      const attempt = { source: request.ip, clientId: credentials.clientId };
      const admission = await auth.throttle.admit(attempt);
      if (!admission.allowed) {
        logger.warn({ clientId: credentials.clientId, ip: request.ip, limitedBy: admission.limitedBy, retryAfterMs: admission.retryAfterMs }, 'OAuth client authentication refused: too many failures');
        const seconds = Math.ceil(admission.retryAfterMs / 1000);
        const who = admission.limitedBy === 'source' ? 'from this address' : 'for this client_id';
        throw new TooManyRequestsError(`too many failed client authentications ${who}; retry after ${seconds} s`, seconds);
      }
      const found = await auth.clients.findForAuthentication(credentials.clientId);
      // An unknown id is checked against a decoy hash: same work, same answer as a wrong secret.
      const secretOk = await auth.verifier.check(credentials.secret, found?.secretHash);
      if (!found || !secretOk || found.client.revokedAt !== null) {
        const reason = !found ? 'unknown client' : !secretOk ? 'wrong secret' : 'revoked';
        const failure = await auth.throttle.failed({ ...attempt, knownClient: found !== undefined, reason });
        logger.warn({ clientId: credentials.clientId, ip: request.ip, reason, sourceFailures: failure.sourceFailures, lockoutMs: failure.lockoutMs }, 'OAuth client authentication failed');
        throw new TokenRequestError('invalid_client', 'client authentication failed');
      }
      await auth.throttle.succeeded(attempt, admission);
      const client = found.client;
      if (client.scopes.length === 0) throw new TokenRequestError('unauthorized_client', `client ${client.clientId} holds no scopes`);

      const wanted = requestedScopes(scopeParam);
      const beyond = wanted?.filter((s) => !hasScope(client.scopes, s)) ?? [];
      if (beyond.length > 0) throw new TokenRequestError('invalid_scope', `scope: not granted to this client: ${beyond.join(', ')}`);
      const scopes = wanted ?? client.scopes;

      const accessToken = await auth.tokens.issue(client.clientId, scopes);
      await auth.clients.markUsed(client.clientId).catch((err: unknown) => logger.warn({ err, clientId: client.clientId }, 'could not record the OAuth client as used'));
      logger.info({ clientId: client.clientId, scope: scopes.join(' ') }, 'OAuth access token issued');
      return await reply
        .header('cache-control', 'no-store')
        .header('pragma', 'no-cache')
        .send({ access_token: accessToken, token_type: 'Bearer', expires_in: auth.tokens.ttlSeconds, scope: scopes.join(' ') });
    } catch (err) {
      if (err instanceof TooManyRequestsError) return sendError(reply, err);
      if (err instanceof HashChecksBusyError) {
        logger.warn({ ip: request.ip, running: err.running, queued: err.queued }, 'OAuth token request refused: too many secret checks in progress');
        return reply.code(503).header('retry-after', '1').header('cache-control', 'no-store').send({ error: 'temporarily_unavailable', error_description: `${err.message}; retry in a second` });
      }
      if (err instanceof TokenRequestError) {
        const fields = request.body instanceof Map ? (request.body as Params) : undefined;
        const bodyCredentials = !request.headers.authorization && (fields ? fields.has('client_secret') : typeof (request.body as { client_secret?: unknown } | undefined)?.client_secret === 'string');
        return sendError(reply, err, bodyCredentials);
      }
      throw err;
    }
  });
}
