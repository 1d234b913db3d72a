/**
 * The periodic refresh is the safety net behind the Redis announcement: an edit that reached the
 * shared store without one (a lost message, an instance disconnected from Redis, a tool writing
 * the store) is applied by every instance within `cluster.configRefreshMs`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigCipher, parseSecretsKey } from '../../src/store/config-cipher.js';
import { ConfigRepository } from '../../src/store/config-repository.js';
import { clusterServers, SECRETS_KEY, startCluster, waitFor, type ClusterSetup } from '../support/config-cluster-gateways.js';

describe.skipIf(!clusterServers.reachable)('an edit in the shared store nobody announced', () => {
  let cluster: ClusterSetup;
  beforeAll(async () => {
    cluster = await startCluster(2, { bots: [{ name: 'front', type: 'flow' }], routes: [{ number: '*', bot: 'front' }], cluster: { configRefreshMs: 1000 } });
  });
  afterAll(() => cluster?.close());

  it('is applied by every instance within the refresh period', async () => {
    const [a, b] = cluster.gateways;
    // Written straight into the store, as another process would: no message on Redis.
    const entries = new ConfigRepository(a.store.db, new ConfigCipher(parseSecretsKey(SECRETS_KEY, 'secretsKey')));
    await entries.put('route', '+14155550177', { number: '+14155550177', bot: 'front' }, Date.now());
    const writtenAt = Date.now();
    await waitFor('both instances to apply the stored route', () => a.runtimeConfig.getRoute('+14155550177') && b.runtimeConfig.getRoute('+14155550177'), 10_000);
    // One refresh period, plus the time a loaded machine needs.
    expect(Date.now() - writtenAt).toBeLessThan(1000 + 4000);
    expect(b.runtimeConfig.sourceOf('route', '+14155550177')).toBe('api');
  });

});
