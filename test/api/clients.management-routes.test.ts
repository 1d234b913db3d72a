import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiAuth } from '../../src/api/auth/api-auth.js';
import { scopeEnforcement } from '../../src/api/auth/scope-enforcement.js';
import { oauthTokenRoutes } from '../../src/api/auth/token-endpoint.js';
import { clientsRoutes } from '../../src/api/clients-routes.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';
import { captureLogger } from '../support/captured-logger.js';

const ADMIN = 'static-admin-token-for-client-tests-xyz';

describeOnEachDialect('/api/v1/clients: API client management', (ctx) => {
  let app: FastifyInstance;
  const logs = captureLogger();

  beforeAll(async () => {
    const auth = await ApiAuth.create({ db: ctx.store.db, staticToken: ADMIN });
    app = Fastify();
    await app.register(oauthTokenRoutes, { auth, logger: logs.logger });
    await app.register(async (api) => {
      await api.register(scopeEnforcement, { auth, logger: logs.logger });
      await api.register(clientsRoutes, { prefix: '/api/v1/clients', auth, logger: logs.logger });
    });
    await app.ready();
  });
  afterAll(async () => app.close());

  const as = (token: string) => ({ authorization: `Bearer ${token}` });
  const create = (token: string, payload: unknown) => app.inject({ method: 'POST', url: '/api/v1/clients', headers: as(token), payload: payload as object });
  const getToken = (clientId: string, clientSecret: string, scope?: string) =>
    app.inject({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, ...(scope ? { scope } : {}) } });

  it('creates a client and returns its secret once (201, no-store); the secret gets a token with the granted scopes', async () => {
    const res = await create(ADMIN, { name: 'CRM integration', scopes: ['dialout', 'calls:read'] });
    expect(res.statusCode).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(body).toEqual({ clientId: expect.stringMatching(/^vgc_/), clientSecret: expect.any(String), name: 'CRM integration', scopes: ['dialout', 'calls:read'], createdAt: expect.any(String), revokedAt: null, lastUsedAt: null });
    const token = await getToken(body.clientId, body.clientSecret);
    expect(token.statusCode).toBe(200);
    expect(token.json().scope).toBe('dialout calls:read');
  });

  it('lists clients without secrets or hashes, and never logs a secret', async () => {
    const created = (await create(ADMIN, { name: 'listed', scopes: ['alarms:read'] })).json();
    const res = await app.inject({ method: 'GET', url: '/api/v1/clients', headers: as(ADMIN) });
    expect(res.statusCode).toBe(200);
    const listed = res.json().clients as Record<string, unknown>[];
    expect(listed.find((c) => c.clientId === created.clientId)).toEqual({ clientId: created.clientId, name: 'listed', scopes: ['alarms:read'], createdAt: created.createdAt, revokedAt: null, lastUsedAt: null });
    for (const client of listed) expect(Object.keys(client).sort()).toEqual(['clientId', 'createdAt', 'lastUsedAt', 'name', 'revokedAt', 'scopes']);
    expect(res.body).not.toContain(created.clientSecret);
    expect(res.body).not.toContain('scrypt$');
    expect(logs.lines.some((l) => l.msg === 'OAuth API client created' && l.clientId === created.clientId)).toBe(true);
    expect(JSON.stringify(logs.lines)).not.toContain(created.clientSecret);
  });

  it('revokes a client: DELETE answers the record with revokedAt, its tokens and its secret stop working', async () => {
    const created = (await create(ADMIN, { name: 'short-lived', scopes: ['clients:read'] })).json();
    const token = (await getToken(created.clientId, created.clientSecret)).json().access_token as string;
    expect((await app.inject({ method: 'GET', url: '/api/v1/clients', headers: as(token) })).statusCode).toBe(200);

    const res = await app.inject({ method: 'DELETE', url: `/api/v1/clients/${created.clientId}`, headers: as(ADMIN) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ clientId: created.clientId, revokedAt: expect.any(String) });
    expect((await app.inject({ method: 'GET', url: '/api/v1/clients', headers: as(token) })).statusCode).toBe(401);
    expect((await getToken(created.clientId, created.clientSecret)).json().error).toBe('invalid_client');
  });

  it('404 naming the id when revoking an unknown client', async () => {
    const res = await app.inject({ method: 'DELETE', url: '/api/v1/clients/vgc_missing', headers: as(ADMIN) });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: 'id: no API client vgc_missing' });
  });

  it('400 naming the field for a missing name, an unknown scope, no scopes, an extra field', async () => {
    const cases: [unknown, string][] = [
      [{ scopes: ['calls:read'] }, 'name:'],
      [{ name: 'x', scopes: ['calls:everything'] }, 'scopes.0:'],
      [{ name: 'x', scopes: [] }, 'scopes:'],
      [{ name: 'x', scopes: ['calls:read'], clientSecret: 'mine' }, 'clientSecret'],
    ];
    for (const [payload, named] of cases) {
      const res = await create(ADMIN, payload);
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toContain(named);
    }
  });

  it('a client with clients:write cannot grant scopes it does not hold (no way up to admin)', async () => {
    const manager = (await create(ADMIN, { name: 'manager', scopes: ['clients:write', 'calls:read'] })).json();
    const token = (await getToken(manager.clientId, manager.clientSecret)).json().access_token as string;
    const escalate = await create(token, { name: 'sneaky', scopes: ['admin'] });
    expect(escalate.statusCode).toBe(403);
    expect(escalate.json()).toEqual({ error: 'scopes: cannot grant admin: the caller does not hold it' });
    expect((await create(token, { name: 'fine', scopes: ['calls:read'] })).statusCode).toBe(201);
    // clients:write alone does not read the list.
    expect((await app.inject({ method: 'GET', url: '/api/v1/clients', headers: as(token) })).json()).toEqual({ error: 'missing scope clients:read' });
  });
});
