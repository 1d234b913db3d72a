import aws4 from 'aws4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PollyTtsProvider, type PollyTtsOptions } from '../../src/speech/tts/polly-tts.js';
import { TtsError, type TtsRequest } from '../../src/speech/tts/provider.js';
import { POLLY_TEST_CREDENTIALS, startPollyDouble, type PollyDouble, type PollyScript } from '../support/polly-server.js';
import { collect, deferred } from '../support/tts-http-server.js';

let server: PollyDouble;
beforeAll(async () => {
  server = await startPollyDouble();
});
afterAll(() => server.close());

const req: TtsRequest = { text: 'Hello', language: 'en-US', sampleRate: 8000 };

function provider(extra: Partial<PollyTtsOptions> = {}): PollyTtsProvider {
  return new PollyTtsProvider({ region: 'us-east-1', ...POLLY_TEST_CREDENTIALS, endpoint: server.url, ...extra });
}

async function failure(tts: PollyTtsProvider, request = req, signal?: AbortSignal): Promise<Error> {
  try {
    await collect(tts.synthesize(request, signal));
  } catch (err) {
    return err as Error;
  }
  throw new Error('synthesis did not fail');
}

/** Signs a request for the double with aws4 (optionally at another time), then lets the test alter it before sending. */
async function sendSigned(body: string, opts: { sentBody?: string; amzDate?: string } = {}): Promise<{ status: number; type: string | null; message: string }> {
  const url = new URL(`${server.url}/v1/speech`);
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (opts.amzDate) headers['X-Amz-Date'] = opts.amzDate;
  const signed = aws4.sign({ host: url.host, method: 'POST', path: url.pathname, service: 'polly', region: 'us-east-1', headers, body }, POLLY_TEST_CREDENTIALS);
  const sendHeaders = Object.fromEntries(
    Object.entries(signed.headers ?? {})
      .filter(([k]) => !/^(host|content-length)$/i.test(k))
      .map(([k, v]) => [k, String(v)]),
  );
  const res = await fetch(url, { method: 'POST', headers: sendHeaders, body: opts.sentBody ?? body });
  return { status: res.status, type: res.headers.get('x-amzn-errortype'), message: ((await res.json()) as { message: string }).message };
}

describe('PollyTtsProvider failures', () => {
  it('a wrong secret key -> 403 TtsError naming Polly and InvalidSignatureException', async () => {
    const err = await failure(provider({ secretAccessKey: 'not-the-right-secret' }));
    expect(err).toBeInstanceOf(TtsError);
    expect(err.message).toMatch(
      /^TTS provider "polly": POST http:\/\/127\.0\.0\.1:\d+\/v1\/speech answered 403 Forbidden: InvalidSignatureException: The request signature we calculated does not match the signature you provided\./,
    );
    expect(err.message).not.toContain('not-the-right-secret');
  });

  it('an unknown access key -> 403 UnrecognizedClientException', async () => {
    const err = await failure(provider({ accessKeyId: 'AKIDUNKNOWN0000' }));
    expect(err.message).toMatch(/answered 403 Forbidden: UnrecognizedClientException: The security token included in the request is invalid\.$/);
  });

  it('credentials for another region than the endpoint expects -> 403 naming the scope problem', async () => {
    const err = await failure(provider({ region: 'eu-west-1' }));
    expect(err.message).toMatch(/answered 403 Forbidden: InvalidSignatureException: Credential should be scoped to a valid region\.$/);
  });

  it('the double really verifies SigV4: a body changed after signing and a stale X-Amz-Date are refused', async () => {
    const body = JSON.stringify({ OutputFormat: 'pcm', SampleRate: '8000', Text: 'Hi', VoiceId: 'Joanna' });
    server.scripts.push({ ms: 50 });
    const ok = await fetch(`${server.url}/v1/speech`, { method: 'POST', body }).then((r) => r.status);
    expect(ok).toBe(403); // unsigned
    const tampered = await sendSigned(body, { sentBody: body.replace('Hi', 'Ho') });
    expect(tampered).toMatchObject({ status: 403, type: expect.stringMatching(/^InvalidSignatureException:/) });
    const stale = await sendSigned(body, { amzDate: '20200101T000000Z' });
    expect(stale.status).toBe(403);
    expect(stale.message).toMatch(/^Signature expired: 20200101T000000Z/);
    server.scripts.length = 0;
  });

  it.each<[string, PollyScript, string]>([
    ['invalid SSML', { error: { status: 400, type: 'InvalidSsmlException', message: 'Unsupported Ssml: <foo> tag' } }, '400 Bad Request: InvalidSsmlException: Unsupported Ssml: <foo> tag'],
    ['throttling', { error: { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' } }, '400 Bad Request: ThrottlingException: Rate exceeded'],
    ['too many requests', { error: { status: 429, type: 'ThrottlingException', message: 'Rate exceeded' } }, '429 Too Many Requests: ThrottlingException: Rate exceeded'],
    ['a service failure', { error: { status: 500, type: 'ServiceFailureException', message: 'Service failure' } }, '500 Internal Server Error: ServiceFailureException: Service failure'],
  ])('%s -> TtsError with the status, error type and message', async (_what, script, expected) => {
    server.scripts.push(script);
    const err = await failure(provider());
    expect(err).toBeInstanceOf(TtsError);
    expect(err.message).toMatch(/^TTS provider "polly": POST .*\/v1\/speech answered /);
    expect(err.message.endsWith(expected)).toBe(true);
  });

  it('SSML Polly cannot parse and over-long text are refused by Polly with their error types', async () => {
    let err = await failure(provider(), { ...req, text: '<speak>unclosed', ssml: true });
    expect(err.message).toContain('answered 400 Bad Request: InvalidSsmlException: Unsupported Ssml: Root element must be <speak>');
    err = await failure(provider(), { ...req, text: 'word '.repeat(1300) });
    expect(err.message).toContain('answered 400 Bad Request: TextLengthExceededException: Maximum text length has been exceeded');
  });

  it('no answer within requestTimeoutMs -> TtsError naming the deadline', async () => {
    server.scripts.push({ silent: true });
    const closed = server.nextClose();
    const err = await failure(provider({ requestTimeoutMs: 150 }));
    expect(err.message).toMatch(/^TTS provider "polly": POST .*\/v1\/speech sent no audio within 150 ms$/);
    await closed;
  });

  it('headers but no first audio byte within requestTimeoutMs -> the same deadline error', async () => {
    server.scripts.push({ headersOnly: true });
    const err = await failure(provider({ requestTimeoutMs: 150 }));
    expect(err.message).toMatch(/sent no audio within 150 ms$/);
  });

  it.each<[string, PollyScript, RegExp]>([
    ['JSON on a 200', { raw: { contentType: 'application/json', body: '{"message":"hello from a proxy"}' } }, /answered Content-Type "application\/json" instead of audio\/pcm: \{"message":"hello from a proxy"\}$/],
    ['mp3 on a 200', { raw: { contentType: 'audio/mpeg', body: 'ID3\u0003' } }, /answered Content-Type "audio\/mpeg" instead of audio\/pcm/],
    ['an error without JSON', { raw: { contentType: 'text/html', body: '<html>502 Bad Gateway</html>' } }, /answered Content-Type "text\/html" instead of audio\/pcm: <html>502 Bad Gateway<\/html>$/],
  ])('%s -> clear TtsError, no crash', async (_what, script, message) => {
    server.scripts.push(script);
    const err = await failure(provider());
    expect(err).toBeInstanceOf(TtsError);
    expect(err.message).toMatch(message);
  });

  it('the connection dropped mid-stream -> the audio so far, then a TtsError naming the bytes received', async () => {
    server.scripts.push({ ms: 500, chunks: 5, cutAfterChunks: 2 }); // 8000 bytes in pieces of 1601
    const got: Int16Array[] = [];
    let error: Error | undefined;
    try {
      for await (const c of provider().synthesize(req)) got.push(c);
    } catch (err) {
      error = err as Error;
    }
    expect(got.reduce((n, c) => n + c.length, 0)).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(TtsError);
    expect(error!.message).toMatch(/^TTS provider "polly": POST .*\/v1\/speech: the audio body broke off after 3202 bytes/);
  });

  it('aborting mid-stream rejects with the abort reason and closes the connection', async () => {
    const gate = deferred();
    server.scripts.push({ ms: 2000, chunks: 4, gates: [gate.promise] });
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

  it('a language without a default voice -> TtsError asking for voiceId, and no request', async () => {
    const before = server.requests.length;
    const err = await failure(provider(), { ...req, language: 'xx-YY' });
    expect(err.message).toBe('TTS provider "polly": no default neural voice for language "xx-YY": set voiceId or name a voice in the request');
    expect(server.requests.length).toBe(before);
  });

  it('invalid options are refused with the option named', () => {
    expect(() => provider({ region: 'Virginia' })).toThrow(/region must be an AWS region such as "us-east-1", got "Virginia"/);
    expect(() => provider({ accessKeyId: '' })).toThrow(/accessKeyId is required/);
    expect(() => provider({ secretAccessKey: ' ' })).toThrow(/secretAccessKey is required/);
    expect(() => provider({ engine: 'turbo' as never })).toThrow(/engine must be one of standard, neural, generative, long-form/);
    expect(() => provider({ endpoint: 'polly.local' })).toThrow(/endpoint must be an absolute http\(s\) URL/);
    expect(() => provider({ requestTimeoutMs: 0 })).toThrow(/requestTimeoutMs must be a positive number/);
  });
});
