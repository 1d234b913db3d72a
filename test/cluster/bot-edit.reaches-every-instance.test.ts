/**
 * A bot edited through one instance's API is used by the next call on another instance: the edit
 * is announced on Redis and the other instance re-reads the shared store at once (the periodic
 * refresh is set far beyond the test, so it cannot be what carried the edit).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToneTts } from '../support/sim-tone-tts.js';
import { promptPlayed } from '../support/e2e-fixtures.js';
import { api, clusterServers, startCluster, waitFor, type ClusterSetup } from '../support/config-cluster-gateways.js';

const NUMBER = '+14155550100';
const BEFORE = 'Welcome to the old menu.';
const AFTER = 'Welcome to the new menu.';
const sayAndHangUp = (text: string) => ({ name: 'front', language: 'en-US', start: 'hello', steps: { hello: { say: text, hangup: 'completed' } } });

describe.skipIf(!clusterServers.reachable)('a bot edited on one instance', () => {
  let cluster: ClusterSetup;
  beforeAll(async () => {
    cluster = await startCluster(
      2,
      { bots: [{ name: 'front', type: 'flow', flow: sayAndHangUp(BEFORE) }], routes: [{ number: '*', bot: 'front' }], cluster: { configRefreshMs: 600_000 } },
      { tts: () => new ToneTts(2) },
    );
    cluster.routeNumberTo(NUMBER, 1);
  });
  afterAll(() => cluster?.close());

  it('answers the next call on the other instance with the edited bot, within seconds', async () => {
    const [a, b] = cluster.gateways;
    const edit = await api(a, 'PUT', '/api/v1/bots/front', { type: 'flow', flow: sayAndHangUp(AFTER) });
    expect(edit.status, JSON.stringify(edit.json)).toBe(200);
    const editedAt = Date.now();

    // The other instance applies it without being asked...
    await waitFor('instance B to apply the edit', () => JSON.stringify(b.runtimeConfig.getBot('front')).includes(AFTER), 10_000);
    expect(Date.now() - editedAt).toBeLessThan(5_000);
    expect(b.runtimeConfig.sourceOf('bot', 'front')).toBe('api');

    // ...and its next call speaks the new greeting.
    const played = promptPlayed(b, AFTER);
    const call = cluster.sim.dialInbound({ from: '+14155550123', to: NUMBER, script: { hangupAfterSec: 20 } });
    await played;
    const result = await call.ended;
    expect(result.cause).toBe('Normal Hangup');
  });

  it('a route added, then deleted, on B reaches A the same way', async () => {
    const [a, b] = cluster.gateways;
    await waitFor('instance A to hold the edit', () => a.runtimeConfig.sourceOf('bot', 'front') === 'api');
    const route = await api(b, 'PUT', '/api/v1/routes/+14155550199', { bot: 'front' });
    expect(route.status, JSON.stringify(route.json)).toBe(201);
    await waitFor('instance A to know the new route', () => a.runtimeConfig.getRoute('+14155550199'));
    expect((await api(b, 'DELETE', '/api/v1/routes/+14155550199')).status).toBe(204);
    await waitFor('instance A to forget the route', () => a.runtimeConfig.getRoute('+14155550199') === undefined);
  });
});
