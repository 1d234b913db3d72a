import { afterEach, describe, expect, it } from 'vitest';
import { TtsCache } from '../../src/speech/tts/cache.js';
import { FakeClock } from '../support/fake-clock.js';
import { tempCacheDir } from '../support/tts-cache-dir.js';
import { ToneTtsProvider, collectAudio } from '../support/tts-tone-provider.js';

const req = { text: 'opening hours', language: 'en-US', sampleRate: 8000 };
const HOUR = 3_600_000;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('TtsCache: entries live 24 hours by default', () => {
  it('serves an entry until the lifetime ends, then synthesizes again', async () => {
    const clock = new FakeClock();
    const provider = new ToneTtsProvider();
    const cache = new TtsCache({ clock });
    await collectAudio(cache.synthesize(provider, req));
    clock.advance(24 * HOUR - 1);
    await collectAudio(cache.synthesize(provider, req));
    expect(provider.calls).toHaveLength(1);
    clock.advance(1);
    await collectAudio(cache.synthesize(provider, req));
    expect(provider.calls).toHaveLength(2);
  });

  it('honours a configured lifetime and does not serve expired disk entries', async () => {
    const tmp = await tempCacheDir();
    cleanups.push(tmp.cleanup);
    const clock = new FakeClock();
    const provider = new ToneTtsProvider();
    await collectAudio(new TtsCache({ clock, dir: tmp.dir, ttlMs: HOUR }).synthesize(provider, req));
    clock.advance(HOUR);
    // A fresh instance has only the disk entry, which is expired by now.
    await collectAudio(new TtsCache({ clock, dir: tmp.dir, ttlMs: HOUR }).synthesize(provider, req));
    expect(provider.calls).toHaveLength(2);
  });

  it('prune() removes expired entries from memory and disk', async () => {
    const tmp = await tempCacheDir();
    cleanups.push(tmp.cleanup);
    const clock = new FakeClock();
    const provider = new ToneTtsProvider();
    const cache = new TtsCache({ clock, dir: tmp.dir, ttlMs: HOUR });
    await collectAudio(cache.synthesize(provider, req));
    clock.advance(HOUR / 2);
    await collectAudio(cache.synthesize(provider, { ...req, text: 'newer prompt' }));
    expect(await tmp.files()).toHaveLength(4);
    clock.advance(HOUR / 2);
    expect(await cache.prune()).toBe(2); // the old entry, once in memory and once on disk
    expect(cache.stats().entries).toBe(1);
    expect(await tmp.files()).toHaveLength(2);
  });
});
