import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAiTtsProvider, ssmlToText } from '../../src/speech/tts/openai-tts.js';
import { collect, deferred, startTtsHttpDouble, toneFrequency, type TtsHttpDouble } from '../support/tts-http-server.js';

let server: TtsHttpDouble;
beforeAll(async () => {
  server = await startTtsHttpDouble();
});
afterAll(() => server.close());

function provider(extra: Partial<ConstructorParameters<typeof OpenAiTtsProvider>[0]> = {}): OpenAiTtsProvider {
  return new OpenAiTtsProvider({ baseUrl: `${server.url}/v1`, apiKey: 'sk-test-key', model: 'tts-1', ...extra });
}

describe('OpenAiTtsProvider streams 24 kHz pcm as it arrives', () => {
  it('sends model, input, voice, speed and response_format "pcm" with the bearer key', async () => {
    server.speechScripts.push({ hz: 440, ms: 200 });
    await collect(provider({ speed: 1.25, voice: 'nova' }).synthesize({ text: 'Hello there', language: 'en-US', sampleRate: 8000 }));
    const posted = server.requests.at(-1)!;
    expect(posted.url).toBe('/v1/audio/speech');
    expect(posted.headers.authorization).toBe('Bearer sk-test-key');
    expect(posted.body).toEqual({ model: 'tts-1', input: 'Hello there', voice: 'nova', response_format: 'pcm', speed: 1.25 });
  });

  it("the request's voice wins over the default, and the default is alloy", async () => {
    server.speechScripts.push({ hz: 440, ms: 100 }, { hz: 440, ms: 100 });
    await collect(provider().synthesize({ text: 'a', language: 'en-US', sampleRate: 8000 }));
    expect(server.requests.at(-1)!.body!.voice).toBe('alloy');
    await collect(provider().synthesize({ text: 'b', language: 'en-US', voice: 'shimmer', sampleRate: 8000 }));
    expect(server.requests.at(-1)!.body!.voice).toBe('shimmer');
  });

  it.each([8000, 16000, 24000, 48000])('audio arrives at %i Hz with the right duration and pitch (odd chunk boundaries)', async (rate) => {
    server.speechScripts.push({ hz: 440, ms: 750, chunks: 7 });
    const out = await collect(provider().synthesize({ text: 'Tone please', language: 'en-US', sampleRate: rate }));
    expect(out.length).toBe(Math.round(0.75 * rate));
    const f = toneFrequency(out, rate);
    expect(f).toBeGreaterThan(440 * 0.98);
    expect(f).toBeLessThan(440 * 1.02);
  });

  it('yields the first audio before the server has finished the body', async () => {
    const gates = [deferred(), deferred(), deferred()];
    server.speechScripts.push({ hz: 440, ms: 800, chunks: 4, gates: gates.map((g) => g.promise) });
    const it = provider().synthesize({ text: 'Streaming', language: 'en-US', sampleRate: 8000 })[Symbol.asyncIterator]();
    const first = await it.next(); // the server is blocked on gate 0: only the first chunk was written
    expect(first.done).toBe(false);
    expect(first.value.length).toBeGreaterThan(0);
    expect(first.value.length).toBeLessThan(0.8 * 8000 * 0.5);
    let total = first.value.length;
    for (const g of gates) g.resolve();
    for (let r = await it.next(); !r.done; r = await it.next()) total += r.value.length;
    expect(total).toBe(0.8 * 8000);
  });

  it('SSML is reduced to its text before it is sent (the API takes plain text)', async () => {
    server.speechScripts.push({ hz: 440, ms: 100 });
    const ssml =
      '<?xml version="1.0"?><speak version="1.0" xml:lang="en-US">Your code is <say-as interpret-as="characters">AB</say-as>.' +
      '<break time="500ms"/>Tom &amp; Jerry <emphasis level="strong">love</emphasis> <sub alias="World Wide Web">WWW</sub>!</speak>';
    await collect(provider().synthesize({ text: ssml, ssml: true, language: 'en-US', sampleRate: 8000 }));
    expect(server.requests.at(-1)!.body!.input).toBe('Your code is AB. Tom & Jerry love WWW!');
  });

  it('ssmlToText keeps words apart at breaks and paragraphs and decodes numeric entities', () => {
    expect(ssmlToText('<speak><p>One</p><p>Two<break/>three</p> caf&#233; &#x263A;</speak>')).toBe('One Two three café ☺');
  });

  it('cacheScope changes with model and speed', () => {
    const a = provider().cacheScope;
    expect(provider({ model: 'gpt-4o-mini-tts' }).cacheScope).not.toBe(a);
    expect(provider({ speed: 1.5 }).cacheScope).not.toBe(a);
    expect(provider().cacheScope).toBe(a);
  });

  it('a self-hosted server without a key works when none is configured', async () => {
    server.apiKey = undefined;
    try {
      server.speechScripts.push({ hz: 300, ms: 300 });
      const out = await collect(provider({ apiKey: undefined, model: 'kokoro' }).synthesize({ text: 'hi', language: 'en-US', sampleRate: 16000 }));
      expect(out.length).toBe(4800);
      expect(server.requests.at(-1)!.headers.authorization).toBeUndefined();
    } finally {
      server.apiKey = 'sk-test-key';
    }
  });
});
