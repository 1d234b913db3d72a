import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureTtsProvider, type AzureTtsOptions } from '../../src/speech/tts/azure-tts.js';
import { TtsError, type TtsRequest } from '../../src/speech/tts/provider.js';
import { AZURE_TEST_KEY, startAzureTtsDouble, type AzureTtsDouble } from '../support/azure-tts-server.js';
import { collect, deferred } from '../support/tts-http-server.js';

let server: AzureTtsDouble;
beforeAll(async () => {
  server = await startAzureTtsDouble();
});
afterAll(() => server.close());

const req: TtsRequest = { text: 'Hello', language: 'en-US', sampleRate: 8000 };

function provider(extra: Partial<AzureTtsOptions> = {}): AzureTtsProvider {
  return new AzureTtsProvider({ baseUrl: server.url, key: AZURE_TEST_KEY, ...extra });
}

async function failure(tts: AzureTtsProvider, request: TtsRequest = req, signal?: AbortSignal): Promise<Error> {
  try {
    await collect(tts.synthesize(request, signal));
  } catch (err) {
    return err as Error;
  }
  throw new Error('synthesis did not fail');
}

describe('AzureTtsProvider failures', () => {
  it('a wrong key -> 401 TtsError naming Azure, the status and what it means', async () => {
    const err = await failure(provider({ key: 'wrong' }));
    expect(err).toBeInstanceOf(TtsError);
    expect(err.message).toMatch(
      /^TTS provider "azure": POST http:\/\/127\.0\.0\.1:\d+\/cognitiveservices\/v1 answered 401 Unauthorized: \(empty body\) \(the key or token is invalid for this region or endpoint\)$/,
    );
  });

  it('a wrong key with token auth -> the issueToken 401 and its message', async () => {
    const syntheses = server.synthesisRequests().length;
    const err = await failure(provider({ key: 'wrong', useTokenAuth: true }));
    expect(err.message).toMatch(/\/sts\/v1\.0\/issueToken \(token\) answered 401 Unauthorized: Access denied due to invalid subscription key or wrong API endpoint\..* \(401\)/);
    expect(server.synthesisRequests().length).toBe(syntheses); // no synthesis without a token
  });

  it('a token endpoint that never answers -> TtsError naming the deadline; nothing is synthesized', async () => {
    server.stallTokens = true;
    try {
      const syntheses = server.synthesisRequests().length;
      const err = await failure(provider({ useTokenAuth: true, requestTimeoutMs: 100 }));
      expect(err).toBeInstanceOf(TtsError);
      expect(err.message).toMatch(/within 100 ms$/);
      expect(server.synthesisRequests().length).toBe(syntheses);
    } finally {
      server.stallTokens = false;
    }
  });

  it('SSML Azure cannot parse -> 400 TtsError saying the SSML may be invalid', async () => {
    const err = await failure(provider(), { ...req, ssml: true, text: '<speak><prosody rate="fast">unclosed</speak>' });
    expect(err.message).toMatch(/answered 400 Bad Request: \(empty body\) \(bad request: invalid SSML, unknown voice, or a header Azure refused\)$/);
  });

  it('429 and 502 carry their meaning', async () => {
    server.scripts.push({ reply: { status: 429 } }, { reply: { status: 502 } });
    expect((await failure(provider())).message).toMatch(/answered 429 Too Many Requests: \(empty body\) \(quota or request rate exceeded\)$/);
    expect((await failure(provider())).message).toMatch(/answered 502 Bad Gateway: \(empty body\) \(network or server-side problem at Azure\)$/);
  });

  it('no headers within requestTimeoutMs -> TtsError naming the deadline, and the request is dropped', async () => {
    server.scripts.push({ stallBeforeHeaders: true });
    const closed = server.nextClose();
    const err = await failure(provider({ requestTimeoutMs: 100 }));
    expect(err).toBeInstanceOf(TtsError);
    expect(err.message).toMatch(/cognitiveservices\/v1 sent no audio within 100 ms$/);
    await closed;
  });

  it('headers but no audio within requestTimeoutMs -> the same deadline error', async () => {
    server.scripts.push({ stallAfterHeaders: true });
    expect((await failure(provider({ requestTimeoutMs: 100 }))).message).toMatch(/sent no audio within 100 ms$/);
  });

  it('a 200 with an empty body -> TtsError saying no audio came for the voice', async () => {
    server.scripts.push({ empty: true });
    const err = await failure(provider());
    expect(err.message).toMatch(/answered 200 with an empty body \(no audio for voice "en-US-JennyNeural"\)$/);
  });

  it('a 200 HTML page (a proxy) -> TtsError naming the content type', async () => {
    server.scripts.push({ reply: { status: 200, contentType: 'text/html', body: '<html>Sign in to Wi-Fi</html>' } });
    const err = await failure(provider());
    expect(err.message).toMatch(/answered Content-Type "text\/html" instead of raw-8khz-16bit-mono-pcm audio: <html>Sign in to Wi-Fi<\/html>$/);
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
    expect(error!.message).toMatch(/^TTS provider "azure": POST .*\/cognitiveservices\/v1: the audio body broke off after 8002 bytes/);
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
    const pending = failure(provider(), req, controller.signal);
    controller.abort(new Error('hung up'));
    expect((await pending).message).toBe('hung up');
  });

  it('a language without a default voice and no voice configured -> TtsError saying what to set', async () => {
    const err = await failure(provider(), { ...req, language: 'xx-YY' });
    expect(err.message).toMatch(/no default voice for language "xx-YY"; set tts\.azure\.voice/);
  });

  it('invalid options are refused with the option named', () => {
    expect(() => new AzureTtsProvider({ key: 'k' })).toThrow(/region \(e\.g\. "westeurope"\) or baseUrl is required/);
    expect(() => new AzureTtsProvider({ key: '', region: 'westus' })).toThrow(/key is required/);
    expect(() => new AzureTtsProvider({ key: 'k', region: 'West US' })).toThrow(/region must be an Azure region name/);
    expect(() => new AzureTtsProvider({ key: 'k', baseUrl: 'westus.tts' })).toThrow(/baseUrl must be an absolute http\(s\) URL/);
    expect(() => new AzureTtsProvider({ key: 'k', region: 'westus', requestTimeoutMs: -1 })).toThrow(/requestTimeoutMs must be a positive number/);
  });
});
