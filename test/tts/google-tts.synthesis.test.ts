import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { googleTtsConfigSchema, googleTtsFromConfig, GoogleTtsProvider } from '../../src/speech/tts/google-tts.js';
import { startGoogleTtsDouble, type GoogleTtsDouble } from '../support/google-tts-server.js';
import { collect, toneFrequency } from '../support/tts-http-server.js';

let server: GoogleTtsDouble;
beforeAll(async () => {
  server = await startGoogleTtsDouble();
});
afterAll(() => server.close());

function provider(extra: Partial<ConstructorParameters<typeof GoogleTtsProvider>[0]> = {}): GoogleTtsProvider {
  return new GoogleTtsProvider({ baseUrl: server.url, apiKey: 'AIza-test-key', ...extra });
}

describe('GoogleTtsProvider: LINEAR16 audio from text:synthesize', () => {
  it('sends input, voice and audioConfig (LINEAR16 at the leg rate) with the API key as ?key=', async () => {
    server.scripts.push({ ms: 200 });
    await collect(provider({ speakingRate: 1.2, pitch: -2 }).synthesize({ text: ' Hello there ', language: 'en-US', sampleRate: 8000 }));
    const posted = server.requests.at(-1)!;
    expect(posted.path).toBe('/v1/text:synthesize');
    expect(posted.query.get('key')).toBe('AIza-test-key');
    expect(posted.headers.authorization).toBeUndefined();
    expect(posted.body).toEqual({
      input: { text: 'Hello there' },
      voice: { languageCode: 'en-US' },
      audioConfig: { audioEncoding: 'LINEAR16', sampleRateHertz: 8000, speakingRate: 1.2, pitch: -2 },
    });
  });

  it.each([8000, 16000, 24000, 48000])('audio at %i Hz has the spoken duration and pitch, and the WAV header is not played', async (rate) => {
    server.scripts.push({ hz: 440, ms: 750 });
    const chunks: Int16Array[] = [];
    for await (const c of provider().synthesize({ text: 'Tone please', language: 'en-US', sampleRate: rate })) chunks.push(c);
    const out = await collect((async function* () { yield* chunks; })());
    expect(out.length).toBe(Math.round(0.75 * rate)); // 44 header bytes would add 22 samples
    expect(out[0]).toBe(0); // the tone starts at a zero crossing; header bytes would not
    const f = toneFrequency(out, rate);
    expect(f).toBeGreaterThan(440 * 0.98);
    expect(f).toBeLessThan(440 * 1.02);
    expect(chunks.length).toBeGreaterThan(5); // yielded in 100 ms pieces, not one block
  });

  it('audio whose WAV header names another rate is resampled to the leg rate', async () => {
    server.scripts.push({ hz: 300, ms: 500, answerRate: 24000 });
    const out = await collect(provider().synthesize({ text: 'Hi', language: 'en-US', sampleRate: 8000 }));
    expect(out.length).toBe(4000);
    expect(toneFrequency(out, 8000)).toBeCloseTo(300, -1);
  });

  it('SSML is passed through as input.ssml (fragments get a <speak> root)', async () => {
    const ssml = '<speak>Your code is <say-as interpret-as="characters">AB</say-as>.<break time="300ms"/></speak>';
    server.scripts.push({ ms: 100 }, { ms: 100 });
    await collect(provider().synthesize({ text: ssml, ssml: true, language: 'en-US', sampleRate: 8000 }));
    expect(server.requests.at(-1)!.body!.input).toEqual({ ssml });
    await collect(provider().synthesize({ text: 'Hi <break time="1s"/> there', ssml: true, language: 'en-US', sampleRate: 8000 }));
    expect(server.requests.at(-1)!.body!.input).toEqual({ ssml: '<speak>Hi <break time="1s"/> there</speak>' });
  });

  it("voice: the request's wins (with its own language); the configured one only for its language; else Google picks by language and gender", async () => {
    const tts = provider({ voice: 'en-US-Neural2-F', ssmlGender: 'FEMALE' });
    server.scripts.push({ ms: 50 }, { ms: 50 }, { ms: 50 });
    await collect(tts.synthesize({ text: 'a', language: 'en-US', sampleRate: 8000 }));
    expect(server.requests.at(-1)!.body!.voice).toEqual({ languageCode: 'en-US', name: 'en-US-Neural2-F' });
    await collect(tts.synthesize({ text: 'b', language: 'de-DE', sampleRate: 8000 }));
    expect(server.requests.at(-1)!.body!.voice).toEqual({ languageCode: 'de-DE', ssmlGender: 'FEMALE' });
    await collect(tts.synthesize({ text: 'c', language: 'en-US', voice: 'en-GB-Wavenet-B', sampleRate: 8000 }));
    expect(server.requests.at(-1)!.body!.voice).toEqual({ languageCode: 'en-GB', name: 'en-GB-Wavenet-B' });
  });

  it('an access-token source is sent as Bearer and asked on every request (tokens expire)', async () => {
    let calls = 0;
    const tts = provider({ apiKey: undefined, getAccessToken: async () => (calls++, 'ya29.test-token') });
    server.scripts.push({ ms: 100 }, { ms: 100 });
    expect((await collect(tts.synthesize({ text: 'a', language: 'en-US', sampleRate: 16000 }))).length).toBe(1600);
    await collect(tts.synthesize({ text: 'b', language: 'en-US', sampleRate: 16000 }));
    expect(calls).toBe(2);
    expect(server.requests.at(-1)!.headers.authorization).toBe('Bearer ya29.test-token');
    expect(server.requests.at(-1)!.query.has('key')).toBe(false);
  });

  it('blank text synthesizes nothing without a request', async () => {
    const before = server.requests.length;
    expect((await collect(provider().synthesize({ text: '  ', language: 'en-US', sampleRate: 8000 }))).length).toBe(0);
    expect(server.requests.length).toBe(before);
  });

  it('cacheScope changes with voice, gender, speaking rate and pitch', () => {
    const a = provider().cacheScope;
    expect(provider({ voice: 'en-US-Neural2-F' }).cacheScope).not.toBe(a);
    expect(provider({ ssmlGender: 'MALE' }).cacheScope).not.toBe(a);
    expect(provider({ speakingRate: 1.1 }).cacheScope).not.toBe(a);
    expect(provider({ pitch: 2 }).cacheScope).not.toBe(a);
    expect(provider().cacheScope).toBe(a);
  });

  it('a YAML-shaped config section validates and builds a working provider (key from the environment)', async () => {
    const config = googleTtsConfigSchema.parse({ apiKey: { env: 'GOOGLE_TTS_KEY' }, voice: 'en-US-Neural2-F', speakingRate: 1.1, baseUrl: server.url, requestTimeoutMs: 5000 });
    const tts = googleTtsFromConfig(config, { GOOGLE_TTS_KEY: 'AIza-test-key' });
    server.scripts.push({ ms: 100 });
    expect((await collect(tts.synthesize({ text: 'hi', language: 'en-US', sampleRate: 8000 }))).length).toBe(800);
    expect(() => googleTtsConfigSchema.parse({ apiKey: 'k', speed: 2 })).toThrow(/speed/);
    expect(() => googleTtsConfigSchema.parse({ apiKey: 'k', pitch: 30 })).toThrow();
  });
});
