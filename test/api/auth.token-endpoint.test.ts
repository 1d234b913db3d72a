import Fastify, { type FastifyInstance } from 'fastify';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiAuth } from '../../src/api/auth/api-auth.js';
import { oauthTokenRoutes } from '../../src/api/auth/token-endpoint.js';
import { SIGNING_KEY_SETTING } from '../../src/api/auth/signing-key.js';
import { FakeClock } from '../support/fake-clock.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';
import { captureLogger } from '../support/captured-logger.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

describeOnEachDialect('POST /oauth/token (client credentials grant)', (ctx) => {
  let app: FastifyInstance;
  let auth: ApiAuth;
  const clock = new FakeClock();
  const logs = captureLogger();
  let client: { id: string; secret: string };
  let readOnly: { id: string; secret: string };

  beforeAll(async () => {
    auth = await ApiAuth.create({ db: ctx.store.db, clock, tokenTtlSeconds: 600 });
    app = Fastify();
    await app.register(oauthTokenRoutes, { auth, logger: logs.logger });
    await app.ready();
    const created = await auth.clients.create({ name: 'billing sync', scopes: ['calls:read', 'campaigns:read', 'campaigns:write'] });
    client = { id: created.client.clientId, secret: created.clientSecret };
    const ro = await auth.clients.create({ name: 'read only', scopes: ['calls:read'] });
    readOnly = { id: ro.client.clientId, secret: ro.clientSecret };
  });
  afterAll(async () => app.close());

  const token = (payload: string, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: '/oauth/token', headers: { ...FORM, ...headers }, payload });

  it('issues a Bearer JWT for client_secret_basic with the client scopes, not cacheable', async () => {
    const res = await token('grant_type=client_credentials', { authorization: basic(client.id, client.secret) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['pragma']).toBe('no-cache');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.json();
    expect(body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 600, scope: 'calls:read campaigns:read campaigns:write' });
    expect(decodeProtectedHeader(body.access_token)).toMatchObject({ alg: 'HS256', typ: 'at+jwt' });
    const claims = decodeJwt(body.access_token);
    expect(claims).toMatchObject({ iss: 'voxgate', sub: client.id, scope: 'calls:read campaigns:read campaigns:write', iat: clock.now() / 1000, exp: clock.now() / 1000 + 600 });
    expect(claims.jti).toEqual(expect.any(String));
    expect(await auth.authenticate(`Bearer ${body.access_token}`)).toEqual({ clientId: client.id, scopes: ['calls:read', 'campaigns:read', 'campaigns:write'] });
    expect((await auth.clients.get(client.id))?.lastUsedAt).toBe(clock.now());
  });

  it('accepts client_secret_post and a JSON body, and narrows to a requested subset of scopes', async () => {
    const form = await token(`grant_type=client_credentials&client_id=${client.id}&client_secret=${encodeURIComponent(client.secret)}&scope=calls%3Aread`);
    expect(form.statusCode).toBe(200);
    expect(form.json().scope).toBe('calls:read');
    expect(decodeJwt(form.json().access_token).scope).toBe('calls:read');

    const json = await app.inject({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret, scope: 'campaigns:write calls:read' } });
    expect(json.statusCode).toBe(200);
    expect(json.json().scope).toBe('campaigns:write calls:read');
  });

  it('accepts a charset parameter on the form content type; other media types are invalid_request', async () => {
    const withCharset = await app.inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8', authorization: basic(client.id, client.secret) }, payload: 'grant_type=client_credentials' });
    expect(withCharset.statusCode).toBe(200);
    const text = await app.inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'text/plain', authorization: basic(client.id, client.secret) }, payload: 'grant_type=client_credentials' });
    expect(text.statusCode).toBe(400);
    expect(text.json()).toEqual({ error: 'invalid_request', error_description: expect.any(String) });
  });

  it('works over real HTTP the way an OAuth library calls it (URLSearchParams body, Basic credentials)', async () => {
    const server = Fastify();
    await server.register(oauthTokenRoutes, { auth, logger: logs.logger });
    const base = await server.listen({ host: '127.0.0.1', port: 0 });
    try {
      const res = await fetch(`${base}/oauth/token`, { method: 'POST', headers: { authorization: basic(client.id, client.secret), accept: 'application/json' }, body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'campaigns:read' }) });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await res.json()).toMatchObject({ token_type: 'Bearer', scope: 'campaigns:read' });
      const denied = await fetch(`${base}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials' }) });
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toBe('Basic realm="voxgate"');
    } finally {
      await server.close();
    }
  });

  it('gives each token its own jti', async () => {
    const a = (await token('grant_type=client_credentials', { authorization: basic(client.id, client.secret) })).json();
    const b = (await token('grant_type=client_credentials', { authorization: basic(client.id, client.secret) })).json();
    expect(decodeJwt(a.access_token).jti).not.toBe(decodeJwt(b.access_token).jti);
  });

  it('invalid_scope (400) for a scope beyond the client grant, an unknown scope, or an empty one', async () => {
    for (const [scope, named] of [['calls:read admin', 'admin'], ['calls:read bogus:thing', 'bogus:thing'], ['   ', 'scope']]) {
      const res = await token(`grant_type=client_credentials&scope=${encodeURIComponent(scope)}`, { authorization: basic(readOnly.id, readOnly.secret) });
      expect(res.statusCode).toBe(400);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.json()).toEqual({ error: 'invalid_scope', error_description: expect.stringContaining(named) });
    }
  });

  it('invalid_client (401, WWW-Authenticate Basic) for a wrong secret, an unknown client, or no client authentication', async () => {
    const cases = [
      token('grant_type=client_credentials', { authorization: basic(client.id, 'wrong-secret') }),
      token('grant_type=client_credentials', { authorization: basic('vgc_nobody', client.secret) }),
      token('grant_type=client_credentials'),
      token('grant_type=client_credentials', { authorization: 'Bearer something' }),
    ];
    for (const res of await Promise.all(cases)) {
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Basic realm="voxgate"');
      expect(res.json()).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
      expect(res.json()).not.toHaveProperty('access_token');
    }
  });

  it('invalid_client (401) without a Basic challenge when the client authenticated in the body (a browser would prompt)', async () => {
    const res = await token(`grant_type=client_credentials&client_id=${client.id}&client_secret=nope`);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(res.json()).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
  });

  it('unsupported_grant_type (400) for other grants; invalid_request (400) for a missing grant, repeated parameters, two auth methods, malformed JSON', async () => {
    const password = await token('grant_type=password&username=a&password=b', { authorization: basic(client.id, client.secret) });
    expect(password.statusCode).toBe(400);
    expect(password.json()).toEqual({ error: 'unsupported_grant_type', error_description: expect.stringContaining('password') });

    const invalid = [
      [await token('scope=calls%3Aread', { authorization: basic(client.id, client.secret) }), 'grant_type'],
      [await token('grant_type=client_credentials&grant_type=client_credentials', { authorization: basic(client.id, client.secret) }), 'more than once'],
      [await token(`grant_type=client_credentials&client_id=${client.id}&client_secret=${encodeURIComponent(client.secret)}`, { authorization: basic(client.id, client.secret) }), 'one client authentication method'],
      [await app.inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/json' }, payload: '{"grant_type":' }), ''],
      [await app.inject({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'client_credentials', scope: ['calls:read'] } }), 'scope'],
    ] as const;
    for (const [res, named] of invalid) {
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({ error: 'invalid_request', error_description: expect.stringContaining(named) });
    }
  });

  it('unauthorized_client (400) for a client that holds no scope', async () => {
    const created = await auth.clients.create({ name: 'emptied', scopes: ['alarms:read'] });
    await ctx.store.db.updateTable('oauth_clients').set({ scopes: '[]' }).where('client_id', '=', created.client.clientId).execute();
    const res = await token('grant_type=client_credentials', { authorization: basic(created.client.clientId, created.clientSecret) });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'unauthorized_client', error_description: expect.stringContaining(created.client.clientId) });
  });

  it('a revoked client gets invalid_client, and the tokens it already holds stop working', async () => {
    const created = await auth.clients.create({ name: 'to revoke', scopes: ['dialout'] });
    const issued = (await token('grant_type=client_credentials', { authorization: basic(created.client.clientId, created.clientSecret) })).json();
    expect(await auth.authenticate(`Bearer ${issued.access_token}`)).toMatchObject({ clientId: created.client.clientId });
    await auth.revokeClient(created.client.clientId);
    expect(await auth.authenticate(`Bearer ${issued.access_token}`)).toBeUndefined();
    const again = await token('grant_type=client_credentials', { authorization: basic(created.client.clientId, created.clientSecret) });
    expect(again.statusCode).toBe(401);
    expect(again.json().error).toBe('invalid_client');
  });

  it('tokens expire after expires_in seconds', async () => {
    const issued = (await token('grant_type=client_credentials', { authorization: basic(client.id, client.secret) })).json();
    clock.advance(599_000);
    expect(await auth.authenticate(`Bearer ${issued.access_token}`)).toBeDefined();
    clock.advance(1_000);
    expect(await auth.authenticate(`Bearer ${issued.access_token}`)).toBeUndefined();
  });

  it('keeps the generated signing key in settings: a restarted process on the same database accepts earlier tokens', async () => {
    const issued = (await token('grant_type=client_credentials', { authorization: basic(client.id, client.secret) })).json();
    const setting = await ctx.store.db.selectFrom('settings').select('value').where('key', '=', SIGNING_KEY_SETTING).executeTakeFirstOrThrow();
    expect(Buffer.from(JSON.parse(setting.value) as string, 'base64url')).toHaveLength(32);
    const restarted = await ctx.reopen();
    const otherProcess = await ApiAuth.create({ db: restarted.db, clock });
    expect(await otherProcess.authenticate(`Bearer ${issued.access_token}`)).toMatchObject({ clientId: client.id });
    // A configured key is another key: the stored one's tokens do not verify under it.
    const configured = await ApiAuth.create({ db: restarted.db, clock, signingKey: 'k'.repeat(32) });
    expect(await configured.authenticate(`Bearer ${issued.access_token}`)).toBeUndefined();
  });

  it('never logs a client secret or an access token', async () => {
    const issued = (await token('grant_type=client_credentials', { authorization: basic(client.id, client.secret) })).json();
    await token('grant_type=client_credentials', { authorization: basic(client.id, 'wrong-secret') });
    const text = JSON.stringify(logs.lines);
    expect(logs.lines.some((l) => l.msg === 'OAuth access token issued')).toBe(true);
    expect(logs.lines.some((l) => l.msg === 'OAuth client authentication failed' && l.reason === 'wrong secret')).toBe(true);
    expect(text).not.toContain(client.secret);
    expect(text).not.toContain(readOnly.secret);
    expect(text).not.toContain('wrong-secret');
    expect(text).not.toContain(issued.access_token);
  });
});

describe('signing key option', () => {
  it('refuses a configured signing key shorter than 32 characters, naming the setting', async () => {
    await expect(ApiAuth.create({ db: undefined as never, signingKey: 'short' })).rejects.toThrow(/api\.oauth\.signingKey: expected at least 32 characters/);
  });
});
