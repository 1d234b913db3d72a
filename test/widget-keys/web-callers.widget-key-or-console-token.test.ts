import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiAuth } from '../../src/api/auth/api-auth.js';
import { oauthTokenRoutes } from '../../src/api/auth/token-endpoint.js';
import { WebCallers } from '../../src/app/web-callers.js';
import { WidgetAccess } from '../../src/app/widget-access.js';
import { openDatabase, type Store } from '../../src/store/database.js';
import { WidgetKeyRepository, type CreatedWidgetKey } from '../../src/store/widget-key-repository.js';
import { systemClock } from '../../src/runtime/clock.js';
import { captureLogger } from '../support/captured-logger.js';
import { makeTempDir, type TempDir } from '../support/store-fixtures.js';

const ADMIN = 'static-admin-token-for-web-caller-tests';
const GATEWAY = 'https://voxgate.example';
const SHOP = 'https://shop.example';

describe('WebCallers: a widget key from its website, a console token from the console', () => {
  const logs = captureLogger();
  const bots = new Set(['flow', 'sales']);
  let dir: TempDir;
  let store: Store;
  let auth: ApiAuth;
  let tokens: FastifyInstance;
  let widgetAccess: WidgetAccess;
  let callers: WebCallers;
  let key: CreatedWidgetKey;

  beforeAll(async () => {
    dir = await makeTempDir('voxgate-web-callers-');
    store = await openDatabase({ dataDir: dir.path });
    auth = await ApiAuth.create({ db: store.db, staticToken: ADMIN });
    tokens = Fastify();
    await tokens.register(oauthTokenRoutes, { auth, logger: logs.logger });
    const keys = new WidgetKeyRepository(store.db);
    widgetAccess = new WidgetAccess({ keys, knowsBot: (name) => bots.has(name), clock: systemClock, logger: logs.logger, throttle: auth.throttle });
    callers = new WebCallers({ auth, knowsBot: (name) => bots.has(name), consoleOrigins: () => [GATEWAY], widgetAccess });
    key = await keys.create({ name: 'Shop', bot: 'sales', origins: [SHOP], maxConcurrentCalls: 1, callsPerMinute: 10 });
  });
  afterAll(async () => {
    await widgetAccess.close();
    await tokens.close();
    await auth.close();
    await store.close();
    await dir.remove();
  });

  const accessToken = async (...scopes: string[]) => {
    const client = await auth.clients.create({ name: 'operator', scopes });
    const res = await tokens.inject({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'client_credentials', client_id: client.client.clientId, client_secret: client.clientSecret } });
    return { clientId: client.client.clientId, token: res.json().access_token as string };
  };

  it('a widget key calls its own bot from its website, needing no ?bot=, as widget:<keyId>; its slot frees on release', async () => {
    const outcome = await callers.admitCall({ authorization: `Bearer ${key.secret}`, origin: SHOP, selfOrigin: GATEWAY, ip: '203.0.113.5' });
    expect(outcome).toMatchObject({ ok: true, caller: { identity: `widget:${key.key.id}`, displayName: 'Shop', bot: 'sales' } });
    expect(await callers.admitCall({ authorization: `Bearer ${key.secret}`, origin: SHOP, ip: '203.0.113.5' })).toMatchObject({ ok: false, status: 429 });
    if (outcome.ok) outcome.caller.release();
    const next = await callers.admitCall({ authorization: `Bearer ${key.secret}`, origin: SHOP, ip: '203.0.113.5' });
    expect(next.ok).toBe(true);
    if (next.ok) next.caller.release();
  });

  it('a widget key is refused from the console\'s own origin when the key does not list it', async () => {
    expect(await callers.admitCall({ authorization: `Bearer ${key.secret}`, origin: GATEWAY, selfOrigin: GATEWAY, ip: '203.0.113.5' })).toEqual({ ok: false, status: 403, error: `origin ${GATEWAY} is not allowed for widget key ${key.key.id}; add it to the key's origins` });
  });

  it('a console token with calls:web calls any bot from the console as console:<client>, but not from the website', async () => {
    const operator = await accessToken('calls:web');
    expect(await callers.admitCall({ authorization: `Bearer ${operator.token}`, origin: GATEWAY, selfOrigin: GATEWAY, bot: 'flow', ip: '127.0.0.1' })).toMatchObject({ ok: true, caller: { identity: `console:${operator.clientId}`, bot: 'flow' } });
    expect(await callers.admitCall({ authorization: `Bearer ${operator.token}`, origin: SHOP, selfOrigin: GATEWAY, bot: 'flow', ip: '127.0.0.1' })).toMatchObject({ ok: false, status: 403, error: expect.stringContaining(`origin ${SHOP} may not use a console credential`) });
    const reader = await accessToken('widgets:read');
    expect(await callers.admitCall({ authorization: `Bearer ${reader.token}`, origin: GATEWAY, selfOrigin: GATEWAY, bot: 'flow', ip: '127.0.0.1' })).toEqual({ ok: false, status: 403, error: `client ${reader.clientId} lacks scope calls:web` });
    expect(await callers.admitCall({ authorization: `Bearer ${ADMIN}`, origin: GATEWAY, selfOrigin: GATEWAY, bot: 'flow', ip: '127.0.0.1' })).toMatchObject({ ok: true });
  });

  it('preflights: the website of an active key and the console pass; any other origin is 403', async () => {
    expect(await callers.checkOrigin({ origin: SHOP, selfOrigin: GATEWAY })).toEqual({ ok: true });
    expect(await callers.checkOrigin({ origin: GATEWAY, selfOrigin: GATEWAY })).toEqual({ ok: true });
    expect(await callers.checkOrigin({ origin: 'https://evil.example', selfOrigin: GATEWAY })).toMatchObject({ ok: false, status: 403 });
    expect(await callers.checkOrigin({ authorization: `Bearer ${key.secret}`, origin: 'https://evil.example', selfOrigin: GATEWAY })).toMatchObject({ ok: false, status: 403, error: expect.stringContaining(key.key.id) });
  });

  it('a made-up widget key is 401 without touching the console path', async () => {
    expect(await callers.admitCall({ authorization: 'Bearer vxw_AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB', origin: SHOP, ip: '203.0.113.9' })).toEqual({ ok: false, status: 401, error: 'unknown widget key AAAAAAAAAAAAAAAA (no such key, or a wrong secret)' });
  });

  it('an address guessing widget keys is locked out like one guessing tokens (429), even with a valid key; others are not', async () => {
    const guess = (i: number) => `Bearer vxw_GUESS${String(i).padStart(11, '0')}.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB`;
    // api.authLimits.source.maxFailures defaults to 10.
    for (let i = 0; i < 10; i++) expect(await callers.admitCall({ authorization: guess(i), origin: SHOP, ip: '198.51.100.7' })).toMatchObject({ status: 401 });
    expect(await callers.admitCall({ authorization: guess(10), origin: SHOP, ip: '198.51.100.7' })).toMatchObject({ ok: false, status: 429, error: 'too many failed authentications from this address', retryAfterSec: expect.any(Number) });
    expect(await callers.admitCall({ authorization: `Bearer ${key.secret}`, origin: SHOP, ip: '198.51.100.7' })).toMatchObject({ status: 429 });
    const elsewhere = await callers.admitCall({ authorization: `Bearer ${key.secret}`, origin: SHOP, ip: '198.51.100.8' });
    expect(elsewhere.ok).toBe(true);
    if (elsewhere.ok) elsewhere.caller.release();
  });
});
