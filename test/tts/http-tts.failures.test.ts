import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpTtsProvider } from '../../src/speech/tts/http-tts.js';
import { TtsError } from '../../src/speech/tts/provider.js';
import { collect, encodeWav, pcm16le, startTtsHttpDouble, tone, type TtsHttpDouble } from '../support/tts-http-server.js';

let server: TtsHttpDouble;
beforeAll(async () => {
  server = await startTtsHttpDouble();
});
afterAll(() => server.close());

const req = { text: 'Hello', language: 'en-US', sampleRate: 8000 };

async function failure(tts: HttpTtsProvider, signal?: AbortSignal): Promise<unknown> {
  try {
    await collect(tts.synthesize(req, signal));
  } catch (err) {
    return err;
  }
  throw new Error('synthesis did not fail');
}

describe('HttpTtsProvider failures name the URL and what was wrong', () => {
  it('500 from the TTS server -> TtsError with URL, status and body', async () => {
    server.genericAnswers.push({ kind: 'status', status: 500, body: 'voice model crashed' });
    const url = `${server.url}/tts`;
    const err = await failure(new HttpTtsProvider({ url }));
    expect(err).toBeInstanceOf(TtsError);
    expect((err as Error).message).toBe(`TTS provider "http": POST ${url} answered 500 Internal Server Error: voice model crashed`);
  });

  it('401 -> TtsError naming the status', async () => {
    server.genericAnswers.push({ kind: 'status', status: 401, contentType: 'application/json', body: '{"error":"bad token"}' });
    const err = await failure(new HttpTtsProvider({ url: `${server.url}/tts`, token: 'wrong' }));
    expect((err as Error).message).toContain('answered 401 Unauthorized: {"error":"bad token"}');
  });

  it('an unsupported content type -> TtsError listing the supported ones', async () => {
    server.genericAnswers.push({ kind: 'status', status: 200, contentType: 'audio/mpeg', body: 'ID3....' });
    const err = await failure(new HttpTtsProvider({ url: `${server.url}/tts` }));
    expect(err).toBeInstanceOf(TtsError);
    expect((err as Error).message).toMatch(/POST .*\/tts answered with unsupported Content-Type "audio\/mpeg" \(expected audio\/wav/);
  });

  it('raw PCM without a rate -> TtsError saying the rate is needed', async () => {
    server.genericAnswers.push({ kind: 'status', status: 200, contentType: 'audio/L16', body: 'xxxx' });
    const err = await failure(new HttpTtsProvider({ url: `${server.url}/tts` }));
    expect((err as Error).message).toContain('audio/l16 needs a rate parameter');
  });

  it('JSON without audio_url -> TtsError naming the field', async () => {
    server.genericAnswers.push({ kind: 'status', status: 200, contentType: 'application/json', body: '{"url":"x"}' });
    const err = await failure(new HttpTtsProvider({ url: `${server.url}/tts` }));
    expect((err as Error).message).toContain('without a string "audio_url"');
  });

  it('audio_url answering 404 -> TtsError naming the audio URL', async () => {
    server.genericAnswers.push({ kind: 'audio_url', contentType: 'audio/wav', bytes: encodeWav(tone(440, 100, 8000), 8000), getStatus: 404 });
    const err = await failure(new HttpTtsProvider({ url: `${server.url}/tts` }));
    expect((err as Error).message).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/audio\/a\d+\.raw answered 404 Not Found/);
  });

  it('a body that is not a WAV despite audio/wav -> TtsError', async () => {
    server.genericAnswers.push({ kind: 'status', status: 200, contentType: 'audio/wav', body: '<html>oops</html>' });
    const err = await failure(new HttpTtsProvider({ url: `${server.url}/tts` }));
    expect((err as Error).message).toContain('returned an unreadable WAV: not a RIFF/WAVE file');
  });

  it('the server dropping the connection mid-body -> TtsError, not a silent short prompt', async () => {
    server.genericAnswers.push({ kind: 'audio', contentType: 'audio/pcm;rate=8000', bytes: pcm16le(tone(440, 1000, 8000)), chunks: 4, cutAfterChunks: 2 });
    const url = `${server.url}/tts`;
    const err = await failure(new HttpTtsProvider({ url }));
    expect(err).toBeInstanceOf(TtsError);
    expect((err as Error).message).toMatch(new RegExp(`^TTS provider "http": POST ${url.replace(/[./]/g, '\\$&')}: the audio body broke off after \\d+ bytes: `));
  });

  it('connection refused -> TtsError naming the URL', async () => {
    const gone = await startTtsHttpDouble();
    const url = `${gone.url}/tts`;
    await gone.close();
    const err = await failure(new HttpTtsProvider({ url }));
    expect((err as Error).message).toContain(`POST ${url} failed: ECONNREFUSED`);
  });

  it('aborting stops the request: the synthesis rejects with the abort reason and the server sees the connection close', async () => {
    server.genericAnswers.push({ kind: 'hang' });
    const closed = server.nextClose();
    const controller = new AbortController();
    const tts = new HttpTtsProvider({ url: `${server.url}/tts` });
    const pending = failure(tts, controller.signal);
    // Abort once the server holds the request.
    while (!server.requests.some((r) => r.method === 'POST' && server.genericAnswers.length === 0)) await new Promise((r) => setImmediate(r));
    controller.abort(new Error('caller barged in'));
    expect(((await pending) as Error).message).toBe('caller barged in');
    await closed;
  });

  it('invalid options are refused with the option named', () => {
    expect(() => new HttpTtsProvider({ url: 'ftp://x/tts' })).toThrow(/url must be an absolute http\(s\) URL, got "ftp:\/\/x\/tts"/);
    expect(() => new HttpTtsProvider({ url: 'http://x/tts', requestTimeoutMs: 0 })).toThrow(/requestTimeoutMs must be a positive number/);
  });
});
