import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OpenAiTranscriptionProvider, type OpenAiTranscriptionOptions } from '../../src/speech/stt/openai-transcription.js';
import type { SttResult, SttSession } from '../../src/speech/stt/provider.js';
import { silentLogger } from '../../src/logger.js';
import { OpenAiTranscriptionServer, openAiError } from '../support/openai-transcription-server.js';
import { nextFailure, toneFrames } from '../support/deepgram-session.js';
import { FakeClock } from '../support/fake-clock.js';

function nextFinal(session: SttSession): Promise<SttResult> {
  return new Promise((resolve) => session.on('result', (r) => r.final && resolve(r)));
}

function speak(session: SttSession, frames = 10): void {
  for (const f of toneFrames(frames)) session.write(f);
  session.endOfUtterance();
}

describe('OpenAI STT: failures', () => {
  let server: OpenAiTranscriptionServer;
  beforeEach(async () => {
    server = await OpenAiTranscriptionServer.start('sk-right-key');
  });
  afterEach(() => server.close());

  const session = (extra: Partial<OpenAiTranscriptionOptions> = {}) =>
    new OpenAiTranscriptionProvider({ baseUrl: server.url, apiKey: 'sk-right-key', model: 'whisper-1', logger: silentLogger(), ...extra }).startSession({
      language: 'en-US',
      sampleRate: 8000,
    });

  it('reports a rejected API key as HTTP 401 with OpenAI\'s error message, and stops uploading', async () => {
    const s = session({ apiKey: 'sk-wrong-key' });
    const failure = nextFailure(s);
    speak(s);
    const error = await failure;
    expect(error.message).toMatch(/^OpenAI STT: POST http:\/\/127\.0\.0\.1:\d+\/v1\/audio\/transcriptions answered HTTP 401 \(invalid or missing API key\)/);
    expect(error.message).toMatch(/Incorrect API key provided: sk-\*\*\*ey\. .* \(invalid_request_error\/invalid_api_key\)/);
    expect(server.rejected.map((r) => r.status)).toEqual([401]);
    // A bad key will not get better: later utterances are not sent.
    speak(s);
    s.endOfUtterance();
    expect(server.rejected).toHaveLength(1);
    s.close();
  });

  it('reports a 429 naming the rate limit, and the next utterance is transcribed again', async () => {
    server.fail(429, openAiError('Rate limit reached for whisper-1 in organization org-x on requests per min (RPM): Limit 50.', 'requests', 'rate_limit_exceeded'));
    server.reply('second try');
    const s = session();
    const failure = nextFailure(s);
    speak(s);
    expect((await failure).message).toMatch(/answered HTTP 429 \(rate limit or quota exceeded\): Rate limit reached for whisper-1 .* \(requests\/rate_limit_exceeded\)/);
    const final = nextFinal(s);
    speak(s);
    expect(await final).toEqual({ text: 'second try', final: true });
    s.close();
  });

  it('reports a 5xx with a non-JSON body as a server error quoting the body', async () => {
    server.fail(503, '<html>upstream connect error</html>', 'text/html');
    const s = session();
    const failure = nextFailure(s);
    speak(s);
    expect((await failure).message).toMatch(/answered HTTP 503 \(server error\): "<html>upstream connect error<\/html>"/);
    s.close();
  });

  it('reports a self-hosted server\'s { detail } error body', async () => {
    server.fail(400, JSON.stringify({ detail: 'Model Systran/faster-whisper-huge is not installed' }));
    const s = session();
    const failure = nextFailure(s);
    speak(s);
    expect((await failure).message).toMatch(/answered HTTP 400: Model Systran\/faster-whisper-huge is not installed$/);
    s.close();
  });

  it('reports a 200 whose body is not JSON', async () => {
    server.raw(200, 'Hello there', 'text/plain');
    const s = session();
    const failure = nextFailure(s);
    speak(s);
    expect((await failure).message).toMatch(/answered 200 with a body that is not JSON: "Hello there"$/);
    s.close();
  });

  it('reports JSON without a text field', async () => {
    server.raw(200, JSON.stringify({ transcript: 'hi' }), 'application/json');
    const s = session();
    const failure = nextFailure(s);
    speak(s);
    expect((await failure).message).toMatch(/answered JSON without a "text" string: "\{\\"transcript\\":\\"hi\\"\}"$/);
    s.close();
  });

  it('reports a server that never answers once requestTimeoutMs passed', async () => {
    const clock = new FakeClock();
    server.hang();
    const s = session({ clock, requestTimeoutMs: 8000 });
    const failure = nextFailure(s);
    speak(s);
    await server.request(0);
    clock.advance(7999);
    clock.advance(1);
    expect((await failure).message).toMatch(/^OpenAI STT: POST http:\/\/127\.0\.0\.1:\d+\/v1\/audio\/transcriptions gave no complete answer within 8000 ms$/);
    expect(clock.pendingTimers()).toBe(0);
    s.close();
  });

  it('reports a connection cut in the middle of the answer', async () => {
    server.cut();
    server.reply('still here');
    const s = session();
    const failure = nextFailure(s);
    speak(s);
    expect((await failure).message).toMatch(/audio\/transcriptions failed.*: /);
    const final = nextFinal(s);
    speak(s);
    expect((await final).text).toBe('still here');
    s.close();
  });

  it('reports an unreachable server as a connection error', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const s = session({ baseUrl: `http://127.0.0.1:${port}/v1` });
    const failure = nextFailure(s);
    speak(s);
    expect((await failure).message).toMatch(/failed \(ECONNREFUSED\)/);
    s.close();
  });

  it('reports a wrong baseUrl (404) and stops uploading', async () => {
    const s = session({ baseUrl: server.url.replace(/\/v1$/, '/api') });
    const failure = nextFailure(s);
    speak(s);
    expect((await failure).message).toMatch(/\/api\/audio\/transcriptions answered HTTP 404 \(wrong baseUrl or unknown model\): Invalid URL/);
    s.close();
  });
});
