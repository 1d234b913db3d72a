import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureTtsProvider, azureTtsConfigSchema, azureTtsFromConfig, type AzureTtsOptions } from '../../src/speech/tts/azure-tts.js';
import { completeSsml } from '../../src/speech/tts/azure-ssml.js';
import { AZURE_TEST_KEY, startAzureTtsDouble, type AzureTtsDouble } from '../support/azure-tts-server.js';
import { collect, deferred, toneFrequency } from '../support/tts-http-server.js';

let server: AzureTtsDouble;
beforeAll(async () => {
  server = await startAzureTtsDouble();
});
afterAll(() => server.close());

function provider(extra: Partial<AzureTtsOptions> = {}): AzureTtsProvider {
  return new AzureTtsProvider({ baseUrl: server.url, key: AZURE_TEST_KEY, ...extra });
}

const lastSynthesis = () => server.synthesisRequests().at(-1)!;

describe('AzureTtsProvider streams raw PCM as Azure synthesizes it', () => {
  it('posts escaped plain text as SSML with the default voice of the language and the required headers', async () => {
    await collect(provider().synthesize({ text: ' Tom & Jerry <3 "quotes" ', language: 'en-US', sampleRate: 8000 }));
    const posted = lastSynthesis();
    expect(posted.method).toBe('POST');
    expect(posted.headers['ocp-apim-subscription-key']).toBe(AZURE_TEST_KEY);
    expect(posted.headers['content-type']).toBe('application/ssml+xml');
    expect(posted.headers['x-microsoft-outputformat']).toBe('raw-8khz-16bit-mono-pcm');
    expect(posted.headers['user-agent']).toBe('voxgate');
    expect(posted.headers.authorization).toBeUndefined();
    expect(posted.body).toBe(
      "<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang='en-US'><voice name='en-US-JennyNeural'>Tom &amp; Jerry &lt;3 &quot;quotes&quot;</voice></speak>",
    );
  });

  it("the request's voice wins over the configured voice, which wins over the language default", async () => {
    await collect(provider().synthesize({ text: 'Hallo', language: 'de_de', sampleRate: 8000 }));
    expect(lastSynthesis().body).toContain("xml:lang='de-DE'><voice name='de-DE-KatjaNeural'>");
    await collect(provider({ voice: 'de-DE-ConradNeural' }).synthesize({ text: 'Hallo', language: 'de-DE', sampleRate: 8000 }));
    expect(lastSynthesis().body).toContain("<voice name='de-DE-ConradNeural'>");
    await collect(provider({ voice: 'de-DE-ConradNeural' }).synthesize({ text: 'Hallo', language: 'de-DE', voice: 'de-DE-AmalaNeural', sampleRate: 8000 }));
    expect(lastSynthesis().body).toContain("<voice name='de-DE-AmalaNeural'>");
    await collect(provider().synthesize({ text: 'Kia ora', language: 'en-NZ', sampleRate: 8000 }));
    expect(lastSynthesis().body).toContain("xml:lang='en-NZ'><voice name='en-US-JennyNeural'>");
  });

  it.each([
    [8000, 'raw-8khz-16bit-mono-pcm'],
    [11025, 'raw-16khz-16bit-mono-pcm'],
    [16000, 'raw-16khz-16bit-mono-pcm'],
    [22050, 'raw-22050hz-16bit-mono-pcm'],
    [24000, 'raw-24khz-16bit-mono-pcm'],
    [32000, 'raw-44100hz-16bit-mono-pcm'],
    [48000, 'raw-48khz-16bit-mono-pcm'],
  ])('a %i Hz leg asks for %s and gets the right duration and pitch', async (rate, format) => {
    server.scripts.push({ hz: 440, ms: 750, chunks: 7 });
    const out = await collect(provider().synthesize({ text: 'Tone please', language: 'en-US', sampleRate: rate }));
    expect(lastSynthesis().headers['x-microsoft-outputformat']).toBe(format);
    expect(out.length).toBe(Math.round(0.75 * rate));
    const f = toneFrequency(out, rate);
    expect(f).toBeGreaterThan(440 * 0.98);
    expect(f).toBeLessThan(440 * 1.02);
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

  it("the bot's SSML passes through, given a voice when it has none", async () => {
    const ssml = '<speak version="1.0" xml:lang="en-US">Your code is <say-as interpret-as="characters">AB</say-as><break time="500ms"/>bye</speak>';
    await collect(provider().synthesize({ text: ssml, ssml: true, language: 'en-US', sampleRate: 8000 }));
    expect(lastSynthesis().body).toBe(
      `<speak version="1.0" xml:lang="en-US" xmlns='http://www.w3.org/2001/10/synthesis'><voice name='en-US-JennyNeural'>Your code is <say-as interpret-as="characters">AB</say-as><break time="500ms"/>bye</voice></speak>`,
    );
  });

  it("the bot's own voice elements are kept, and a bare fragment or a <speak> without version/xml:lang is completed", async () => {
    const withVoice = `<?xml version="1.0"?><speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="en-US"><voice name="en-US-GuyNeural">Hi</voice><voice name="en-US-AriaNeural">there</voice></speak>`;
    await collect(provider().synthesize({ text: withVoice, ssml: true, language: 'en-US', sampleRate: 8000 }));
    expect(lastSynthesis().body).toBe(withVoice);
    await collect(provider().synthesize({ text: 'Bonjour <break time="200ms"/> monde', ssml: true, language: 'fr-FR', sampleRate: 8000 }));
    expect(lastSynthesis().body).toBe(
      `<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang='fr-FR'><voice name='fr-FR-DeniseNeural'>Bonjour <break time="200ms"/> monde</voice></speak>`,
    );
    expect(completeSsml('<speak><p>Hi</p></speak>', 'en-GB', 'en-GB-SoniaNeural')).toBe(
      `<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang='en-GB'><voice name='en-GB-SoniaNeural'><p>Hi</p></voice></speak>`,
    );
  });

  it('empty text or SSML without words is not sent', async () => {
    const before = server.requests.length;
    expect((await collect(provider().synthesize({ text: '  ', language: 'en-US', sampleRate: 8000 }))).length).toBe(0);
    expect((await collect(provider().synthesize({ text: '<speak> <!-- x --> </speak>', ssml: true, language: 'en-US', sampleRate: 8000 }))).length).toBe(0);
    expect(server.requests.length).toBe(before);
  });

  it('token auth: one issueToken for concurrent and later syntheses, a new one after 9 minutes', async () => {
    let now = 1_000_000;
    const tts = provider({ useTokenAuth: true, now: () => now });
    const issuedBefore = server.tokensIssued;
    await Promise.all([1, 2, 3].map((n) => collect(tts.synthesize({ text: `call ${n}`, language: 'en-US', sampleRate: 8000 }))));
    expect(server.tokensIssued).toBe(issuedBefore + 1);
    const tokenRequest = server.requests.find((r) => r.path === '/sts/v1.0/issueToken')!;
    expect(tokenRequest.headers['ocp-apim-subscription-key']).toBe(AZURE_TEST_KEY);
    const first = lastSynthesis().headers.authorization;
    expect(first).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(lastSynthesis().headers['ocp-apim-subscription-key']).toBeUndefined();
    now += 8 * 60_000;
    await collect(tts.synthesize({ text: 'still fresh', language: 'en-US', sampleRate: 8000 }));
    expect(server.tokensIssued).toBe(issuedBefore + 1);
    now += 61_000;
    await collect(tts.synthesize({ text: 'renewed', language: 'en-US', sampleRate: 8000 }));
    expect(server.tokensIssued).toBe(issuedBefore + 2);
    expect(lastSynthesis().headers.authorization).not.toBe(first);
  });

  it('a revoked token is replaced once and the synthesis succeeds', async () => {
    const tts = provider({ useTokenAuth: true });
    await collect(tts.synthesize({ text: 'one', language: 'en-US', sampleRate: 8000 }));
    server.validTokens.clear();
    const issued = server.tokensIssued;
    const out = await collect(tts.synthesize({ text: 'two', language: 'en-US', sampleRate: 8000 }));
    expect(out.length).toBe(4000);
    expect(server.tokensIssued).toBe(issued + 1);
  });

  it('cacheScope changes with the endpoint and the default voice', () => {
    const a = provider().cacheScope;
    expect(provider({ voice: 'en-US-GuyNeural' }).cacheScope).not.toBe(a);
    expect(new AzureTtsProvider({ region: 'westeurope', key: 'k' }).cacheScope).not.toBe(a);
    expect(provider().cacheScope).toBe(a);
  });

  it('the config section validates, needs a region or baseUrl, and builds a provider with the key from the environment', async () => {
    const config = azureTtsConfigSchema.parse({ key: { env: 'AZURE_SPEECH_KEY' }, baseUrl: server.url, voice: 'en-US-AriaNeural' });
    const out = await collect(azureTtsFromConfig(config, { AZURE_SPEECH_KEY: AZURE_TEST_KEY }).synthesize({ text: 'hi', language: 'en-US', sampleRate: 16000 }));
    expect(out.length).toBe(8000);
    expect(lastSynthesis().body).toContain("<voice name='en-US-AriaNeural'>");
    expect(azureTtsConfigSchema.safeParse({ key: 'k', region: 'westeurope', useTokenAuth: true }).success).toBe(true);
    expect(() => azureTtsConfigSchema.parse({ key: 'k' })).toThrow(/needs a region/);
    expect(() => azureTtsConfigSchema.parse({ key: 'k', region: 'West Europe' })).toThrow(/Azure region name/);
    expect(() => azureTtsFromConfig(config, {})).toThrow(/tts\.azure\.key: environment variable AZURE_SPEECH_KEY is not set/);
  });

  it('a region builds the regional endpoints', () => {
    const tts = new AzureTtsProvider({ region: 'westeurope', key: 'k' }) as unknown as { endpoint: URL; tokenUrl: URL };
    expect(tts.endpoint.href).toBe('https://westeurope.tts.speech.microsoft.com/cognitiveservices/v1');
    expect(tts.tokenUrl.href).toBe('https://westeurope.api.cognitive.microsoft.com/sts/v1.0/issueToken');
  });
});
