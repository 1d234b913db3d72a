import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { VoskSttProvider, voskConfigSchema, voskSttOptions } from '../../src/speech/stt/vosk.js';
import { silentLogger } from '../../src/logger.js';
import { resample } from '../../src/media/resample.js';
import { VoskServer } from '../support/vosk-server.js';
import { littleEndianBytes, nextFailure, resultsUntilFinal, toneFrames } from '../support/deepgram-session.js';

describe('Vosk STT: what the config frame asks for', () => {
  let server: VoskServer;
  beforeEach(async () => {
    server = await VoskServer.start();
  });
  afterEach(() => server.close());

  it('sends the hints as phrase_list with [unk], and drops [unk] from what Vosk heard', async () => {
    server.nextUtterance('check balance please', { partials: ['check'], conf: [0.9, 0.7, 0.2] });
    const session = new VoskSttProvider({ url: server.url, logger: silentLogger() }).startSession({
      language: 'en-US',
      sampleRate: 8000,
      hints: ['check balance', ' ', 'operator'],
    });
    const connection = await server.connection();
    const results = resultsUntilFinal(session);
    for (const f of toneFrames(10)) session.write(f);
    session.endOfUtterance();
    expect(await results).toEqual([
      { text: 'check', final: false },
      { text: 'check balance', final: true, confidence: expect.closeTo(0.8, 10) as number },
    ]);
    expect(connection.configs[0]).toEqual({ sample_rate: 8000, words: true, max_alternatives: 0, phrase_list: ['check balance', 'operator', '[unk]'] });
    expect(connection.recognizer?.phrase_list).toEqual(['check balance', 'operator', '[unk]']);
    session.close();
  });

  it('leaves the grammar off with hintsAsPhraseList: false (large models ignore phrase_list anyway)', async () => {
    server.nextUtterance('check balance please');
    const session = new VoskSttProvider({ url: server.url, hintsAsPhraseList: false, logger: silentLogger() }).startSession({
      language: 'en-US',
      sampleRate: 8000,
      hints: ['check balance'],
    });
    const connection = await server.connection();
    const results = resultsUntilFinal(session);
    for (const f of toneFrames(10)) session.write(f);
    session.endOfUtterance();
    expect((await results).at(-1)?.text).toBe('check balance please');
    expect(connection.configs[0]).toEqual({ sample_rate: 8000, words: true, max_alternatives: 0 });
    session.close();
  });

  it('resamples 8 kHz call audio to the rate the server model wants', async () => {
    server.nextUtterance('hello');
    const session = new VoskSttProvider({ url: server.url, sampleRate: 16000, logger: silentLogger() }).startSession({
      language: 'en-US',
      sampleRate: 8000,
    });
    const connection = await server.connection();
    const frames = toneFrames(25);
    const results = resultsUntilFinal(session);
    for (const f of frames) session.write(f);
    session.endOfUtterance();
    await results;
    expect(connection.configs[0]?.sample_rate).toBe(16000);
    const input = new Int16Array(frames.reduce((n, f) => n + f.length, 0));
    frames.reduce((offset, f) => (input.set(f, offset), offset + f.length), 0);
    expect(connection.audio()).toEqual(littleEndianBytes([resample(input, 8000, 16000)]));
    expect(connection.audio().byteLength).toBe(25 * 320 * 2);
    session.close();
  });

  it('validates its config section and resolves the proxy key from the environment', () => {
    const config = voskConfigSchema.parse({ url: 'ws://vosk:2700', sampleRate: 16000, apiKey: { env: 'VOSK_KEY' } });
    expect(voskSttOptions(config, { logger: silentLogger(), env: { VOSK_KEY: 'k' } }).apiKey).toBe('k');
    expect(() => voskConfigSchema.parse({ url: 'http://vosk:2700' })).toThrow(/ws:\/\/ or wss:\/\//);
    expect(() => voskConfigSchema.parse({ url: 'ws://vosk:2700', model: 'x' })).toThrow(/model/);
    expect(() => new VoskSttProvider({ url: 'http://vosk:2700', logger: silentLogger() })).toThrow(/Vosk STT: url "http:\/\/vosk:2700" must use ws or wss/);
    expect(() => new VoskSttProvider({ url: server.url, sampleRate: 0, logger: silentLogger() })).toThrow(/Vosk STT: sampleRate must be a positive integer, got 0/);
  });

  it('the README example validates against the config schema', () => {
    const doc = readFileSync(new URL('../../docs/providers/vosk.md', import.meta.url), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)![1]!;
    const { stt } = parseYaml(yaml) as { stt: { provider: string; vosk: unknown } };
    expect(stt.provider).toBe('vosk');
    expect(voskConfigSchema.parse(stt.vosk)).toEqual({ url: 'ws://vosk:2700', sampleRate: 16000, connectTimeoutMs: 10000 });
  });

  it('reports invalid session options instead of connecting', async () => {
    const session = new VoskSttProvider({ url: server.url, logger: silentLogger() }).startSession({ language: 'en-US', sampleRate: 0 });
    expect((await nextFailure(session)).message).toBe('Vosk STT: sampleRate must be a positive integer, got 0');
    expect(server.upgradeRequests).toEqual([]);
  });
});
