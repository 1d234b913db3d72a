// Loads the config module before secrets.ts, whose import of ConfigError from load.ts is circular.
import '../../src/config/load.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GoogleSttProvider, googleSttConfigSchema, googleSttOptions } from '../../src/speech/stt/google-stt.js';
import { silentLogger } from '../../src/logger.js';
import { GoogleSttServer } from '../support/google-stt-server.js';
import { resultsUntilFinal, toneFrames } from '../support/deepgram-session.js';

describe('Google STT: what the recognize request asks Google for', () => {
  let server: GoogleSttServer;
  beforeEach(async () => {
    server = await GoogleSttServer.start({ apiKey: 'google-test-key', accessToken: 'ya29.test-token' });
  });
  afterEach(() => server.close());

  const speak = async (provider: GoogleSttProvider, options: Parameters<GoogleSttProvider['startSession']>[0]) => {
    const session = provider.startSession(options);
    const result = resultsUntilFinal(session);
    for (const f of toneFrames(5, options.sampleRate)) session.write(f);
    session.endOfUtterance();
    const results = await result;
    session.close();
    return { results, request: await server.request(server.requests.length - 1) };
  };

  it('sends language, sample rate, punctuation, model and the hints with their boost as one speech context', async () => {
    server.nextTranscript('Transfer to billing.');
    const provider = new GoogleSttProvider({ apiKey: 'google-test-key', baseUrl: server.url, model: 'telephony', logger: silentLogger() });
    const { request, results } = await speak(provider, {
      language: 'de-DE',
      sampleRate: 16000,
      hints: ['billing', '  ', 'Kundennummer'],
      hintBoost: 12,
    });
    expect(request.url.startsWith('/v1/speech:recognize?')).toBe(true);
    expect(request.query.get('key')).toBe('google-test-key');
    expect(request.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(request.body.config).toEqual({
      encoding: 'LINEAR16',
      sampleRateHertz: 16000,
      audioChannelCount: 1,
      languageCode: 'de-DE',
      maxAlternatives: 1,
      enableAutomaticPunctuation: true,
      speechContexts: [{ phrases: ['billing', 'Kundennummer'], boost: 12 }],
      model: 'telephony',
    });
    expect(results[0]!.text).toBe('Transfer to billing.');
  });

  it('turns punctuation off when the session asks, and sends no speech context without hints', async () => {
    server.nextTranscript('Transfer to billing.');
    const provider = new GoogleSttProvider({ apiKey: 'google-test-key', baseUrl: server.url, logger: silentLogger() });
    const { request, results } = await speak(provider, { language: 'en-US', sampleRate: 8000, punctuation: false });
    expect(request.body.config!.enableAutomaticPunctuation).toBe(false);
    expect(request.body.config).not.toHaveProperty('speechContexts');
    expect(request.body.config).not.toHaveProperty('model');
    // The double answers like Google without punctuation.
    expect(results[0]!.text).toBe('transfer to billing');
  });

  it('authenticates with a Bearer access token from getAccessToken, asked again for every request', async () => {
    server.nextTranscript('One.');
    server.nextTranscript('Two.');
    let asked = 0;
    const provider = new GoogleSttProvider({
      getAccessToken: async () => {
        asked++;
        return 'ya29.test-token';
      },
      baseUrl: server.url,
      logger: silentLogger(),
    });
    await speak(provider, { language: 'en-US', sampleRate: 8000 });
    const { request } = await speak(provider, { language: 'en-US', sampleRate: 8000 });
    expect(request.headers.authorization).toBe('Bearer ya29.test-token');
    expect(request.query.has('key')).toBe(false);
    expect(asked).toBe(2);
  });

  it('config section: validates, resolves the key from the environment and wires one line into a provider', async () => {
    const config = googleSttConfigSchema.parse({ apiKey: { env: 'GOOGLE_STT_KEY' }, model: 'latest_short', baseUrl: server.url, requestTimeoutMs: 5000 });
    const options = googleSttOptions(config, { logger: silentLogger(), env: { GOOGLE_STT_KEY: 'google-test-key' } });
    expect(options).toMatchObject({ apiKey: 'google-test-key', model: 'latest_short', requestTimeoutMs: 5000 });
    server.nextTranscript('Hello.');
    const { results } = await speak(new GoogleSttProvider(options), { language: 'en-US', sampleRate: 8000 });
    expect(results[0]!.text).toBe('Hello.');
    expect(() => googleSttConfigSchema.parse({ apiKey: 'k', region: 'x' })).toThrow(/Unrecognized key/);
    // Without an API key a service-account token source (GoogleAccessTokenSource's shape) supplies Bearer tokens.
    const invalidated: string[] = [];
    const keyless = googleSttOptions(googleSttConfigSchema.parse({ baseUrl: server.url }), {
      logger: silentLogger(),
      tokenSource: { token: () => Promise.resolve('ya29.test-token'), invalidate: (t) => invalidated.push(t ?? '') },
    });
    expect(keyless.apiKey).toBeUndefined();
    expect(await keyless.getAccessToken!()).toBe('ya29.test-token');
    keyless.onTokenRejected!('ya29.old');
    expect(invalidated).toEqual(['ya29.old']);
    expect(() => googleSttConfigSchema.parse({ requestTimeoutMs: 0 })).toThrow();
  });

  it('refuses provider options that cannot work, naming the vendor and the option', () => {
    const logger = silentLogger();
    expect(() => new GoogleSttProvider({ logger })).toThrow('Google STT: give exactly one of apiKey or getAccessToken (service account)');
    expect(() => new GoogleSttProvider({ apiKey: 'k', baseUrl: 'ftp://x', logger })).toThrow(/baseUrl "ftp:\/\/x" must use http or https/);
    expect(() => new GoogleSttProvider({ apiKey: 'k', maxUtteranceMs: 90_000, logger })).toThrow(/maxUtteranceMs must be at most 59000/);
    expect(() => new GoogleSttProvider({ apiKey: ' ', logger })).toThrow(/apiKey must be a non-empty string/);
  });
});
