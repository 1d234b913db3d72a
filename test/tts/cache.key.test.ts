import { describe, expect, it } from 'vitest';
import { TtsCache, ttsCacheKey } from '../../src/speech/tts/cache.js';
import { ToneTtsProvider, collectAudio } from '../support/tts-tone-provider.js';

const base = { text: 'thank you for calling', language: 'en-US', voice: 'female', sampleRate: 8000 };

describe('TtsCache: the key covers everything that changes the audio', () => {
  it('differs by voice, language, sample rate, SSML flag, text and provider settings', () => {
    const p = new ToneTtsProvider();
    const keys = new Set([
      ttsCacheKey(p, base),
      ttsCacheKey(p, { ...base, voice: 'male' }),
      ttsCacheKey(p, { ...base, voice: undefined }),
      ttsCacheKey(p, { ...base, language: 'en-GB' }),
      ttsCacheKey(p, { ...base, sampleRate: 16000 }),
      ttsCacheKey(p, { ...base, ssml: true }),
      ttsCacheKey(p, { ...base, text: 'thank you for calling!' }),
      ttsCacheKey(Object.assign(new ToneTtsProvider(), { cacheScope: 'fast' }), base),
    ]);
    expect(keys.size).toBe(8);
    expect(ttsCacheKey(p, { ...base })).toBe(ttsCacheKey(new ToneTtsProvider(), base));
  });

  it('a different voice, language or rate is synthesized separately', async () => {
    const provider = new ToneTtsProvider();
    const cache = new TtsCache();
    const female = await collectAudio(cache.synthesize(provider, base));
    const male = await collectAudio(cache.synthesize(provider, { ...base, voice: 'male' }));
    const german = await collectAudio(cache.synthesize(provider, { ...base, language: 'de-DE' }));
    const wide = await collectAudio(cache.synthesize(provider, { ...base, sampleRate: 16000 }));
    expect(provider.calls).toHaveLength(4);
    expect(male).not.toEqual(female);
    expect(german).not.toEqual(female);
    expect(wide.length).toBe(female.length * 2);
    expect(cache.stats().entries).toBe(4);
  });
});
