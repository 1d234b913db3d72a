import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElevenLabsTtsProvider, type ElevenLabsTtsOptions } from '../../src/speech/tts/elevenlabs-tts.js';
import { TtsError } from '../../src/speech/tts/provider.js';
import { ELEVENLABS_TEST_KEY, startElevenLabsDouble, type ElevenLabsDouble } from '../support/elevenlabs-server.js';
import { collect, deferred } from '../support/tts-http-server.js';

let server: ElevenLabsDouble;
beforeAll(async () => {
  server = await startElevenLabsDouble();
});
afterAll(() => server.close());

const req = { text: 'Hello', language: 'en-US', sampleRate: 8000 };

function provider(extra: Partial<ElevenLabsTtsOptions> = {}): ElevenLabsTtsProvider {
  return new ElevenLabsTtsProvider({ baseUrl: server.url, apiKey: ELEVENLABS_TEST_KEY, voiceId: 'v1', ...extra });
}

async function failure(tts: ElevenLabsTtsProvider, signal?: AbortSignal): Promise<Error> {
  try {
    await collect(tts.synthesize(req, signal));
  } catch (err) {
    return err as Error;
  }
  throw new Error('synthesis did not fail');
}

describe('ElevenLabsTtsProvider failures', () => {
  it('a wrong API key -> TtsError with the status and ElevenLabs\' detail', async () => {
    const err = await failure(provider({ apiKey: 'sk_wrong' }));
    expect(err).toBeInstanceOf(TtsError);
    expect(err.message).toMatch(
      /^TTS provider "elevenlabs": POST http:\/\/127\.0\.0\.1:\d+\/v1\/text-to-speech\/v1\/stream answered 401 Unauthorized: Invalid API key \(invalid_api_key\)$/,
    );
  });

  it('an exhausted quota (401 quota_exceeded) and too many concurrent requests (429) say so', async () => {
    server.scripts.push(
      { reply: { status: 401, json: { detail: { status: 'quota_exceeded', message: 'This request exceeds your quota of 10000. You have 0 credits remaining.' } } } },
      { reply: { status: 429, json: { detail: { status: 'too_many_concurrent_requests', message: 'Too many concurrent requests.' } } } },
    );
    expect((await failure(provider())).message).toMatch(/answered 401 Unauthorized: This request exceeds your quota of 10000\..* \(quota_exceeded\)$/);
    expect((await failure(provider())).message).toMatch(/answered 429 Too Many Requests: Too many concurrent requests\. \(too_many_concurrent_requests\)$/);
  });

  it('a 422 validation error lists the fields FastAPI complained about', async () => {
    server.scripts.push({ reply: { status: 422, json: { detail: [{ type: 'less_than_equal', loc: ['body', 'voice_settings', 'stability'], msg: 'Input should be less than or equal to 1' }] } } });
    const err = await failure(provider());
    expect(err.message).toMatch(/answered 422 Unprocessable Entity: validation failed: body\.voice_settings\.stability: Input should be less than or equal to 1$/);
  });

  it('no headers within requestTimeoutMs -> TtsError naming the deadline, and the request is dropped', async () => {
    server.scripts.push({ stallBeforeHeaders: true });
    const closed = server.nextClose();
    const err = await failure(provider({ requestTimeoutMs: 100 }));
    expect(err).toBeInstanceOf(TtsError);
    expect(err.message).toMatch(/stream sent no audio within 100 ms$/);
    await closed;
  });

  it('headers but no audio within requestTimeoutMs -> the same deadline error', async () => {
    server.scripts.push({ stallAfterHeaders: true });
    const err = await failure(provider({ requestTimeoutMs: 100 }));
    expect(err.message).toMatch(/sent no audio within 100 ms$/);
  });

  it('a 200 with an empty body -> TtsError saying no audio came', async () => {
    server.scripts.push({ empty: true });
    const err = await failure(provider());
    expect(err).toBeInstanceOf(TtsError);
    expect(err.message).toMatch(/answered 200 with an empty body \(no audio\)$/);
  });

  it('a 200 with JSON instead of audio -> TtsError naming the content type', async () => {
    server.scripts.push({ reply: { status: 200, json: { detail: 'maintenance' } } });
    const err = await failure(provider());
    expect(err.message).toMatch(/answered Content-Type "application\/json" instead of pcm_8000 audio: \{"detail":"maintenance"\}$/);
  });

  it('a connection dropped mid-body -> TtsError naming the bytes received, after the audio that did arrive', async () => {
    server.scripts.push({ hz: 440, ms: 1000, chunks: 4, cutAfterChunks: 2 });
    const got: Int16Array[] = [];
    let error: Error | undefined;
    try {
      for await (const c of provider().synthesize(req)) got.push(c);
    } catch (err) {
      error = err as Error;
    }
    expect(got.length).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(TtsError);
    // 1 s at 8 kHz = 16000 bytes in pieces of 4001: two pieces arrived.
    expect(error!.message).toMatch(/^TTS provider "elevenlabs": POST .*\/stream: the audio body broke off after 8002 bytes/);
  });

  it('aborting mid-stream rejects with the abort reason and closes the connection', async () => {
    const gate = deferred();
    server.scripts.push({ hz: 440, ms: 2000, chunks: 4, gates: [gate.promise] });
    const controller = new AbortController();
    const closed = server.nextClose();
    const it = provider().synthesize(req, controller.signal)[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    const before = server.closedEarly;
    controller.abort(new Error('barge-in'));
    await expect(it.next()).rejects.toThrow('barge-in');
    await closed;
    expect(server.closedEarly).toBe(before + 1);
    gate.resolve();
  });

  it('aborting before the answer rejects with the abort reason, not a TtsError', async () => {
    server.scripts.push({ stallBeforeHeaders: true });
    const controller = new AbortController();
    const pending = failure(provider(), controller.signal);
    controller.abort(new Error('hung up'));
    expect((await pending).message).toBe('hung up');
  });

  it('an unreachable server -> TtsError with the socket error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await failure(provider({ baseUrl: `http://127.0.0.1:${port}` }));
    expect(err.message).toBe(`TTS provider "elevenlabs": POST http://127.0.0.1:${port}/v1/text-to-speech/v1/stream failed: ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:${port})`);
  });

  it('invalid options are refused with the option named', () => {
    const base = { apiKey: 'k', voiceId: 'v' };
    expect(() => new ElevenLabsTtsProvider({ ...base, baseUrl: 'api.elevenlabs.io' })).toThrow(/baseUrl must be an absolute http\(s\) URL/);
    expect(() => new ElevenLabsTtsProvider({ ...base, apiKey: '' })).toThrow(/apiKey is required/);
    expect(() => new ElevenLabsTtsProvider({ ...base, voiceId: ' ' })).toThrow(/voiceId is required/);
    expect(() => new ElevenLabsTtsProvider({ ...base, stability: 2 })).toThrow(/stability must be between 0 and 1, got 2/);
    expect(() => new ElevenLabsTtsProvider({ ...base, requestTimeoutMs: 0 })).toThrow(/requestTimeoutMs must be a positive number/);
  });
});
