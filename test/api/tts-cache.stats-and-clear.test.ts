import { describe, expect, it } from 'vitest';
import { ttsCacheRoutes } from '../../src/api/tts-cache-routes.js';
import { silentLogger } from '../../src/logger.js';
import { TtsCache } from '../../src/speech/tts/cache.js';
import { bareApp } from '../support/management-api.js';
import { tempCacheDir } from '../support/tts-cache-dir.js';
import { ToneTtsProvider, collectAudio } from '../support/tts-tone-provider.js';

const req = { text: 'your call is important to us', language: 'en-US', sampleRate: 8000 };

describe('TTS cache API', () => {
  it('reports entries, bytes, hits, misses and the hit rate; clear empties memory and disk', async () => {
    const disk = await tempCacheDir();
    const cache = new TtsCache({ dir: disk.dir });
    const provider = new ToneTtsProvider();
    const app = await bareApp(ttsCacheRoutes, { cache, logger: silentLogger() });
    try {
      expect((await app.inject({ url: '/api/v1/tts-cache' })).json()).toEqual({ enabled: true, hits: 0, hitsByLevel: { memory: 0, disk: 0, shared: 0, joined: 0 }, misses: 0, entries: 0, bytes: 0, hitRate: null });

      await collectAudio(cache.synthesize(provider, req));
      await collectAudio(cache.synthesize(provider, req));
      await collectAudio(cache.synthesize(provider, req));
      await collectAudio(cache.synthesize(provider, { ...req, text: 'goodbye' }));
      const stats = (await app.inject({ url: '/api/v1/tts-cache' })).json();
      expect(stats).toMatchObject({ hits: 2, misses: 2, entries: 2, hitRate: 0.5 });
      expect(stats.bytes).toBeGreaterThan(0);
      expect(await disk.files()).not.toEqual([]);

      const cleared = await app.inject({ method: 'POST', url: '/api/v1/tts-cache/clear' });
      expect(cleared.statusCode).toBe(200);
      expect(cleared.json()).toEqual({ cleared: { entries: 2, bytes: stats.bytes } });
      expect((await app.inject({ url: '/api/v1/tts-cache' })).json()).toMatchObject({ entries: 0, bytes: 0 });
      expect(await disk.files()).toEqual([]);

      await collectAudio(cache.synthesize(provider, req));
      expect(provider.calls).toHaveLength(3);
    } finally {
      await app.close();
      await disk.cleanup();
    }
  });

  it('says the cache is disabled rather than showing an empty one', async () => {
    const app = await bareApp(ttsCacheRoutes, { cache: undefined, logger: silentLogger() });
    for (const [method, url] of [['GET', '/api/v1/tts-cache'], ['POST', '/api/v1/tts-cache/clear']] as const) {
      const res = await app.inject({ method, url });
      expect(res.statusCode).toBe(409);
      expect(res.json().error).toMatch(/^tts\.cache: /);
    }
    await app.close();
  });
});
