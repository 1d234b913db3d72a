import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ApiAuth, Principal } from '../../src/api/auth/api-auth.js';
import { listScopedRoutes, scopeEnforcement } from '../../src/api/auth/scope-enforcement.js';
import type { Scope } from '../../src/api/auth/scopes.js';
import { callsRoutes } from '../../src/api/calls-routes.js';
import { configRoutes } from '../../src/api/config-routes.js';
import { ttsCacheRoutes } from '../../src/api/tts-cache-routes.js';
import { RuntimeConfig } from '../../src/config/runtime-config.js';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/logger.js';
import { ConfigRepository } from '../../src/store/config-repository.js';
import { CallRetention } from '../../src/store/retention.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

/** Bearer tokens named after the one scope they carry ("Bearer calls:read"); the token machinery is tested with the auth plugin. */
const principalOf = (header?: string): Principal | undefined => (header?.startsWith('Bearer ') ? { clientId: 'test', scopes: [header.slice(7) as Scope] } : undefined);
const tokenAuth = {
  authenticate: async (header?: string) => principalOf(header),
  authenticateRequest: async (header?: string) => {
    const principal = principalOf(header);
    return principal ? { ok: true, principal } : { ok: false, reason: header ? 'invalid' : 'missing' };
  },
} as unknown as ApiAuth;

const EXPECTED: [string, string, Scope][] = [
  ['GET', '/api/v1/calls/live', 'calls:read'],
  ['GET', '/api/v1/calls', 'calls:read'],
  ['GET', '/api/v1/calls/:id', 'calls:read'],
  ['GET', '/api/v1/calls/:id/recordings/:n', 'calls:read'],
  ['GET', '/api/v1/settings/retention', 'admin'],
  ['PUT', '/api/v1/settings/retention', 'admin'],
  ['POST', '/api/v1/calls/purge', 'admin'],
  ['GET', '/api/v1/bots', 'bots:read'],
  ['GET', '/api/v1/bots/:name', 'bots:read'],
  ['PUT', '/api/v1/bots/:name', 'bots:write'],
  ['DELETE', '/api/v1/bots/:name', 'bots:write'],
  ['GET', '/api/v1/routes', 'routes:read'],
  ['GET', '/api/v1/routes/:number', 'routes:read'],
  ['PUT', '/api/v1/routes/:number', 'routes:write'],
  ['DELETE', '/api/v1/routes/:number', 'routes:write'],
  ['GET', '/api/v1/providers/:section', 'providers:read'],
  ['PUT', '/api/v1/providers/:section', 'providers:write'],
  ['DELETE', '/api/v1/providers/:section', 'providers:write'],
  ['GET', '/api/v1/tts-cache', 'providers:read'],
  ['POST', '/api/v1/tts-cache/clear', 'providers:write'],
];

describeOnEachDialect('management routes behind scope enforcement', (ctx) => {
  let app: FastifyInstance;

  beforeAll(async () => {
    const { store } = ctx;
    const logger = silentLogger();
    app = Fastify();
    const config = await RuntimeConfig.open({ file: configSchema.parse({}), entries: new ConfigRepository(store.db) });
    const retention = new CallRetention({ store, settings: new ConfigRepository(store.db), recordingsDir: '/x' });
    await app.register(async (api) => {
      await api.register(scopeEnforcement, { auth: tokenAuth, logger });
      await api.register(callsRoutes, { prefix: '/api/v1', store, live: { list: () => [] }, retention, recordingsDir: '/x', logger });
      await api.register(configRoutes, { prefix: '/api/v1', config, logger });
      await api.register(ttsCacheRoutes, { prefix: '/api/v1', cache: undefined, logger });
    });
    await app.ready();
  });
  afterAll(() => app?.close());

  it('every route declares the scope the API conventions give it', () => {
    const declared = listScopedRoutes(app).filter((r) => r.method !== 'HEAD').map((r) => [r.method, r.url, r.scope]);
    expect(declared).toEqual(expect.arrayContaining(EXPECTED));
    expect(declared).toHaveLength(EXPECTED.length);
  });

  it('answers 401 without a token and 403 naming the scope with the wrong one; the right scope or admin gets through', async () => {
    expect((await app.inject({ url: '/api/v1/calls' })).statusCode).toBe(401);
    const wrong = await app.inject({ url: '/api/v1/calls', headers: { authorization: 'Bearer bots:read' } });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json()).toEqual({ error: 'missing scope calls:read' });
    expect((await app.inject({ url: '/api/v1/calls', headers: { authorization: 'Bearer calls:read' } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/api/v1/calls/purge', headers: { authorization: 'Bearer calls:read' } })).json()).toEqual({ error: 'missing scope admin' });
    expect((await app.inject({ method: 'PUT', url: '/api/v1/routes/*', headers: { authorization: 'Bearer routes:read' }, payload: { bot: 'demo' } })).statusCode).toBe(403);
    expect((await app.inject({ url: '/api/v1/bots/demo', headers: { authorization: 'Bearer admin' } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/v1/providers/tts', headers: { authorization: 'Bearer providers:read' } })).statusCode).toBe(200);
  });
});
