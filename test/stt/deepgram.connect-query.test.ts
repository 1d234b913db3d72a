import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeepgramSttProvider } from '../../src/speech/stt/deepgram.js';
import { silentLogger } from '../../src/logger.js';
import { DeepgramServer } from '../support/deepgram-server.js';
import { resultsUntilFinal, toneFrames } from '../support/deepgram-session.js';

describe('Deepgram STT: connection request', () => {
  let server: DeepgramServer;
  beforeEach(async () => {
    server = await DeepgramServer.start('secret-key');
  });
  afterEach(() => server.close());

  it('authenticates with "Token <apiKey>" and asks for linear16 mono at the session rate, language, model and boosted keywords', async () => {
    const provider = new DeepgramSttProvider({ apiKey: 'secret-key', baseUrl: server.url, model: 'nova-2', endpointingMs: 300, logger: silentLogger() });
    const session = provider.startSession({ language: 'de-DE', sampleRate: 16000, hints: ['Voxgate', 'Kundennummer'], hintBoost: 5, punctuation: false });
    const connection = await server.connection();

    expect(connection.headers.authorization).toBe('Token secret-key');
    const q = connection.query;
    expect(q.get('encoding')).toBe('linear16');
    expect(q.get('sample_rate')).toBe('16000');
    expect(q.get('channels')).toBe('1');
    expect(q.get('interim_results')).toBe('true');
    expect(q.get('punctuate')).toBe('false');
    expect(q.get('language')).toBe('de-DE');
    expect(q.get('model')).toBe('nova-2');
    expect(q.get('endpointing')).toBe('300');
    expect(q.getAll('keywords')).toEqual(['Voxgate:5', 'Kundennummer:5']);
    session.close();
  });

  it('uses keyterm (no boost) for nova-3 models and defaults punctuation on', async () => {
    const provider = new DeepgramSttProvider({ apiKey: 'secret-key', baseUrl: server.url, model: 'nova-3', logger: silentLogger() });
    const session = provider.startSession({ language: 'en-US', sampleRate: 8000, hints: ['account number'], hintBoost: 2 });
    const connection = await server.connection();
    expect(connection.query.getAll('keyterm')).toEqual(['account number']);
    expect(connection.query.has('keywords')).toBe(false);
    expect(connection.query.get('punctuate')).toBe('true');
    session.close();
  });

  it('the punctuation toggle changes what the caller gets back', async () => {
    const provider = new DeepgramSttProvider({ apiKey: 'secret-key', baseUrl: server.url, logger: silentLogger() });
    server.nextUtterance('Yes, please.');
    server.nextUtterance('Yes, please.');

    const punctuated = provider.startSession({ language: 'en-US', sampleRate: 8000, punctuation: true });
    const plain = provider.startSession({ language: 'en-US', sampleRate: 8000, punctuation: false });
    await Promise.all([server.connection(0), server.connection(1)]);
    const frames = toneFrames(10);

    const first = resultsUntilFinal(punctuated);
    for (const f of frames) punctuated.write(f);
    punctuated.endOfUtterance();
    expect((await first).at(-1)!.text).toBe('Yes, please.');

    const second = resultsUntilFinal(plain);
    for (const f of frames) plain.write(f);
    plain.endOfUtterance();
    expect((await second).at(-1)!.text).toBe('yes please');
    punctuated.close();
    plain.close();
  });

  it('rejects a provider without an API key or with a non-WebSocket base URL, naming the option', () => {
    expect(() => new DeepgramSttProvider({ apiKey: '', logger: silentLogger() })).toThrow(/apiKey/);
    expect(() => new DeepgramSttProvider({ apiKey: 'k', baseUrl: 'ftp://x', logger: silentLogger() })).toThrow(/baseUrl/);
  });
});
