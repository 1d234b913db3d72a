import Fastify, { type FastifyInstance } from 'fastify';
import { SignJWT, decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiAuth, STATIC_TOKEN_PRINCIPAL } from '../../src/api/auth/api-auth.js';
import { listScopedRoutes, RouteScopeError, scopeEnforcement } from '../../src/api/auth/scope-enforcement.js';
import { SCOPES, type Scope } from '../../src/api/auth/scopes.js';
import { oauthTokenRoutes } from '../../src/api/auth/token-endpoint.js';
import { clientsRoutes } from '../../src/api/clients-routes.js';
import { silentLogger } from '../../src/logger.js';
import { FakeClock } from '../support/fake-clock.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

const STATIC_TOKEN = 'static-admin-token-for-tests-0123456789';

describeOnEachDialect('scope enforcement on /api routes', (ctx) => {
  let app: FastifyInstance;
  let auth: ApiAuth;
  const clock = new FakeClock();
  const logger = silentLogger();

  beforeAll(async () => {
    auth = await ApiAuth.create({ db: ctx.store.db, clock, staticToken: STATIC_TOKEN });
    app = Fastify();
    await app.register(oauthTokenRoutes, { auth, logger });
    app.get('/healthz', async () => ({ status: 'ok' }));
    await app.register(async (api) => {
      await api.register(scopeEnforcement, { auth, logger });
      await api.register(
        async (calls) => {
          calls.get('/calls', { config: { scope: 'calls:read' } }, async (request) => ({ calls: [], caller: request.principal }));
          calls.post('/actions/dialout', { config: { scope: 'dialout' } }, async () => ({ conversationId: 'c-1' }));
        },
        { prefix: '/api/v1' },
      );
      await api.register(clientsRoutes, { prefix: '/api/v1/clients', auth, logger });
    });
    await app.ready();
  });
  afterAll(async () => app.close());

  const tokenFor = async (scopes: Scope[]) => {
    const created = await auth.clients.create({ name: `holds ${scopes.join(' ')}`, scopes });
    const res = await app.inject({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'client_credentials', client_id: created.client.clientId, client_secret: created.clientSecret } });
    expect(res.statusCode).toBe(200);
    return { clientId: created.client.clientId, token: res.json().access_token as string };
  };
  const call = (method: 'GET' | 'POST' | 'DELETE' | 'HEAD', url: string, token?: string) =>
    app.inject({ method, url, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(method === 'POST' ? { payload: {} } : {}) });

  it('401 with a Bearer challenge without a token or with a garbage one', async () => {
    const none = await call('GET', '/api/v1/calls');
    expect(none.statusCode).toBe(401);
    expect(none.json()).toEqual({ error: 'missing or invalid bearer token' });
    expect(none.headers['www-authenticate']).toBe('Bearer realm="voxgate"');
    const garbage = await call('GET', '/api/v1/calls', 'not-a-jwt');
    expect(garbage.statusCode).toBe(401);
    expect(garbage.headers['www-authenticate']).toBe('Bearer realm="voxgate", error="invalid_token"');
  });

  it('403 naming the missing scope; the route runs with request.principal when the scope is held', async () => {
    const reader = await tokenFor(['calls:read']);
    const denied = await call('POST', '/api/v1/actions/dialout', reader.token);
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toEqual({ error: 'missing scope dialout' });
    expect(denied.headers['www-authenticate']).toContain('error="insufficient_scope"');
    const allowed = await call('GET', '/api/v1/calls', reader.token);
    expect(allowed.statusCode).toBe(200);
    expect(allowed.json().caller).toEqual({ clientId: reader.clientId, scopes: ['calls:read'] });
  });

  it('admin implies every scope', async () => {
    const admin = await tokenFor(['admin']);
    expect((await call('POST', '/api/v1/actions/dialout', admin.token)).statusCode).toBe(200);
    expect((await call('GET', '/api/v1/clients', admin.token)).statusCode).toBe(200);
  });

  it('the static api.token works as an admin credential (Bearer, or Basic password as before); a wrong one does not', async () => {
    const bearer = await call('GET', '/api/v1/calls', STATIC_TOKEN);
    expect(bearer.statusCode).toBe(200);
    expect(bearer.json().caller).toEqual({ clientId: STATIC_TOKEN_PRINCIPAL, scopes: ['admin'] });
    const basic = await app.inject({ method: 'POST', url: '/api/v1/actions/dialout', headers: { authorization: `Basic ${Buffer.from(`api:${STATIC_TOKEN}`).toString('base64')}` }, payload: {} });
    expect(basic.statusCode).toBe(200);
    expect((await call('GET', '/api/v1/calls', `${STATIC_TOKEN}x`)).statusCode).toBe(401);
  });

  it('rejects tampered tokens: scope rewritten, alg none, another key, another issuer', async () => {
    const reader = await tokenFor(['calls:read']);
    const [header, payload, signature] = reader.token.split('.');
    const claims = decodeJwt(reader.token);
    const widened = Buffer.from(JSON.stringify({ ...claims, scope: 'admin' })).toString('base64url');
    expect((await call('POST', '/api/v1/actions/dialout', `${header}.${widened}.${signature}`)).statusCode).toBe(401);

    const noneHeader = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
    expect((await call('GET', '/api/v1/calls', `${noneHeader}.${payload}.`)).statusCode).toBe(401);

    const otherKey = await new SignJWT({ ...claims, scope: 'admin' }).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(new TextEncoder().encode('x'.repeat(32)));
    expect((await call('GET', '/api/v1/calls', otherKey)).statusCode).toBe(401);

    const foreign = await ApiAuth.create({ db: ctx.store.db, clock, issuer: 'someone-else' });
    const foreignToken = await foreign.tokens.issue(reader.clientId, ['calls:read']);
    expect((await call('GET', '/api/v1/calls', foreignToken)).statusCode).toBe(401);
  });

  it('an expired token gets 401', async () => {
    const reader = await tokenFor(['calls:read']);
    clock.advance(3600_000);
    expect((await call('GET', '/api/v1/calls', reader.token)).statusCode).toBe(401);
  });

  it('another process notices a revocation within its revocation cache time', async () => {
    const reader = await tokenFor(['calls:read']);
    const otherProcess = await ApiAuth.create({ db: ctx.store.db, clock, revocationCacheMs: 5000 });
    expect(await otherProcess.authenticate(`Bearer ${reader.token}`)).toBeDefined();
    await auth.revokeClient(reader.clientId);
    expect((await call('GET', '/api/v1/calls', reader.token)).statusCode).toBe(401);
    clock.advance(5000);
    expect(await otherProcess.authenticate(`Bearer ${reader.token}`)).toBeUndefined();
  });

  it('routes outside the guarded context stay open; a path with no route is a plain 404', async () => {
    expect((await call('GET', '/healthz')).statusCode).toBe(200);
    expect((await call('GET', '/api/v1/nowhere')).statusCode).toBe(404);
  });

  it('listScopedRoutes lists every guarded route; each one refuses no token (401) and a token without its scope (403)', async () => {
    const routes = listScopedRoutes(app);
    expect(routes).toEqual(
      expect.arrayContaining([
        { method: 'GET', url: '/api/v1/calls', scope: 'calls:read' },
        { method: 'HEAD', url: '/api/v1/calls', scope: 'calls:read' },
        { method: 'POST', url: '/api/v1/actions/dialout', scope: 'dialout' },
        { method: 'GET', url: '/api/v1/clients', scope: 'clients:read' },
        { method: 'POST', url: '/api/v1/clients', scope: 'clients:write' },
        { method: 'DELETE', url: '/api/v1/clients/:id', scope: 'clients:write' },
      ]),
    );
    expect(routes.some((r) => r.url.startsWith('/oauth') || r.url === '/healthz')).toBe(false);
    for (const route of routes) {
      const url = route.url.replace(':id', 'vgc_x');
      const method = route.method as 'GET' | 'POST' | 'DELETE' | 'HEAD';
      expect((await call(method, url)).statusCode, `${route.method} ${route.url} without a token`).toBe(401);
      const other = SCOPES.find((s) => s !== route.scope && s !== 'admin') as Scope;
      const outsider = await tokenFor([other]);
      const res = await call(method, url, outsider.token);
      expect(res.statusCode, `${route.method} ${route.url} with ${other}`).toBe(403);
      if (method !== 'HEAD') expect(res.json()).toEqual({ error: `missing scope ${route.scope}` });
    }
  });
});

describe('routes behind scope enforcement must declare a scope', () => {
  const auth = {} as ApiAuth;
  const register = async (config: Record<string, unknown> | undefined) => {
    const app = Fastify();
    await app.register(async (api) => {
      await api.register(scopeEnforcement, { auth, logger: silentLogger() });
      api.get('/api/v1/open', config ? { config } : {}, async () => 'oops');
    });
    try {
      await app.ready();
    } finally {
      await app.close().catch(() => undefined);
    }
  };

  it('refuses a route without config.scope at registration, naming the route', async () => {
    const failure = register(undefined);
    await expect(failure).rejects.toBeInstanceOf(RouteScopeError);
    await expect(register(undefined)).rejects.toThrow(/GET \/api\/v1\/open .* declares no scope/);
  });

  it('a route registered in the context before the plugin is still closed: 401 without a token, 403 with one', async () => {
    const admin = {
      authenticateRequest: async (h?: string) => (h === 'Bearer ok' ? { ok: true, principal: { clientId: 'c', scopes: ['admin' as const] } } : { ok: false, reason: h ? 'invalid' : 'missing' }),
    } as unknown as ApiAuth;
    const app = Fastify();
    await app.register(async (api) => {
      api.get('/api/v1/early', async () => 'open');
      await api.register(scopeEnforcement, { auth: admin, logger: silentLogger() });
    });
    await app.ready();
    expect((await app.inject('/api/v1/early')).statusCode).toBe(401);
    const withToken = await app.inject({ url: '/api/v1/early', headers: { authorization: 'Bearer ok' } });
    expect(withToken.statusCode).toBe(403);
    expect(withToken.json()).toEqual({ error: 'this route declares no scope' });
    await app.close();
  });

  it('refuses an unknown scope name', async () => {
    await expect(register({ scope: 'calls:readd' })).rejects.toThrow(/unknown scope "calls:readd"/);
  });
});
