// Loads the config module before secrets.ts, whose import of ConfigError from load.ts is circular.
import '../../src/config/load.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AzureSttProvider, azureSttConfigSchema, azureSttOptions, type AzureSttOptions } from '../../src/speech/stt/azure-stt.js';
import type { SttSessionOptions } from '../../src/speech/stt/provider.js';
import { silentLogger } from '../../src/logger.js';
import { AzureSttServer } from '../support/azure-stt-server.js';
import { FakeClock } from '../support/fake-clock.js';
import { resultsUntilFinal, toneFrames } from '../support/deepgram-session.js';

describe('Azure STT: what the short-audio request asks Azure for', () => {
  let server: AzureSttServer;
  beforeEach(async () => {
    server = await AzureSttServer.start('azure-test-key');
  });
  afterEach(() => server.close());

  const provider = (options: Partial<AzureSttOptions> = {}) =>
    new AzureSttProvider({ key: 'azure-test-key', baseUrl: server.url, logger: silentLogger(), ...options });

  const speak = async (p: AzureSttProvider, options: SttSessionOptions) => {
    const session = p.startSession(options);
    const result = resultsUntilFinal(session);
    for (const f of toneFrames(5, options.sampleRate)) session.write(f);
    session.endOfUtterance();
    const results = await result;
    session.close();
    return { results, request: server.requests[server.requests.length - 1]! };
  };

  it('posts chunked 16 kHz WAV to the recognition path with language, detailed format, raw profanity and the key', async () => {
    server.nextRecognition('Guten Tag.');
    const { request, results } = await speak(provider(), { language: 'de-DE', sampleRate: 8000 });
    expect(request.url).toBe('/speech/recognition/conversation/cognitiveservices/v1?language=de-DE&format=detailed&profanity=raw');
    expect(request.headers['ocp-apim-subscription-key']).toBe('azure-test-key');
    expect(request.headers.authorization).toBeUndefined();
    expect(request.headers['content-type']).toBe('audio/wav; codecs=audio/pcm; samplerate=16000');
    expect(request.headers['transfer-encoding']).toBe('chunked');
    expect(request.headers.expect).toBe('100-continue');
    expect(request.headers.accept).toBe('application/json');
    expect(results).toEqual([{ text: 'Guten Tag.', final: true, confidence: 0.93 }]);
  });

  it('uses the ITN form (no punctuation, numbers as digits) when punctuation is off', async () => {
    server.nextRecognition('My number is 1 2 3.', { lexical: 'my number is one two three', itn: 'my number is 123' });
    const { results } = await speak(provider(), { language: 'en-US', sampleRate: 8000, punctuation: false });
    expect(results[0]!.text).toBe('my number is 123');
  });

  it('ignores phrase hints, which the short-audio REST API cannot take', async () => {
    server.nextRecognition('Billing.');
    const { request, results } = await speak(provider(), { language: 'en-US', sampleRate: 8000, hints: ['billing'], hintBoost: 10 });
    expect([...request.query.keys()]).toEqual(['language', 'format', 'profanity']);
    expect(results[0]!.text).toBe('Billing.');
  });

  it('with useTokenAuth exchanges the key for a Bearer token once, reuses it for 9 minutes, then renews it', async () => {
    const clock = new FakeClock();
    const p = provider({ useTokenAuth: true, clock });
    server.nextRecognition('One.');
    server.nextRecognition('Two.');
    server.nextRecognition('Three.');
    const first = await speak(p, { language: 'en-US', sampleRate: 8000 });
    await speak(p, { language: 'en-US', sampleRate: 8000 });
    expect(server.tokenRequests.map((t) => t.status)).toEqual([200]);
    expect(server.tokenRequests[0]!.headers['ocp-apim-subscription-key']).toBe('azure-test-key');
    expect(server.tokenRequests[0]!.headers['content-length']).toBe('0');
    expect(first.request.headers.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(first.request.headers['ocp-apim-subscription-key']).toBeUndefined();
    clock.advance(9 * 60_000);
    server.expireTokens();
    const third = await speak(p, { language: 'en-US', sampleRate: 8000 });
    expect(third.results[0]!.text).toBe('Three.');
    expect(server.tokenRequests).toHaveLength(2);
  });

  it('with useTokenAuth a token Azure refuses is reported, then replaced for the next utterance', async () => {
    const p = provider({ useTokenAuth: true });
    server.nextRecognition('One.');
    await speak(p, { language: 'en-US', sampleRate: 8000 });
    server.expireTokens();
    const session = p.startSession({ language: 'en-US', sampleRate: 8000 });
    const failure = new Promise<Error>((resolve) => session.once('failure', resolve));
    for (const f of toneFrames(5)) session.write(f);
    session.endOfUtterance();
    expect((await failure).message).toMatch(/HTTP 401 .*\(the token is renewed for the next utterance\)$/);
    server.nextRecognition('Two.');
    const result = resultsUntilFinal(session);
    for (const f of toneFrames(5)) session.write(f);
    session.endOfUtterance();
    expect((await result)[0]!.text).toBe('Two.');
    expect(server.tokenRequests.map((t) => t.status)).toEqual([200, 200]);
    session.close();
  });

  it('config section: needs a region or baseUrl, resolves the key from the environment, wires in one line', async () => {
    const config = azureSttConfigSchema.parse({ key: { env: 'AZURE_SPEECH_KEY' }, baseUrl: server.url, requestTimeoutMs: 5000 });
    const options = azureSttOptions(config, { logger: silentLogger(), env: { AZURE_SPEECH_KEY: 'azure-test-key' } });
    server.nextRecognition('Hello.');
    const { results } = await speak(new AzureSttProvider(options), { language: 'en-US', sampleRate: 8000 });
    expect(results[0]!.text).toBe('Hello.');
    expect(azureSttConfigSchema.safeParse({ key: 'k' }).error?.issues[0]?.message).toBe('needs a region (or a baseUrl)');
    expect(azureSttConfigSchema.safeParse({ key: 'k', region: 'West Europe' }).success).toBe(false);
    expect(() => azureSttConfigSchema.parse({ key: 'k', region: 'westeurope', model: 'x' })).toThrow(/Unrecognized key/);
    const regional = new AzureSttProvider(azureSttOptions(azureSttConfigSchema.parse({ key: 'k', region: 'westeurope' }), { logger: silentLogger() }));
    expect(regional.endpoint).toBe('https://westeurope.stt.speech.microsoft.com/speech/recognition/conversation/cognitiveservices/v1');
  });

  it('refuses provider options that cannot work, naming the vendor and the option', () => {
    const logger = silentLogger();
    expect(() => new AzureSttProvider({ key: '', region: 'westeurope', logger })).toThrow(/Azure STT: key must be a non-empty string/);
    expect(() => new AzureSttProvider({ key: 'k', logger })).toThrow('Azure STT: give a region (e.g. westeurope) or a baseUrl');
    expect(() => new AzureSttProvider({ key: 'k', region: 'westeurope', maxUtteranceMs: 61_000, logger })).toThrow(/maxUtteranceMs must be at most 59000/);
    expect(() => new AzureSttProvider({ key: 'k', baseUrl: 'ws://x', logger })).toThrow(/must use http or https/);
  });
});
