/**
 * An API client revoked through one instance is refused by the others at once, not after their
 * revocation cache (5 s) runs out: the revocation is announced on Redis and each instance drops
 * what it cached about the client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_REVOCATION_CACHE_MS } from '../../src/api/auth/api-auth.js';
import { api, clusterServers, startCluster, waitFor, type ClusterSetup } from '../support/config-cluster-gateways.js';

describe.skipIf(!clusterServers.reachable)('a client revoked on one instance', () => {
  let cluster: ClusterSetup;
  beforeAll(async () => {
    cluster = await startCluster(2, { bots: [{ name: 'front', type: 'flow' }], routes: [{ number: '*', bot: 'front' }], cluster: { configRefreshMs: 600_000 } });
  });
  afterAll(() => cluster?.close());

  it('is refused by the other instance well within the revocation cache time', async () => {
    const [a, b] = cluster.gateways;
    const created = await api(a, 'POST', '/api/v1/clients', { name: 'reporting', scopes: ['bots:read'] });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const client = created.json as { clientId: string; clientSecret: string };

    // A token from B, used on B: B now caches "not revoked" for this client.
    const tokenRes = await fetch(`${b.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret }).toString(),
    });
    expect(tokenRes.status).toBe(200);
    const { access_token: token } = (await tokenRes.json()) as { access_token: string };
    expect((await api(b, 'GET', '/api/v1/bots', undefined, token)).status).toBe(200);

    expect((await api(a, 'DELETE', `/api/v1/clients/${client.clientId}`)).status).toBe(200);
    const revokedAt = Date.now();
    await waitFor('B to refuse the revoked client', async () => (await api(b, 'GET', '/api/v1/bots', undefined, token)).status === 401, 10_000);
    expect(Date.now() - revokedAt).toBeLessThan(DEFAULT_REVOCATION_CACHE_MS / 2);
  });
});
