import { describe, expect, it } from 'vitest';
import { TtsCache } from '../../src/speech/tts/cache.js';
import { ToneTtsProvider, collectAudio } from '../support/tts-tone-provider.js';

const req = { text: 'hello there caller', language: 'en-US', sampleRate: 8000 };

describe('TtsCache: a repeated prompt is served from memory', () => {
  it('returns identical audio on the second request without calling the provider', async () => {
    const provider = new ToneTtsProvider();
    const cache = new TtsCache();
    const first = await collectAudio(cache.synthesize(provider, req));
    const second = await collectAudio(cache.synthesize(provider, req));
    expect(first.length).toBe(2400);
    expect(second).toEqual(first);
    expect(provider.calls).toHaveLength(1);
    expect(cache.stats()).toEqual({ hits: 1, hitsByLevel: { memory: 1, disk: 0, shared: 0, joined: 0 }, misses: 1, entries: 1, bytes: 4800 });
  });

  it('streams a miss chunk by chunk as the provider produces it', async () => {
    const provider = new ToneTtsProvider();
    const cache = new TtsCache();
    const chunks: number[] = [];
    for await (const c of cache.synthesize(provider, req)) chunks.push(c.length);
    expect(chunks).toEqual([800, 800, 800]);
  });

  it('a caller modifying its audio does not change the cached copy', async () => {
    const provider = new ToneTtsProvider();
    const cache = new TtsCache();
    const first = await collectAudio(cache.synthesize(provider, req));
    const hit = await collectAudio(cache.synthesize(provider, req));
    hit.fill(0);
    expect(await collectAudio(cache.synthesize(provider, req))).toEqual(first);
  });

  it('evicts the least recently used entries beyond the memory bound', async () => {
    const provider = new ToneTtsProvider();
    const cache = new TtsCache({ maxMemoryBytes: 3 * 1600 }); // three one-word prompts at 8 kHz
    for (const text of ['one', 'two', 'three']) await collectAudio(cache.synthesize(provider, { ...req, text }));
    await collectAudio(cache.synthesize(provider, { ...req, text: 'one' })); // "one" is now the most recent
    await collectAudio(cache.synthesize(provider, { ...req, text: 'four' })); // evicts "two"
    expect(cache.stats()).toMatchObject({ entries: 3, bytes: 4800 });
    provider.calls = [];
    for (const text of ['one', 'three', 'four', 'two']) await collectAudio(cache.synthesize(provider, { ...req, text }));
    expect(provider.calls.map((c) => c.text)).toEqual(['two']);
  });
});
