import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPollyVoice, pollyTtsConfigSchema, pollyTtsFromConfig, PollyTtsProvider, type PollyTtsOptions } from '../../src/speech/tts/polly-tts.js';
import { POLLY_TEST_CREDENTIALS, startPollyDouble, type PollyDouble } from '../support/polly-server.js';
import { collect, deferred, toneFrequency } from '../support/tts-http-server.js';

let server: PollyDouble;
beforeAll(async () => {
  server = await startPollyDouble();
});
afterAll(() => server.close());

function provider(extra: Partial<PollyTtsOptions> = {}): PollyTtsProvider {
  return new PollyTtsProvider({ region: 'us-east-1', ...POLLY_TEST_CREDENTIALS, endpoint: server.url, ...extra });
}

describe('PollyTtsProvider: SigV4-signed SynthesizeSpeech streaming pcm', () => {
  it('sends a SigV4-signed JSON SynthesizeSpeech request the double verifies (pcm, engine, voice, text)', async () => {
    server.scripts.push({ ms: 200 });
    const out = await collect(provider().synthesize({ text: ' Hello there ', language: 'en-US', sampleRate: 8000 }));
    expect(out.length).toBe(1600);
    const posted = server.requests.at(-1)!;
    expect(posted.method).toBe('POST');
    expect(posted.url).toBe('/v1/speech');
    expect(posted.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE7TESTKEY\/\d{8}\/us-east-1\/polly\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/);
    expect(posted.headers['content-type']).toBe('application/json');
    expect(posted.body).toEqual({ Engine: 'neural', OutputFormat: 'pcm', SampleRate: '8000', Text: 'Hello there', TextType: 'text', VoiceId: 'Joanna' });
  });

  it.each([
    [8000, '8000'],
    [16000, '16000'],
    [24000, '16000'],
    [48000, '16000'],
  ])('audio at %i Hz (Polly asked for %s) keeps the spoken duration and pitch across odd chunk boundaries', async (rate, asked) => {
    server.scripts.push({ hz: 440, ms: 750, chunks: 7 });
    const out = await collect(provider().synthesize({ text: 'Tone please', language: 'en-US', sampleRate: rate }));
    expect(server.requests.at(-1)!.body!.SampleRate).toBe(asked);
    expect(out.length).toBe(Math.round(0.75 * rate));
    const f = toneFrequency(out, rate);
    expect(f).toBeGreaterThan(440 * 0.98);
    expect(f).toBeLessThan(440 * 1.02);
  });

  it('yields the first audio before Polly has finished the body', async () => {
    const gates = [deferred(), deferred(), deferred()];
    server.scripts.push({ ms: 800, chunks: 4, gates: gates.map((g) => g.promise) });
    const it = provider().synthesize({ text: 'Streaming', language: 'en-US', sampleRate: 8000 })[Symbol.asyncIterator]();
    const first = await it.next(); // the double holds the rest behind gate 0
    expect(first.done).toBe(false);
    expect(first.value.length).toBeGreaterThan(0);
    expect(first.value.length).toBeLessThan(0.8 * 8000 * 0.5);
    let total = first.value.length;
    for (const g of gates) g.resolve();
    for (let r = await it.next(); !r.done; r = await it.next()) total += r.value.length;
    expect(total).toBe(0.8 * 8000);
  });

  it('SSML is passed through with TextType "ssml"; a fragment gets its <speak> root', async () => {
    const ssml = '<speak>Your code is <say-as interpret-as="characters">AB</say-as>.<break time="300ms"/> <amazon:effect name="whispered">bye</amazon:effect></speak>';
    server.scripts.push({ ms: 100 }, { ms: 100 });
    await collect(provider().synthesize({ text: ssml, ssml: true, language: 'en-US', sampleRate: 8000 }));
    expect(server.requests.at(-1)!.body).toMatchObject({ Text: ssml, TextType: 'ssml' });
    await collect(provider().synthesize({ text: 'Hi <break time="1s"/> there', ssml: true, language: 'en-US', sampleRate: 8000 }));
    expect(server.requests.at(-1)!.body).toMatchObject({ Text: '<speak>Hi <break time="1s"/> there</speak>', TextType: 'ssml' });
  });

  it("voice: the request's, else the configured one, else a default for the language and engine", async () => {
    server.scripts.push({ ms: 50 }, { ms: 50 }, { ms: 50 }, { ms: 50 }, { ms: 50 });
    await collect(provider().synthesize({ text: 'a', language: 'de-DE', sampleRate: 8000 }));
    expect(server.requests.at(-1)!.body!.VoiceId).toBe('Vicki');
    await collect(provider({ engine: 'standard' }).synthesize({ text: 'a', language: 'ja-JP', sampleRate: 8000 }));
    expect(server.requests.at(-1)!.body).toMatchObject({ VoiceId: 'Mizuki', Engine: 'standard' });
    await collect(provider({ voiceId: 'Matthew' }).synthesize({ text: 'a', language: 'en-US', sampleRate: 8000 }));
    expect(server.requests.at(-1)!.body!.VoiceId).toBe('Matthew');
    await collect(provider({ voiceId: 'Matthew' }).synthesize({ text: 'a', language: 'en-US', voice: 'Ruth', sampleRate: 8000 }));
    expect(server.requests.at(-1)!.body!.VoiceId).toBe('Ruth');
    // A bilingual voice is told which of its languages to speak; others get no LanguageCode.
    await collect(provider().synthesize({ text: 'namaste', language: 'hi-IN', sampleRate: 8000 }));
    expect(server.requests.at(-1)!.body).toMatchObject({ VoiceId: 'Kajal', LanguageCode: 'hi-IN' });
    expect(server.requests.filter((r) => r.body?.VoiceId !== 'Kajal').every((r) => r.body?.LanguageCode === undefined)).toBe(true);
  });

  it('default voices follow BCP 47 tags Polly spells differently', () => {
    expect(defaultPollyVoice('zh-CN', 'neural')).toBe('Zhiyu');
    expect(defaultPollyVoice('en-CA', 'neural')).toBe('Joanna');
    expect(defaultPollyVoice('pt_br', 'neural')).toBe('Camila');
    expect(defaultPollyVoice('ar', 'standard')).toBe('Zeina');
    expect(defaultPollyVoice('xx-YY', 'neural')).toBeUndefined();
  });

  it('temporary credentials send their session token, signed', async () => {
    server.keys.set('ASIATEMPORARYKEY', { secret: 'temp-secret', sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN' });
    server.scripts.push({ ms: 100 });
    const tts = provider({ accessKeyId: 'ASIATEMPORARYKEY', secretAccessKey: 'temp-secret', sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN' });
    expect((await collect(tts.synthesize({ text: 'hi', language: 'en-US', sampleRate: 16000 }))).length).toBe(1600);
    const posted = server.requests.at(-1)!;
    expect(posted.headers['x-amz-security-token']).toBe('FwoGZXIvYXdzEXAMPLETOKEN');
    expect(posted.headers.authorization).toContain('x-amz-security-token');
  });

  it('the default endpoint is the regional Polly host', async () => {
    const tts = new PollyTtsProvider({ region: 'eu-central-1', ...POLLY_TEST_CREDENTIALS });
    expect(tts.cacheScope).toContain('polly.eu-central-1.amazonaws.com');
  });

  it('cacheScope changes with region, engine and default voice', () => {
    const a = provider().cacheScope;
    expect(provider({ engine: 'standard' }).cacheScope).not.toBe(a);
    expect(provider({ voiceId: 'Matthew' }).cacheScope).not.toBe(a);
    expect(provider({ region: 'eu-west-1' }).cacheScope).not.toBe(a);
    expect(provider({ accessKeyId: 'AKIDOTHER' }).cacheScope).toBe(a);
  });

  it('a YAML-shaped config section validates and builds a working provider (secrets from the environment)', async () => {
    const config = pollyTtsConfigSchema.parse({
      region: 'us-east-1',
      accessKeyId: { env: 'AWS_ACCESS_KEY_ID' },
      secretAccessKey: { env: 'AWS_SECRET_ACCESS_KEY' },
      voiceId: 'Joanna',
      engine: 'neural',
      endpoint: server.url,
      requestTimeoutMs: 5000,
    });
    const tts = pollyTtsFromConfig(config, { AWS_ACCESS_KEY_ID: POLLY_TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: POLLY_TEST_CREDENTIALS.secretAccessKey });
    server.scripts.push({ ms: 100 });
    expect((await collect(tts.synthesize({ text: 'hi', language: 'en-US', sampleRate: 8000 }))).length).toBe(800);
    expect(() => pollyTtsConfigSchema.parse({ ...config, region: 'Frankfurt' })).toThrow(/AWS region/);
    expect(() => pollyTtsConfigSchema.parse({ ...config, engine: 'turbo' })).toThrow();
    expect(() => pollyTtsConfigSchema.parse({ ...config, outputFormat: 'mp3' })).toThrow(/outputFormat/);
  });
});
