import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  OpenAiTranscriptionProvider,
  openAiSttConfigSchema,
  openAiTranscriptionOptions,
  stripPunctuation,
} from '../../src/speech/stt/openai-transcription.js';
import type { SttResult, SttSession, SttSessionOptions } from '../../src/speech/stt/provider.js';
import { silentLogger } from '../../src/logger.js';
import { OpenAiTranscriptionServer } from '../support/openai-transcription-server.js';
import { nextFailure, toneFrames } from '../support/deepgram-session.js';

function nextFinal(session: SttSession): Promise<SttResult> {
  return new Promise((resolve, reject) => {
    session.on('result', (r) => r.final && resolve(r));
    session.once('failure', reject);
  });
}

describe('OpenAI STT: language, hints and punctuation in the request', () => {
  let server: OpenAiTranscriptionServer;
  beforeEach(async () => {
    server = await OpenAiTranscriptionServer.start('sk-test-key');
  });
  afterEach(() => server.close());

  async function transcribe(session: SessionOptionsLike, text = 'Okay.') {
    server.reply(text);
    const index = server.requests.length;
    const s = new OpenAiTranscriptionProvider({ baseUrl: server.url, apiKey: 'sk-test-key', model: 'gpt-4o-transcribe', logger: silentLogger() }).startSession({
      sampleRate: 8000,
      ...session,
    });
    for (const f of toneFrames(10)) s.write(f);
    const result = nextFinal(s);
    s.endOfUtterance();
    const out = { result: await result, request: await server.request(index) };
    s.close();
    return out;
  }
  type SessionOptionsLike = Omit<SttSessionOptions, 'sampleRate'>;

  it('sends the ISO-639-1 part of the session language (OpenAI rejects "en-US")', async () => {
    server.reply('Bonjour.');
    const s = new OpenAiTranscriptionProvider({ baseUrl: server.url, apiKey: 'sk-test-key', model: 'whisper-1', logger: silentLogger() }).startSession({
      language: 'fr-CA',
      sampleRate: 8000,
    });
    for (const f of toneFrames(10)) s.write(f);
    const result = nextFinal(s);
    s.endOfUtterance();
    expect((await result).text).toBe('Bonjour.');
    expect((await server.request(0)).fields.language).toBe('fr');
    s.close();
  });

  it('leaves the language out when the tag has no two-letter code, letting the server detect it', async () => {
    const { request } = await transcribe({ language: 'yue-HK' });
    expect(request.fields.language).toBeUndefined();
  });

  it('turns the hints into the prompt Whisper biases its spelling with', async () => {
    const { request } = await transcribe({ language: 'en-US', hints: ['Voxgate', ' ', 'Plivo', 'account number'] });
    expect(request.fields.prompt).toBe('Voxgate, Plivo, account number');
  });

  it('sends no prompt without hints', async () => {
    const { request } = await transcribe({ language: 'en-US' });
    expect(request.fields.prompt).toBeUndefined();
  });

  it('strips punctuation locally when the session asks for none (Whisper has no switch)', async () => {
    const { result } = await transcribe({ language: 'en-US', punctuation: false }, "Hello, I'd like 3.5 kilos; well-known — thanks!");
    expect(result).toEqual({ text: "Hello I'd like 3.5 kilos well known thanks", final: true });
  });

  it('keeps the punctuation by default', async () => {
    const { result } = await transcribe({ language: 'en-US' }, 'Yes, please.');
    expect(result.text).toBe('Yes, please.');
  });

  it('a transcript of punctuation only gives no result without punctuation', () => {
    expect(stripPunctuation(' ... ')).toBe('');
  });

  it('validates its config section and resolves the API key from the environment', () => {
    const config = openAiSttConfigSchema.parse({ baseUrl: 'https://api.openai.com/v1', apiKey: { env: 'OPENAI_KEY' }, model: 'whisper-1', stream: false });
    const options = openAiTranscriptionOptions(config, { logger: silentLogger(), env: { OPENAI_KEY: 'sk-from-env' } });
    expect(options.apiKey).toBe('sk-from-env');
    expect(() => openAiSttConfigSchema.parse({ baseUrl: 'https://api.openai.com/v1', model: 'whisper-1', temperature: 0 })).toThrow(/temperature/);
    expect(() => openAiSttConfigSchema.parse({ baseUrl: 'not a url', model: 'whisper-1' })).toThrow();
  });

  it('the README example validates against the config schema', () => {
    const doc = readFileSync(new URL('../../docs/providers/openai-stt.md', import.meta.url), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)![1]!;
    const { stt } = parseYaml(yaml) as { stt: { provider: string; openai: unknown } };
    expect(stt.provider).toBe('openai');
    expect(openAiSttConfigSchema.parse(stt.openai)).toMatchObject({ model: 'gpt-4o-mini-transcribe', stream: true });
  });

  it('rejects bad provider options with a message naming the option', () => {
    const logger = silentLogger();
    expect(() => new OpenAiTranscriptionProvider({ baseUrl: 'ftp://x', model: 'whisper-1', logger })).toThrow(/OpenAI STT: baseUrl "ftp:\/\/x" must use http or https/);
    expect(() => new OpenAiTranscriptionProvider({ baseUrl: server.url, model: ' ', logger })).toThrow(/OpenAI STT: model must be a non-empty string/);
    expect(() => new OpenAiTranscriptionProvider({ baseUrl: server.url, model: 'whisper-1', requestTimeoutMs: 0, logger })).toThrow(/requestTimeoutMs must be a positive number/);
  });

  it('reports invalid session options as a failure without uploading', async () => {
    const s = new OpenAiTranscriptionProvider({ baseUrl: server.url, model: 'whisper-1', logger: silentLogger() }).startSession({ language: '', sampleRate: 8000 });
    expect((await nextFailure(s)).message).toBe('OpenAI STT: language must be a non-empty string (e.g. "en-US")');
    s.write(toneFrames(1)[0]!);
    s.endOfUtterance();
    expect(server.requests).toEqual([]);
  });
});
