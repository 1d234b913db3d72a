import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiAuth, STATIC_TOKEN_PRINCIPAL } from '../../src/api/auth/api-auth.js';
import { hashSecret, verifySecret } from '../../src/api/auth/secret-hash.js';
import { ConfigError } from '../../src/runtime/config-error.js';
import { openDatabase, type Store } from '../../src/store/database.js';
import { makeTempDir, type TempDir } from '../support/store-fixtures.js';

describe('createApiAuth from the api config section', () => {
  let dir: TempDir;
  let store: Store;
  beforeAll(async () => {
    dir = await makeTempDir('voxgate-api-auth-');
    store = await openDatabase({ dataDir: dir.path });
  });
  afterAll(async () => {
    await store.close();
    await dir.remove();
  });

  it('resolves api.token and api.oauth.signingKey from the environment; tokens live tokenTtlSeconds', async () => {
    const env = { VOXGATE_API_TOKEN: 'env-admin-token', VOXGATE_OAUTH_SIGNING_KEY: 's'.repeat(40) };
    const auth = await createApiAuth({ token: { env: 'VOXGATE_API_TOKEN' }, oauth: { signingKey: { env: 'VOXGATE_OAUTH_SIGNING_KEY' }, tokenTtlSeconds: 120 } }, store.db, env);
    expect(await auth.authenticate('Bearer env-admin-token')).toEqual({ clientId: STATIC_TOKEN_PRINCIPAL, scopes: ['admin'] });
    expect(auth.tokens.ttlSeconds).toBe(120);
    const same = await createApiAuth({ oauth: { signingKey: 's'.repeat(40) } }, store.db, {});
    const created = await auth.clients.create({ name: 'ttl', scopes: ['calls:read'] });
    expect(await same.authenticate(`Bearer ${await auth.tokens.issue(created.client.clientId, ['calls:read'])}`)).toMatchObject({ clientId: created.client.clientId });
  });

  it('a missing environment variable is a config error naming the setting', async () => {
    await expect(createApiAuth({ oauth: { signingKey: { env: 'NOT_SET_ANYWHERE' } } }, store.db, {})).rejects.toThrow(ConfigError);
    await expect(createApiAuth({ oauth: { signingKey: { env: 'NOT_SET_ANYWHERE' } } }, store.db, {})).rejects.toThrow(/api\.oauth\.signingKey: environment variable NOT_SET_ANYWHERE/);
  });

  it('without api.token, Bearer and Basic credentials alone prove nothing', async () => {
    const auth = await createApiAuth({}, store.db, {});
    expect(await auth.authenticate(undefined)).toBeUndefined();
    expect(await auth.authenticate('Bearer ')).toBeUndefined();
    expect(await auth.authenticate(`Basic ${Buffer.from('a:b').toString('base64')}`)).toBeUndefined();
  });
});

describe('client secret hashes', () => {
  it('verify the right secret only; a stored value of another format is a mismatch, not a crash', async () => {
    const stored = await hashSecret('correct horse');
    expect(stored).toMatch(/^scrypt\$16384\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(await verifySecret('correct horse', stored)).toBe(true);
    expect(await verifySecret('correct horsf', stored)).toBe(false);
    for (const bad of ['', 'plain', 'bcrypt$x', 'scrypt$0$8$1$abc$def', 'scrypt$16384$8$1$abc$', 'scrypt$16384$4096$64$abc$def']) {
      expect(await verifySecret('correct horse', bad)).toBe(false);
    }
  });
});
