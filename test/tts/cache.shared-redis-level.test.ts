/**
 * The TTS cache level shared by a cluster's instances (Redis): a prompt synthesized on instance A
 * is served from Redis on instance B without calling the provider again; the level keeps under its
 * size cap by evicting the oldest entries; entries expire with the cache's lifetime; with Redis
 * gone the local levels and the provider carry on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { TtsCache } from '../../src/speech/tts/cache.js';
import { RedisTtsCacheLevel } from '../../src/speech/tts/redis-cache-level.js';
import { silentLogger } from '../../src/logger.js';
import { captureLogger } from '../support/captured-logger.js';
import { ToneTtsProvider, collectAudio } from '../support/tts-tone-provider.js';
import { REDIS_TEST_URL, deleteRedisKeys, redisKeys, redisProbe, startRedisProxy, uniqueRedisPrefix } from '../support/campaign-redis.js';
import { tempCacheDir } from '../support/tts-cache-dir.js';

const req = (text: string) => ({ text, language: 'en-US', sampleRate: 8000 });
/** Three words: 3 x 100 ms of 8 kHz PCM16. */
const ENTRY_AUDIO_BYTES = 4800;
const HOUR = 3_600_000;

describe.skipIf(!redisProbe.reachable)('TTS cache: the level shared through Redis', () => {
  const levels: RedisTtsCacheLevel[] = [];
  const prefixes: string[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  /** One instance's cache: its own memory (and disk when asked), the shared level under `keyPrefix`. */
  const instance = (keyPrefix: string, opts: { maxBytes?: number; url?: string; logger?: ReturnType<typeof silentLogger>; dir?: string } = {}) => {
    const level = new RedisTtsCacheLevel({ url: opts.url ?? REDIS_TEST_URL, keyPrefix, maxBytes: opts.maxBytes ?? 256 * 1024 * 1024, logger: opts.logger ?? silentLogger() });
    levels.push(level);
    return new TtsCache({ shared: level, ttlMs: HOUR, dir: opts.dir, logger: opts.logger });
  };
  const newPrefix = () => {
    const p = uniqueRedisPrefix('vgtts');
    prefixes.push(p);
    return p;
  };
  afterEach(async () => {
    await Promise.all(levels.splice(0).map((l) => l.close()));
    await Promise.all(prefixes.splice(0).map((p) => deleteRedisKeys(p)));
    await Promise.all(cleanups.splice(0).map((c) => c()));
  });

  it('a greeting synthesized on one instance is served from Redis on another, the provider called once', async () => {
    const prefix = newPrefix();
    const diskB = await tempCacheDir();
    cleanups.push(() => diskB.cleanup());
    const [a, b] = [instance(prefix), instance(prefix, { dir: diskB.dir })];
    const [providerA, providerB] = [new ToneTtsProvider(), new ToneTtsProvider()];

    const first = await collectAudio(a.synthesize(providerA, req('welcome to voxgate')));
    const onB = await collectAudio(b.synthesize(providerB, req('welcome to voxgate')));
    expect(providerA.calls).toHaveLength(1);
    expect(providerB.calls).toHaveLength(0);
    expect(onB).toEqual(first);
    expect(b.stats()).toMatchObject({ hits: 1, misses: 0, hitsByLevel: { shared: 1, memory: 0, disk: 0 } });

    // B keeps it locally now: its memory serves the next request, its disk holds a copy.
    await collectAudio(b.synthesize(providerB, req('welcome to voxgate')));
    expect(b.stats().hitsByLevel).toMatchObject({ memory: 1, shared: 1 });
    expect((await diskB.files()).filter((f) => f.endsWith('.pcm'))).toHaveLength(1);
  });

  it('entries expire with the cache lifetime: Redis holds them no longer', async () => {
    const prefix = newPrefix();
    const a = instance(prefix);
    await collectAudio(a.synthesize(new ToneTtsProvider(), req('one two three')));
    const [key] = (await redisKeys(prefix)).filter((k) => k.startsWith(`${prefix}:tts:`));
    const redis = new Redis(REDIS_TEST_URL);
    try {
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(HOUR - 60_000);
      expect(ttl).toBeLessThanOrEqual(HOUR);
    } finally {
      redis.disconnect();
    }
  });

  it('keeps under its size cap by evicting the oldest entries', async () => {
    const prefix = newPrefix();
    // Room for two entries (audio plus a little metadata each), not three.
    const maxBytes = 2 * ENTRY_AUDIO_BYTES + 1000;
    const a = instance(prefix, { maxBytes });
    const providerA = new ToneTtsProvider();
    for (const text of ['first one here', 'second one here', 'third one here']) await collectAudio(a.synthesize(providerA, req(text)));

    const redis = new Redis(REDIS_TEST_URL);
    try {
      expect(Number(await redis.get(`${prefix}:tts-index:bytes`))).toBeLessThanOrEqual(maxBytes);
      expect((await redisKeys(prefix)).filter((k) => k.startsWith(`${prefix}:tts:`))).toHaveLength(2);
    } finally {
      redis.disconnect();
    }
    // Another instance finds the two newest in Redis; the oldest was evicted and is synthesized again.
    const b = instance(prefix, { maxBytes });
    const providerB = new ToneTtsProvider();
    await collectAudio(b.synthesize(providerB, req('third one here')));
    await collectAudio(b.synthesize(providerB, req('second one here')));
    expect(providerB.calls).toHaveLength(0);
    await collectAudio(b.synthesize(providerB, req('first one here')));
    expect(providerB.calls.map((c) => c.text)).toEqual(['first one here']);
  });

  it('clearing the cache on one instance clears the shared level too', async () => {
    const prefix = newPrefix();
    const a = instance(prefix);
    await collectAudio(a.synthesize(new ToneTtsProvider(), req('one two three')));
    expect(await redisKeys(prefix)).not.toEqual([]);
    await a.clear();
    expect(await redisKeys(prefix)).toEqual([]);
  });

  it('with Redis gone, prompts are synthesized and cached locally as before, with a warning', async () => {
    const proxy = await startRedisProxy();
    const prefix = newPrefix();
    const { logger, lines } = captureLogger();
    const a = instance(prefix, { url: proxy.url, logger });
    const provider = new ToneTtsProvider();
    await collectAudio(a.synthesize(provider, req('before the cut')));
    await proxy.cut();

    const audio = await collectAudio(a.synthesize(provider, req('after the cut')));
    expect(audio.length).toBe(3 * 800);
    await collectAudio(a.synthesize(provider, req('after the cut')));
    expect(provider.calls.map((c) => c.text)).toEqual(['before the cut', 'after the cut']);
    expect(a.stats().hitsByLevel.memory).toBe(1);
    expect(lines.some((l) => l.level === 40 && String(l.msg).includes('the local cache levels carry on alone'))).toBe(true);
  });
});
