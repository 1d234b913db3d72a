import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAiTtsProvider } from '../../src/speech/tts/openai-tts.js';
import { TtsError } from '../../src/speech/tts/provider.js';
import { collect, deferred, startTtsHttpDouble, type TtsHttpDouble } from '../support/tts-http-server.js';

let server: TtsHttpDouble;
beforeAll(async () => {
  server = await startTtsHttpDouble();
});
afterAll(() => server.close());

const req = { text: 'Hello', language: 'en-US', sampleRate: 8000 };

async function failure(tts: OpenAiTtsProvider, signal?: AbortSignal): Promise<Error> {
  try {
    await collect(tts.synthesize(req, signal));
  } catch (err) {
    return err as Error;
  }
  throw new Error('synthesis did not fail');
}

describe('OpenAiTtsProvider failures', () => {
  it('a wrong API key -> 401 TtsError carrying OpenAI\'s message and type', async () => {
    const err = await failure(new OpenAiTtsProvider({ baseUrl: `${server.url}/v1`, apiKey: 'sk-wrong-xy', model: 'tts-1' }));
    expect(err).toBeInstanceOf(TtsError);
    expect(err.message).toMatch(
      /^TTS provider "openai": POST http:\/\/127\.0\.0\.1:\d+\/v1\/audio\/speech answered 401 Unauthorized: Incorrect API key provided: sk-\*\*\*xy\..* \(invalid_request_error\/invalid_api_key\)$/,
    );
  });

  it('a missing API key -> 401 TtsError saying none was provided', async () => {
    const err = await failure(new OpenAiTtsProvider({ baseUrl: `${server.url}/v1`, model: 'tts-1' }));
    expect(err.message).toContain("answered 401 Unauthorized: You didn't provide an API key");
  });

  it('a 500 server error -> TtsError with the status and message', async () => {
    server.speechScripts.push({ hz: 440, ms: 100, error: { status: 500, message: 'The server had an error while processing your request.', type: 'server_error' } });
    const err = await failure(new OpenAiTtsProvider({ baseUrl: `${server.url}/v1`, apiKey: 'sk-test-key', model: 'tts-1' }));
    expect(err.message).toMatch(/answered 500 Internal Server Error: The server had an error while processing your request\. \(server_error\)$/);
  });

  it('a 200 with JSON instead of audio -> TtsError naming the content type', async () => {
    server.speechScripts.push({ hz: 440, ms: 100, okJson: { detail: 'queued' } });
    const err = await failure(new OpenAiTtsProvider({ baseUrl: `${server.url}/v1`, apiKey: 'sk-test-key', model: 'tts-1' }));
    expect(err).toBeInstanceOf(TtsError);
    expect(err.message).toMatch(/answered Content-Type "application\/json" instead of raw PCM: \{"detail":"queued"\}$/);
  });

  it('aborting mid-stream stops the request and closes the connection', async () => {
    const gate = deferred();
    server.speechScripts.push({ hz: 440, ms: 2000, chunks: 4, gates: [gate.promise] });
    const controller = new AbortController();
    const closed = server.nextClose();
    const tts = new OpenAiTtsProvider({ baseUrl: `${server.url}/v1`, apiKey: 'sk-test-key', model: 'tts-1' });
    const it = tts.synthesize(req, controller.signal)[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    const before = server.closedEarly;
    controller.abort(new Error('barge-in'));
    await expect(it.next()).rejects.toThrow('barge-in');
    await closed;
    expect(server.closedEarly).toBe(before + 1);
    gate.resolve();
  });

  it('invalid options are refused with the option named', () => {
    expect(() => new OpenAiTtsProvider({ baseUrl: 'nope', model: 'tts-1' })).toThrow(/baseUrl must be an absolute http\(s\) URL/);
    expect(() => new OpenAiTtsProvider({ baseUrl: 'http://x/v1', model: '' })).toThrow(/model is required/);
    expect(() => new OpenAiTtsProvider({ baseUrl: 'http://x/v1', model: 'tts-1', speed: 9 })).toThrow(/speed must be between 0.25 and 4.0, got 9/);
  });
});
