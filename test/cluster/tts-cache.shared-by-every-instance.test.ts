/**
 * Gateways in cluster mode share their TTS cache through Redis: a prompt one instance synthesized
 * is not bought again by another; the administrator's "clear TTS cache" on one instance empties
 * every instance's cache.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToneTtsProvider, collectAudio } from '../support/tts-tone-provider.js';
import { api, clusterServers, startCluster, waitFor, type ClusterSetup } from '../support/config-cluster-gateways.js';

const greeting = { text: 'thanks for calling voxgate', language: 'en-US', sampleRate: 8000 };

describe.skipIf(!clusterServers.reachable)('the TTS cache of a cluster', () => {
  let cluster: ClusterSetup;
  beforeAll(async () => {
    cluster = await startCluster(2, { bots: [{ name: 'front', type: 'flow' }], routes: [{ number: '*', bot: 'front' }] });
  });
  afterAll(() => cluster?.close());

  it('serves a greeting synthesized on A from Redis on B, without calling the provider', async () => {
    const [a, b] = cluster.gateways;
    const [onA, onB] = [new ToneTtsProvider(), new ToneTtsProvider()];
    const audio = await collectAudio(a.ttsCache!.synthesize(onA, greeting));
    expect(await collectAudio(b.ttsCache!.synthesize(onB, greeting))).toEqual(audio);
    expect(onA.calls).toHaveLength(1);
    expect(onB.calls).toHaveLength(0);
    const stats = await api(b, 'GET', '/api/v1/tts-cache');
    expect(stats.json).toMatchObject({ hits: 1, misses: 0, hitsByLevel: { shared: 1 } });
  });

  it('clearing the cache through A empties B as well', async () => {
    const [a, b] = cluster.gateways;
    expect(b.ttsCache!.stats().entries).toBe(1);
    expect((await api(a, 'POST', '/api/v1/tts-cache/clear')).status).toBe(200);
    await waitFor('B to empty its cache', () => b.ttsCache!.stats().entries === 0, 10_000);
    const provider = new ToneTtsProvider();
    await collectAudio(b.ttsCache!.synthesize(provider, greeting));
    expect(provider.calls).toHaveLength(1);
  });
});
