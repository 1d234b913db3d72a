import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiAuth } from '../../src/api/auth/api-auth.js';
import { scopeEnforcement } from '../../src/api/auth/scope-enforcement.js';
import { oauthTokenRoutes } from '../../src/api/auth/token-endpoint.js';
import { widgetKeysRoutes } from '../../src/api/widget-keys-routes.js';
import { WidgetKeyRepository } from '../../src/store/widget-key-repository.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';
import { captureLogger } from '../support/captured-logger.js';

const ADMIN = 'static-admin-token-for-widget-key-tests';
const BOTS = new Set(['flow', 'sales']);

describeOnEachDialect('/api/v1/widget-keys: widget key management', (ctx) => {
  let app: FastifyInstance;
  let auth: ApiAuth;
  const logs = captureLogger();

  beforeAll(async () => {
    auth = await ApiAuth.create({ db: ctx.store.db, staticToken: ADMIN });
    app = Fastify();
    await app.register(oauthTokenRoutes, { auth, logger: logs.logger });
    await app.register(async (api) => {
      await api.register(scopeEnforcement, { auth, logger: logs.logger });
      await api.register(widgetKeysRoutes, { prefix: '/api/v1/widget-keys', keys: new WidgetKeyRepository(ctx.store.db), knowsBot: (name) => BOTS.has(name), logger: logs.logger });
    });
    await app.ready();
  });
  afterAll(async () => app.close());

  const as = (token: string) => ({ authorization: `Bearer ${token}` });
  const tokenWith = async (...scopes: string[]) => {
    const client = await auth.clients.create({ name: `with ${scopes.join(' ')}`, scopes });
    const res = await app.inject({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'client_credentials', client_id: client.client.clientId, client_secret: client.clientSecret } });
    return res.json().access_token as string;
  };
  const create = (payload: unknown, token = ADMIN) => app.inject({ method: 'POST', url: '/api/v1/widget-keys', headers: as(token), payload: payload as object });
  const valid = { name: 'Shop site', bot: 'flow', origins: ['https://shop.example'] };

  it('creates a key (201, no-store) with default limits and returns its secret once; GET never shows it again', async () => {
    const res = await create(valid);
    expect(res.statusCode).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(body).toEqual({
      key: { id: expect.any(String), name: 'Shop site', bot: 'flow', origins: ['https://shop.example'], maxConcurrentCalls: 5, callsPerMinute: 20, createdAt: expect.any(String), updatedAt: expect.any(String), revokedAt: null, lastUsedAt: null },
      secret: expect.stringMatching(new RegExp(`^vxw_${body.key.id}\\.`)),
    });
    const one = await app.inject({ method: 'GET', url: `/api/v1/widget-keys/${body.key.id}`, headers: as(ADMIN) });
    expect(one.json()).toEqual(body.key);
    const list = await app.inject({ method: 'GET', url: '/api/v1/widget-keys', headers: as(ADMIN) });
    expect(list.json().keys).toContainEqual(body.key);
    for (const text of [one.body, list.body]) {
      expect(text).not.toContain(body.secret.split('.')[1]);
      expect(text).not.toContain('sha256$');
    }
    expect(logs.lines.some((l) => l.msg === 'widget key created' && l.keyId === body.key.id)).toBe(true);
    expect(JSON.stringify(logs.lines)).not.toContain(body.secret);
  });

  it('widgets:read lists and reads but cannot create, edit or revoke; widgets:write creates', async () => {
    const reader = await tokenWith('widgets:read');
    const id = (await create(valid)).json().key.id as string;
    expect((await app.inject({ method: 'GET', url: '/api/v1/widget-keys', headers: as(reader) })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: `/api/v1/widget-keys/${id}`, headers: as(reader) })).statusCode).toBe(200);
    const refused = await create(valid, reader);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toEqual({ error: 'missing scope widgets:write' });
    expect((await app.inject({ method: 'PATCH', url: `/api/v1/widget-keys/${id}`, headers: as(reader), payload: { name: 'x' } })).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: `/api/v1/widget-keys/${id}/revoke`, headers: as(reader) })).statusCode).toBe(403);

    const writer = await tokenWith('widgets:write');
    expect((await create(valid, writer)).statusCode).toBe(201);
    expect((await app.inject({ method: 'GET', url: '/api/v1/widget-keys', headers: as(writer) })).json()).toEqual({ error: 'missing scope widgets:read' });
    expect((await app.inject({ method: 'GET', url: '/api/v1/widget-keys' })).statusCode).toBe(401);
  });

  it('PATCH changes name, bot, origins and limits; the secret stays the one shown at creation', async () => {
    const created = (await create(valid)).json();
    const res = await app.inject({ method: 'PATCH', url: `/api/v1/widget-keys/${created.key.id}`, headers: as(ADMIN), payload: { name: 'Shop (new)', bot: 'sales', origins: ['https://shop.example', 'https://www.shop.example:8443'], maxConcurrentCalls: 2, callsPerMinute: 60 } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: created.key.id, name: 'Shop (new)', bot: 'sales', origins: ['https://shop.example', 'https://www.shop.example:8443'], maxConcurrentCalls: 2, callsPerMinute: 60 });
    expect(res.body).not.toContain(created.secret.split('.')[1]);
  });

  it('revokes a key: the record shows revokedAt, a second revoke keeps it, an edit afterwards is 409', async () => {
    const { key } = (await create(valid)).json();
    const first = await app.inject({ method: 'POST', url: `/api/v1/widget-keys/${key.id}/revoke`, headers: as(ADMIN) });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ id: key.id, revokedAt: expect.any(String) });
    const again = await app.inject({ method: 'POST', url: `/api/v1/widget-keys/${key.id}/revoke`, headers: as(ADMIN) });
    expect(again.json().revokedAt).toBe(first.json().revokedAt);
    const edit = await app.inject({ method: 'PATCH', url: `/api/v1/widget-keys/${key.id}`, headers: as(ADMIN), payload: { name: 'revived' } });
    expect(edit.statusCode).toBe(409);
    expect(edit.json()).toEqual({ error: `widget key ${key.id} was revoked; create a new key instead` });
  });

  it('404 naming the id for an unknown key on GET, PATCH and revoke', async () => {
    for (const [method, url] of [['GET', '/api/v1/widget-keys/nokey123'], ['PATCH', '/api/v1/widget-keys/nokey123'], ['POST', '/api/v1/widget-keys/nokey123/revoke']] as const) {
      const res = await app.inject({ method, url, headers: as(ADMIN), ...(method === 'PATCH' ? { payload: { name: 'x' } } : {}) });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ error: 'id: no widget key nokey123' });
    }
  });

  it('400 naming the field for bad origins, an unknown bot, limits out of bounds, unknown fields, an empty edit', async () => {
    const cases: [unknown, string][] = [
      [{ ...valid, origins: ['https://shop.example/checkout'] }, 'origins.0: "https://shop.example/checkout" is not an exact origin: write it as https://shop.example'],
      [{ ...valid, origins: ['*'] }, 'origins.0: "*" is not a URL'],
      [{ ...valid, origins: [] }, 'origins: expected at least one origin'],
      [{ ...valid, bot: 'ghost' }, 'bot: no bot named "ghost"'],
      [{ ...valid, maxConcurrentCalls: 0 }, 'maxConcurrentCalls:'],
      [{ ...valid, maxConcurrentCalls: 1.5 }, 'maxConcurrentCalls:'],
      [{ ...valid, callsPerMinute: 1_000_000 }, 'callsPerMinute:'],
      [{ ...valid, secret: 'mine' }, 'secret: not a known field'],
      [{ bot: 'flow', origins: ['https://shop.example'] }, 'name:'],
    ];
    for (const [payload, named] of cases) {
      const res = await create(payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error).toContain(named);
    }
    const { key } = (await create(valid)).json();
    const patch = (payload: object) => app.inject({ method: 'PATCH', url: `/api/v1/widget-keys/${key.id}`, headers: as(ADMIN), payload });
    expect((await patch({})).json().error).toContain('expected at least one of name, bot, origins');
    expect((await patch({ bot: 'ghost' })).json()).toEqual({ error: 'bot: no bot named "ghost"' });
    expect((await patch({ origins: ['http://localhost:3000/'] })).json().error).toContain('write it as http://localhost:3000');
  });
});
