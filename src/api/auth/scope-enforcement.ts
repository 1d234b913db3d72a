/**
 * The one place /api requests are authenticated and their scope checked. Registered in an
 * encapsulated context, it guards every route registered there afterwards (it does not create a
 * context of its own). Each such route must declare `config: { scope: '<scope>' }`: a route
 * without a known scope makes registration fail, so nothing is ever left open by mistake.
 *
 *   await app.register(async (api) => {
 *     await api.register(scopeEnforcement, { auth, logger });
 *     await api.register(clientsRoutes, { prefix: '/api/v1/clients', auth });
 *   });
 */
import type { FastifyInstance, FastifyPluginAsync, HTTPMethods } from 'fastify';
import type { Logger } from '../../logger.js';
import type { ApiAuth, Principal } from './api-auth.js';
import { hasScope, isScope, SCOPES, type Scope } from './scopes.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a caller needs for this route (checked by the scope-enforcement plugin). */
    scope?: Scope;
  }
  interface FastifyRequest {
    /** Who made the request; set on every route behind the scope-enforcement plugin. */
    principal?: Principal;
  }
}

export interface ScopeEnforcementOptions {
  auth: Pick<ApiAuth, 'authenticateRequest'>;
  logger: Logger;
}

export interface ScopedRoute {
  method: string;
  url: string;
  scope: Scope;
}

/** A route was registered behind the plugin without a scope (or with an unknown one). */
export class RouteScopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RouteScopeError';
  }
}

/** Routes guarded by the plugin, per HTTP server (every encapsulated context of one app shares it). */
const guardedRoutes = new WeakMap<object, ScopedRoute[]>();

/** Every route registered behind scope enforcement on this app, with its method, url and scope (tests walk it). */
export function listScopedRoutes(app: FastifyInstance): ScopedRoute[] {
  return [...(guardedRoutes.get(app.server) ?? [])];
}

const enforce: FastifyPluginAsync<ScopeEnforcementOptions> = async (scope, opts) => {
  const { auth, logger } = opts;
  if (!scope.hasRequestDecorator('principal')) scope.decorateRequest('principal', undefined);
  const routes = guardedRoutes.get(scope.server) ?? [];
  guardedRoutes.set(scope.server, routes);

  scope.addHook('onRoute', (route) => {
    const declared: unknown = route.config?.scope;
    const methods = ([] as HTTPMethods[]).concat(route.method);
    if (!isScope(declared)) {
      throw new RouteScopeError(
        `route ${methods.join(',')} ${route.url} is behind scope enforcement but declares ${declared === undefined ? 'no scope' : `an unknown scope ${JSON.stringify(declared)}`}: add config: { scope } with one of ${SCOPES.join(', ')}`,
      );
    }
    for (const method of methods) routes.push({ method, url: route.url, scope: declared });
  });

  scope.addHook('onRequest', async (request, reply) => {
    const outcome = await auth.authenticateRequest(request.headers.authorization, request.ip);
    if (!outcome.ok && outcome.reason === 'throttled') {
      const seconds = Math.ceil(outcome.retryAfterMs / 1000);
      logger.warn({ method: request.method, url: request.url, ip: request.ip, retryAfterMs: outcome.retryAfterMs }, 'API request refused: too many failed authentications from this address');
      return reply.code(429).header('retry-after', String(seconds)).send({ error: `too many failed authentications from this address; retry after ${seconds} s` });
    }
    const principal = outcome.ok ? outcome.principal : undefined;
    if (!principal) {
      logger.warn({ method: request.method, url: request.url, ip: request.ip }, 'API request with a missing or invalid bearer token');
      // RFC 6750 §3.1: no error code when no credentials were sent at all.
      const challenge = request.headers.authorization ? 'Bearer realm="voxgate", error="invalid_token"' : 'Bearer realm="voxgate"';
      return reply.code(401).header('www-authenticate', challenge).send({ error: 'missing or invalid bearer token' });
    }
    request.principal = principal;
    // Unknown paths get their 404; any other route here has a scope, since registration refused those without.
    if (request.is404) return undefined;
    const needed: unknown = request.routeOptions.config.scope;
    if (!isScope(needed)) return reply.code(403).send({ error: 'this route declares no scope' });
    if (!hasScope(principal.scopes, needed)) {
      logger.info({ clientId: principal.clientId, url: request.url, scope: needed }, 'API request without the needed scope');
      return reply.code(403).header('www-authenticate', `Bearer realm="voxgate", error="insufficient_scope", scope="${needed}"`).send({ error: `missing scope ${needed}` });
    }
    return undefined;
  });
};

// Fastify's documented "skip-override" marker (what fastify-plugin sets): the hooks land in the registering context.
(enforce as unknown as Record<symbol, unknown>)[Symbol.for('skip-override')] = true;
(enforce as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')] = 'voxgate-scope-enforcement';

export const scopeEnforcement = enforce;
