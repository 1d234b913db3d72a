import { describe, expect, it } from 'vitest';
import { TtsCache } from '../../src/speech/tts/cache.js';
import { ToneTtsProvider, collectAudio } from '../support/tts-tone-provider.js';

const req = { text: 'please hold the line', language: 'en-US', sampleRate: 8000 };

describe('TtsCache: concurrent requests for the same prompt share one synthesis', () => {
  it('calls the provider once and gives every caller the same audio', async () => {
    const provider = new ToneTtsProvider();
    const cache = new TtsCache();
    provider.hold();
    const a = collectAudio(cache.synthesize(provider, req));
    const b = collectAudio(cache.synthesize(provider, req));
    const c = collectAudio(cache.synthesize(provider, req));
    await new Promise((r) => setImmediate(r));
    provider.release();
    const [ra, rb, rc] = await Promise.all([a, b, c]);
    expect(provider.calls).toHaveLength(1);
    expect(ra.length).toBe(3200);
    expect(rb).toEqual(ra);
    expect(rc).toEqual(ra);
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 1, entries: 1 });
  });

  it('one caller hanging up does not cut the audio of the others', async () => {
    const provider = new ToneTtsProvider();
    const cache = new TtsCache();
    provider.hold();
    const controller = new AbortController();
    const a = collectAudio(cache.synthesize(provider, req, { signal: controller.signal }));
    const b = collectAudio(cache.synthesize(provider, req));
    await new Promise((r) => setImmediate(r));
    controller.abort(new Error('caller A hung up'));
    provider.release();
    await expect(a).rejects.toThrow('caller A hung up');
    expect((await b).length).toBe(3200);
    expect(cache.stats().entries).toBe(1);
  });
});
