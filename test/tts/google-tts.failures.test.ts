import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GoogleTtsProvider } from '../../src/speech/tts/google-tts.js';
import { TtsError, type TtsRequest } from '../../src/speech/tts/provider.js';
import { encodeWav, tone } from '../support/tts-http-server.js';
import { startGoogleTtsDouble, type GoogleTtsDouble } from '../support/google-tts-server.js';
import { collect } from '../support/tts-http-server.js';

let server: GoogleTtsDouble;
beforeAll(async () => {
  server = await startGoogleTtsDouble();
});
afterAll(() => server.close());

const req = { text: 'Hello', language: 'en-US', sampleRate: 8000 };
const ENDPOINT = /POST http:\/\/127\.0\.0\.1:\d+\/v1\/text:synthesize/;

function provider(extra: Partial<ConstructorParameters<typeof GoogleTtsProvider>[0]> = {}): GoogleTtsProvider {
  return new GoogleTtsProvider({ baseUrl: server.url, apiKey: 'AIza-test-key', ...extra });
}

async function failure(tts: GoogleTtsProvider, signal?: AbortSignal, request: TtsRequest = req): Promise<Error> {
  try {
    await collect(tts.synthesize(request, signal));
  } catch (err) {
    return err as Error;
  }
  throw new Error('synthesis did not fail');
}

describe('GoogleTtsProvider failures', () => {
  it("a wrong API key -> TtsError naming Google, 400 and Google's API_KEY_INVALID, without leaking the key", async () => {
    const err = await failure(provider({ apiKey: 'AIza-wrong-secret' }));
    expect(err).toBeInstanceOf(TtsError);
    expect(err.message).toMatch(/^TTS provider "google": POST http:\/\/127\.0\.0\.1:\d+\/v1\/text:synthesize answered 400 Bad Request: API key not valid\. Please pass a valid API key\. \(INVALID_ARGUMENT\/API_KEY_INVALID\)$/);
    expect(err.message).not.toContain('wrong-secret');
  });

  it('a rejected access token -> 401 UNAUTHENTICATED, and the token source is told to drop that token', async () => {
    const dropped: string[] = [];
    const err = await failure(provider({ apiKey: undefined, getAccessToken: async () => 'ya29.expired', invalidateAccessToken: (t) => dropped.push(t) }));
    expect(err.message).toMatch(/answered 401 Unauthorized: Request had invalid authentication credentials\..* \(UNAUTHENTICATED\/ACCESS_TOKEN_TYPE_UNSUPPORTED\)$/);
    expect(dropped).toEqual(['ya29.expired']);
  });

  it('a failing token source -> TtsError saying no token could be had, and no request is sent', async () => {
    const before = server.requests.length;
    const err = await failure(provider({ apiKey: undefined, getAccessToken: async () => { throw new Error('invalid_grant: account disabled'); } }));
    expect(err).toBeInstanceOf(TtsError);
    expect(err.message).toMatch(/could not get an OAuth access token for POST .*: invalid_grant: account disabled$/);
    expect(server.requests.length).toBe(before);
  });

  it.each([
    [429, 'RESOURCE_EXHAUSTED', 'Quota exceeded for quota metric', '429 Too Many Requests'],
    [500, 'INTERNAL', 'Internal error encountered.', '500 Internal Server Error'],
    [503, 'UNAVAILABLE', 'The service is currently unavailable.', '503 Service Unavailable'],
  ])('a %i answer -> TtsError with the status and message', async (code, status, message, statusLine) => {
    server.scripts.push({ error: { code, status, message } });
    const err = await failure(provider());
    expect(err.message).toMatch(ENDPOINT);
    expect(err.message).toContain(`answered ${statusLine}: ${message} (${status})`);
  });

  it("a voice name Google does not know (a Polly name) -> Google's 400 is surfaced", async () => {
    const err = await failure(provider(), undefined, { ...req, voice: 'Joanna' });
    expect(err.message).toContain("answered 400 Bad Request: Voice 'Joanna' does not exist. (INVALID_ARGUMENT)");
  });

  it('no answer within requestTimeoutMs -> TtsError naming the deadline, and the connection is closed', async () => {
    server.scripts.push({ silent: true });
    const closed = server.nextClose();
    const err = await failure(provider({ requestTimeoutMs: 150 }));
    expect(err).toBeInstanceOf(TtsError);
    expect(err.message).toMatch(/POST .*\/v1\/text:synthesize gave no complete answer within 150 ms$/);
    await closed;
  });

  it.each([
    ['a non-JSON body', { raw: { contentType: 'application/json', body: '{"audioContent": "UklGR' } }, /answered invalid JSON: \{"audioContent": "UklGR$/],
    ['JSON without audioContent', { raw: { contentType: 'application/json', body: '{"name":"operations/123"}' } }, /answered JSON without a string "audioContent": \{"name":"operations\/123"\}$/],
    ['bad base64', { raw: { contentType: 'application/json', body: '{"audioContent":"UklGR!!not*base64"}' } }, /answered an "audioContent" that is not valid base64$/],
    ['base64 of something other than WAV', { raw: { contentType: 'application/json', body: JSON.stringify({ audioContent: Buffer.from('ID3\u0003mp3 data here').toString('base64') }) } }, /answered audioContent that is not LINEAR16 WAV: not a RIFF\/WAVE file$/],
    ['an HTML page from a proxy', { raw: { contentType: 'text/html', body: '<html><body>Sign in to Wi-Fi</body></html>' } }, /answered Content-Type "text\/html" instead of JSON: <html><body>Sign in to Wi-Fi<\/body><\/html>$/],
  ])('%s -> clear TtsError, no crash', async (_what, script, message) => {
    server.scripts.push(script);
    const err = await failure(provider());
    expect(err).toBeInstanceOf(TtsError);
    expect(err.message).toMatch(message);
  });

  it('a WAV whose fmt chunk is cut off -> TtsError naming the WAV problem', async () => {
    const wav = encodeWav(tone(440, 100, 8000), 8000).subarray(0, 30);
    server.scripts.push({ raw: { contentType: 'application/json', body: JSON.stringify({ audioContent: wav.toString('base64') }) } });
    const err = await failure(provider());
    expect(err.message).toMatch(/not LINEAR16 WAV: WAV fmt chunk is truncated/);
  });

  it('the connection dropped mid-answer -> TtsError naming the bytes received', async () => {
    server.scripts.push({ ms: 500, cutAfterBytes: 1000 });
    const err = await failure(provider());
    expect(err).toBeInstanceOf(TtsError);
    expect(err.message).toMatch(/^TTS provider "google": POST .*\/v1\/text:synthesize: the answer broke off after 1000 bytes/);
  });

  it('aborting while the request is in flight rejects with the abort reason and closes the connection', async () => {
    server.scripts.push({ silent: true });
    const controller = new AbortController();
    const closed = server.nextClose();
    const before = server.requests.length;
    const it = provider().synthesize(req, controller.signal)[Symbol.asyncIterator]();
    const next = it.next();
    await new Promise<void>((resolve) => {
      const poll = () => (server.requests.length > before ? resolve() : setImmediate(poll));
      poll();
    });
    controller.abort(new Error('barge-in'));
    await expect(next).rejects.toThrow('barge-in');
    await closed;
  });

  it('aborting while the access token is still being fetched rejects at once with the abort reason', async () => {
    const controller = new AbortController();
    const before = server.requests.length;
    const tts = provider({ apiKey: undefined, getAccessToken: () => new Promise<string>(() => {}) });
    const next = tts.synthesize(req, controller.signal)[Symbol.asyncIterator]().next();
    controller.abort(new Error('hung up'));
    await expect(next).rejects.toThrow('hung up');
    expect(server.requests.length).toBe(before);
  });

  it('aborting between chunks stops the audio there', async () => {
    server.scripts.push({ ms: 1000 });
    const controller = new AbortController();
    const it = provider({ chunkMs: 100 }).synthesize(req, controller.signal)[Symbol.asyncIterator]();
    expect((await it.next()).value.length).toBe(800);
    controller.abort(new Error('caller spoke'));
    await expect(it.next()).rejects.toThrow('caller spoke');
  });

  it('invalid options are refused with the option named', () => {
    expect(() => new GoogleTtsProvider({ baseUrl: 'ftp://x' , apiKey: 'k' })).toThrow(/baseUrl must be an absolute http\(s\) URL/);
    expect(() => new GoogleTtsProvider({})).toThrow(/exactly one of apiKey .* or getAccessToken/);
    expect(() => new GoogleTtsProvider({ apiKey: 'k', getAccessToken: async () => 't' })).toThrow(/exactly one of apiKey/);
    expect(() => new GoogleTtsProvider({ apiKey: 'k', voice: 'Wavenet' })).toThrow(/voice must be a Google voice name/);
    expect(() => new GoogleTtsProvider({ apiKey: 'k', speakingRate: 5 })).toThrow(/speakingRate must be between 0.25 and 4, got 5/);
    expect(() => new GoogleTtsProvider({ apiKey: 'k', pitch: -21 })).toThrow(/pitch must be between -20 and 20, got -21/);
  });
});
