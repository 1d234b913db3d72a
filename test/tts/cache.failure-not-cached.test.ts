import { describe, expect, it } from 'vitest';
import { TtsCache } from '../../src/speech/tts/cache.js';
import { TtsError } from '../../src/speech/tts/provider.js';
import { ToneTtsProvider, collectAudio } from '../support/tts-tone-provider.js';

const req = { text: 'one two three four', language: 'en-US', sampleRate: 8000 };

describe('TtsCache: only complete syntheses are stored', () => {
  it('a provider failure reaches the caller and is not cached', async () => {
    const provider = new ToneTtsProvider();
    provider.failAfterChunks = 2;
    const cache = new TtsCache();
    const got: Int16Array[] = [];
    await expect(
      (async () => {
        for await (const c of cache.synthesize(provider, req)) got.push(c);
      })(),
    ).rejects.toBeInstanceOf(TtsError);
    expect(got).toHaveLength(2); // the audio produced before the failure was still streamed
    expect(cache.stats().entries).toBe(0);
    provider.failAfterChunks = undefined;
    expect((await collectAudio(cache.synthesize(provider, req))).length).toBe(3200);
    expect(provider.calls).toHaveLength(2);
  });

  it('an aborted synthesis is not cached and the provider is told to stop', async () => {
    const provider = new ToneTtsProvider();
    const cache = new TtsCache();
    const controller = new AbortController();
    let chunks = 0;
    await expect(
      (async () => {
        for await (const _ of cache.synthesize(provider, req, { signal: controller.signal })) {
          if (++chunks === 1) {
            provider.hold();
            controller.abort(new Error('caller hung up'));
          }
        }
      })(),
    ).rejects.toThrow('caller hung up');
    provider.release();
    expect(cache.stats().entries).toBe(0);
    await collectAudio(cache.synthesize(provider, req));
    expect(provider.calls).toHaveLength(2);
  });

  it('a caller that stops reading early does not leave a truncated entry', async () => {
    const provider = new ToneTtsProvider();
    const cache = new TtsCache();
    for await (const _ of cache.synthesize(provider, req)) break;
    const full = await collectAudio(cache.synthesize(provider, req));
    expect(full.length).toBe(3200);
  });
});
