import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ElevenLabsTtsProvider,
  elevenLabsFormatFor,
  elevenLabsTtsConfigSchema,
  elevenLabsTtsFromConfig,
  ssmlToElevenLabsText,
  type ElevenLabsTtsOptions,
} from '../../src/speech/tts/elevenlabs-tts.js';
import { ELEVENLABS_TEST_KEY, startElevenLabsDouble, type ElevenLabsDouble } from '../support/elevenlabs-server.js';
import { collect, deferred, toneFrequency } from '../support/tts-http-server.js';

let server: ElevenLabsDouble;
beforeAll(async () => {
  server = await startElevenLabsDouble();
});
afterAll(() => server.close());

function provider(extra: Partial<ElevenLabsTtsOptions> = {}): ElevenLabsTtsProvider {
  return new ElevenLabsTtsProvider({ baseUrl: server.url, apiKey: ELEVENLABS_TEST_KEY, voiceId: 'voice-default', ...extra });
}

describe('ElevenLabsTtsProvider streams raw PCM as it arrives', () => {
  it('posts text, model_id, voice_settings and language_code to the voice stream path with xi-api-key', async () => {
    await collect(provider({ stability: 0.4, similarityBoost: 0.8 }).synthesize({ text: ' Hello there ', language: 'de-DE', sampleRate: 8000 }));
    const posted = server.requests.at(-1)!;
    expect(posted.method).toBe('POST');
    expect(posted.path).toBe('/v1/text-to-speech/voice-default/stream');
    expect(posted.query.get('output_format')).toBe('pcm_8000');
    expect(posted.headers['xi-api-key']).toBe(ELEVENLABS_TEST_KEY);
    expect(posted.headers['content-type']).toBe('application/json');
    expect(posted.body).toEqual({
      text: 'Hello there',
      model_id: 'eleven_flash_v2_5',
      voice_settings: { stability: 0.4, similarity_boost: 0.8 },
      language_code: 'de',
    });
  });

  it("the request's voice wins over the configured voiceId; models without language enforcement get no language_code", async () => {
    await collect(provider({ modelId: 'eleven_multilingual_v2' }).synthesize({ text: 'a', language: 'en-US', voice: 'other voice', sampleRate: 8000 }));
    const posted = server.requests.at(-1)!;
    expect(posted.path).toBe('/v1/text-to-speech/other%20voice/stream');
    expect(posted.body).toEqual({ text: 'a', model_id: 'eleven_multilingual_v2' });
  });

  it.each([
    [8000, 'pcm_8000'],
    [11025, 'pcm_16000'],
    [16000, 'pcm_16000'],
    [22050, 'pcm_22050'],
    [24000, 'pcm_24000'],
    [48000, 'pcm_24000'],
  ])('a %i Hz leg asks for %s and gets the right duration and pitch', async (rate, format) => {
    server.scripts.push({ hz: 440, ms: 750, chunks: 7 });
    const out = await collect(provider().synthesize({ text: 'Tone please', language: 'en-US', sampleRate: rate }));
    expect(server.requests.at(-1)!.query.get('output_format')).toBe(format);
    expect(out.length).toBe(Math.round(0.75 * rate));
    const f = toneFrequency(out, rate);
    expect(f).toBeGreaterThan(440 * 0.98);
    expect(f).toBeLessThan(440 * 1.02);
  });

  it('outputFormat ulaw_8000 is decoded from mu-law', async () => {
    server.scripts.push({ hz: 300, ms: 400 });
    const out = await collect(provider({ outputFormat: 'ulaw_8000' }).synthesize({ text: 'mu', language: 'en-US', sampleRate: 16000 }));
    expect(server.requests.at(-1)!.query.get('output_format')).toBe('ulaw_8000');
    expect(out.length).toBe(6400);
    expect(toneFrequency(out, 16000)).toBeCloseTo(300, -1);
  });

  it('yields the first audio before the server has finished the body', async () => {
    const gates = [deferred(), deferred(), deferred()];
    server.scripts.push({ hz: 440, ms: 800, chunks: 4, gates: gates.map((g) => g.promise) });
    const it = provider().synthesize({ text: 'Streaming', language: 'en-US', sampleRate: 8000 })[Symbol.asyncIterator]();
    const first = await it.next(); // the server waits on gate 0: only its first piece is on the wire
    expect(first.done).toBe(false);
    expect(first.value.length).toBeGreaterThan(0);
    expect(first.value.length).toBeLessThan(0.8 * 8000 * 0.5);
    let total = first.value.length;
    for (const g of gates) g.resolve();
    for (let r = await it.next(); !r.done; r = await it.next()) total += r.value.length;
    expect(total).toBe(0.8 * 8000);
  });

  it('SSML is sent as text, keeping timed breaks as the <break time> tags ElevenLabs reads', async () => {
    const ssml =
      '<speak version="1.0" xml:lang="en-US">Your code is <say-as interpret-as="characters">AB</say-as>.' +
      '<break time="500ms"/>Tom &amp; Jerry <emphasis>love</emphasis> it<break strength="strong"/>Bye<break time="10s"/></speak>';
    await collect(provider().synthesize({ text: ssml, ssml: true, language: 'en-US', sampleRate: 8000 }));
    expect(server.requests.at(-1)!.body!.text).toBe('Your code is AB. <break time="0.5s" /> Tom & Jerry love it <break time="1s" /> Bye <break time="3s" />');
  });

  it('ssmlToElevenLabsText drops breaks without a time or strength and yields nothing for empty SSML', async () => {
    expect(ssmlToElevenLabsText('<speak>One<break/>two</speak>')).toBe('One two');
    const before = server.requests.length;
    const out = await collect(provider().synthesize({ text: '<speak> <break time="1s"/> </speak>', ssml: true, language: 'en-US', sampleRate: 8000 }));
    expect(out.length).toBe(0);
    expect(server.requests.length).toBe(before);
  });

  it('picks the PCM rate at or above the leg rate', () => {
    expect(elevenLabsFormatFor(8000)).toBe('pcm_8000');
    expect(elevenLabsFormatFor(12000)).toBe('pcm_16000');
    expect(elevenLabsFormatFor(44100)).toBe('pcm_24000');
  });

  it('cacheScope changes with the default voice, model, voice settings and a forced output format', () => {
    const a = provider().cacheScope;
    expect(provider({ modelId: 'eleven_turbo_v2_5' }).cacheScope).not.toBe(a);
    expect(provider({ stability: 0.2 }).cacheScope).not.toBe(a);
    expect(provider({ speed: 1.1 }).cacheScope).not.toBe(a);
    expect(provider({ voiceId: 'another-default' }).cacheScope).not.toBe(a);
    expect(provider({ outputFormat: 'ulaw_8000' }).cacheScope).not.toBe(a);
    expect(provider().cacheScope).toBe(a);
  });

  it('the config section validates and builds a provider whose key comes from the environment', async () => {
    const config = elevenLabsTtsConfigSchema.parse({ apiKey: { env: 'ELEVEN_KEY' }, voiceId: 'voice-default', baseUrl: server.url, similarityBoost: 0.7 });
    const tts = elevenLabsTtsFromConfig(config, { ELEVEN_KEY: ELEVENLABS_TEST_KEY });
    const out = await collect(tts.synthesize({ text: 'hi', language: 'en-US', sampleRate: 16000 }));
    expect(out.length).toBe(8000);
    expect(() => elevenLabsTtsConfigSchema.parse({ apiKey: 'k', voiceId: 'v', stabilty: 0.5 })).toThrow(/stabilty/);
    expect(() => elevenLabsTtsFromConfig(config, {})).toThrow(/tts\.elevenlabs\.apiKey: environment variable ELEVEN_KEY is not set/);
  });
});
