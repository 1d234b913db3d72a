import { afterEach, describe, expect, it } from 'vitest';
import { TtsCache } from '../../src/speech/tts/cache.js';
import { tempCacheDir } from '../support/tts-cache-dir.js';
import { ToneTtsProvider, collectAudio } from '../support/tts-tone-provider.js';

const req = { text: 'your balance is ten dollars', language: 'en-US', sampleRate: 8000 };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('TtsCache: per-message opt-out (disableTtsCache)', () => {
  it('noCache neither reads nor writes the cache', async () => {
    const tmp = await tempCacheDir();
    cleanups.push(tmp.cleanup);
    const provider = new ToneTtsProvider();
    const cache = new TtsCache({ dir: tmp.dir });
    await collectAudio(cache.synthesize(provider, req, { noCache: true }));
    expect(cache.stats()).toEqual({ hits: 0, hitsByLevel: { memory: 0, disk: 0, shared: 0, joined: 0 }, misses: 0, entries: 0, bytes: 0 });
    expect(await tmp.files()).toEqual([]);
    await collectAudio(cache.synthesize(provider, req)); // cached now
    await collectAudio(cache.synthesize(provider, req, { noCache: true })); // still goes to the provider
    expect(provider.calls).toHaveLength(3);
  });
});

describe('TtsCache: clear()', () => {
  it('empties memory and disk', async () => {
    const tmp = await tempCacheDir();
    cleanups.push(tmp.cleanup);
    const provider = new ToneTtsProvider();
    const cache = new TtsCache({ dir: tmp.dir });
    await collectAudio(cache.synthesize(provider, req));
    await collectAudio(cache.synthesize(provider, { ...req, text: 'goodbye' }));
    expect(await tmp.files()).toHaveLength(4);
    await cache.clear();
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0 });
    expect(await tmp.files()).toEqual([]);
    await collectAudio(cache.synthesize(provider, req));
    expect(provider.calls).toHaveLength(3);
  });

  it('a synthesis running during clear() is not stored afterwards', async () => {
    const provider = new ToneTtsProvider();
    const cache = new TtsCache();
    provider.hold();
    const pending = collectAudio(cache.synthesize(provider, req));
    await Promise.resolve();
    await cache.clear();
    provider.release();
    await pending;
    expect(cache.stats().entries).toBe(0);
  });
});
