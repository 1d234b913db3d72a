import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogger } from '../support/captured-logger.js';
import { requestFrom, startAuthServer, tokenRequest, type AuthServer } from '../support/auth-server.js';

const ADMIN = 'static-admin-token-for-revoke-tests';
const FROM = '127.0.0.1';

describe('DELETE /api/v1/clients/:id: a caller may only revoke clients whose scopes it holds itself', () => {
  const logs = captureLogger();
  let server: AuthServer;
  const tokenOf = async (scopes: Parameters<AuthServer['auth']['clients']['create']>[0]['scopes']) => {
    const created = await server.auth.clients.create({ name: scopes.join(' '), scopes });
    const token = (await tokenRequest(server, FROM, created.client.clientId, created.clientSecret)).json.access_token as string;
    return { id: created.client.clientId, token };
  };
  const revoke = (token: string, id: string) => requestFrom(FROM, `${server.url}/api/v1/clients/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    server = await startAuthServer({ logger: logs.logger, staticToken: ADMIN });
  });
  afterAll(async () => server.close());

  it('clients:write alone cannot revoke an admin client: 403 naming the missing scope, and the admin keeps working', async () => {
    const writer = await tokenOf(['clients:write']);
    const admin = await tokenOf(['admin']);
    const res = await revoke(writer.token, admin.id);
    expect(res.status).toBe(403);
    expect(res.json).toEqual({ error: `scopes: cannot revoke client ${admin.id}: it holds admin, which the caller does not` });
    expect((await server.auth.clients.get(admin.id))?.revokedAt).toBeNull();
    expect((await requestFrom(FROM, `${server.url}/api/v1/clients`, { headers: { authorization: `Bearer ${admin.token}` } })).status).toBe(200);
    expect(logs.lines.some((l) => l.msg.startsWith('OAuth API client revocation refused') && l.clientId === admin.id)).toBe(true);
  });

  it('names every scope the caller lacks, and allows a client whose scopes are a subset of the caller\'s', async () => {
    const writer = await tokenOf(['clients:write', 'calls:read']);
    const broader = await tokenOf(['calls:read', 'dialout', 'campaigns:write']);
    const refused = await revoke(writer.token, broader.id);
    expect(refused.status).toBe(403);
    expect(refused.json.error).toMatch(/it holds dialout, campaigns:write, which the caller does not/);

    const narrower = await tokenOf(['calls:read']);
    const done = await revoke(writer.token, narrower.id);
    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({ clientId: narrower.id, revokedAt: expect.any(String) });
  });

  it('an admin (client or api.token) revokes anyone; an unknown id is still 404', async () => {
    const admin = await tokenOf(['admin']);
    const other = await tokenOf(['admin']);
    expect((await revoke(admin.token, other.id)).status).toBe(200);
    const third = await tokenOf(['clients:write']);
    expect((await revoke(ADMIN, third.id)).status).toBe(200);
    expect((await revoke(ADMIN, 'vgc_nobody')).status).toBe(404);
  });
});
