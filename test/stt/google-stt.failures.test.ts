// Loads the config module before secrets.ts, whose import of ConfigError from load.ts is circular.
import '../../src/config/load.js';
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GoogleSttProvider, type GoogleSttOptions } from '../../src/speech/stt/google-stt.js';
import type { SttSession } from '../../src/speech/stt/provider.js';
import { silentLogger } from '../../src/logger.js';
import { GoogleSttServer, googleErrorBody } from '../support/google-stt-server.js';
import { nextFailure, resultsUntilFinal, toneFrames } from '../support/deepgram-session.js';

function sayOneUtterance(session: SttSession): void {
  for (const f of toneFrames(5)) session.write(f);
  session.endOfUtterance();
}

describe('Google STT: failures', () => {
  let server: GoogleSttServer;
  beforeEach(async () => {
    server = await GoogleSttServer.start({ apiKey: 'right-key', accessToken: 'ya29.right' });
  });
  afterEach(() => server.close());

  const session = (options: Partial<GoogleSttOptions> = {}) =>
    new GoogleSttProvider({ apiKey: 'right-key', baseUrl: server.url, logger: silentLogger(), ...options }).startSession({
      language: 'en-US',
      sampleRate: 8000,
    });

  it('reports a wrong API key (Google\'s 400 API_KEY_INVALID) once and stops uploading', async () => {
    const s = session({ apiKey: 'wrong-key' });
    const failure = nextFailure(s);
    sayOneUtterance(s);
    const error = await failure;
    expect(error.message).toBe('Google STT: Google rejected the request with HTTP 400 (invalid API key): INVALID_ARGUMENT: API key not valid. Please pass a valid API key.');
    sayOneUtterance(s);
    expect(server.requests).toHaveLength(1);
    s.close();
  });

  it('reports an expired access token as HTTP 401 UNAUTHENTICATED', async () => {
    const s = session({ apiKey: undefined, getAccessToken: () => Promise.resolve('ya29.expired') });
    const failure = nextFailure(s);
    sayOneUtterance(s);
    expect((await failure).message).toMatch(/^Google STT: Google rejected the request with HTTP 401 \(invalid or expired access token\): UNAUTHENTICATED: Request had invalid authentication credentials/);
    s.close();
  });

  it('tells the token source about a token Google refused and recovers with a new one on the next utterance', async () => {
    const tokens = ['ya29.revoked', 'ya29.right'];
    const rejected: string[] = [];
    const s = session({ apiKey: undefined, getAccessToken: () => Promise.resolve(tokens[0]!), onTokenRejected: (t) => rejected.push(t) && tokens.shift() });
    const failure = nextFailure(s);
    sayOneUtterance(s);
    expect((await failure).message).toMatch(/HTTP 401 .*\(the token is renewed for the next utterance\)$/);
    expect(rejected).toEqual(['ya29.revoked']);
    server.nextTranscript('Back again.');
    const results = resultsUntilFinal(s);
    sayOneUtterance(s);
    expect((await results)[0]!.text).toBe('Back again.');
    s.close();
  });

  it('reports a token source that fails, and recovers on the next utterance', async () => {
    let calls = 0;
    const s = session({
      apiKey: undefined,
      getAccessToken: () => (++calls === 1 ? Promise.reject(new Error('metadata server unreachable')) : Promise.resolve('ya29.right')),
    });
    const failure = nextFailure(s);
    sayOneUtterance(s);
    expect((await failure).message).toBe('Google STT: could not get an access token: metadata server unreachable');
    server.nextTranscript('Still here.');
    const results = resultsUntilFinal(s);
    sayOneUtterance(s);
    expect((await results).map((r) => r.text)).toEqual(['Still here.']);
    s.close();
  });

  it('reports quota exhaustion (429) and keeps the session for the next utterance', async () => {
    server.nextResponse({ status: 429, body: googleErrorBody(429, 'Quota exceeded for quota metric \'Requests\'.') });
    server.nextTranscript('Second try.');
    const s = session();
    const failure = nextFailure(s);
    sayOneUtterance(s);
    expect((await failure).message).toBe("Google STT: Google rejected the request with HTTP 429 (quota exceeded): RESOURCE_EXHAUSTED: Quota exceeded for quota metric 'Requests'.");
    const results = resultsUntilFinal(s);
    sayOneUtterance(s);
    expect((await results)[0]!.text).toBe('Second try.');
    s.close();
  });

  it('reports a non-JSON error page (a proxy in the way) with its body', async () => {
    server.nextResponse({ status: 502, body: '<html>Bad Gateway</html>', contentType: 'text/html' });
    const s = session();
    const failure = nextFailure(s);
    sayOneUtterance(s);
    expect((await failure).message).toBe('Google STT: Google rejected the request with HTTP 502: body: "<html>Bad Gateway</html>"');
    s.close();
  });

  it('fails the utterance when Google does not answer within requestTimeoutMs', async () => {
    server.nextResponse({ hang: true });
    const s = session({ requestTimeoutMs: 100 });
    const failure = nextFailure(s);
    sayOneUtterance(s);
    expect((await failure).message).toBe('Google STT: no answer from Google within 100 ms (requestTimeoutMs)');
    s.close();
  });

  it('reports malformed JSON and a wrongly shaped answer without crashing', async () => {
    server.nextResponse({ status: 200, body: '{"results":[{"alternatives":' });
    server.nextResponse({ status: 200, body: JSON.stringify({ results: [{ alternatives: [{ transcript: 42 }] }] }) });
    const s = session();
    const failures: Error[] = [];
    const two = new Promise<void>((resolve) => s.on('failure', (e) => failures.push(e) === 2 && resolve()));
    sayOneUtterance(s);
    sayOneUtterance(s);
    await two;
    expect(failures.map((e) => e.message)).toEqual([
      'Google STT: malformed JSON from Google: "{\\"results\\":[{\\"alternatives\\":"',
      'Google STT: alternative without a transcript string: "{\\"results\\":[{\\"alternatives\\":[{\\"transcript\\":42}]}]}"',
    ]);
    s.close();
  });

  it('reports Google dropping the connection mid-request', async () => {
    server.nextResponse({ drop: true });
    const s = session();
    const failure = nextFailure(s);
    sayOneUtterance(s);
    expect((await failure).message).toMatch(/^Google STT: request to Google failed \((UND_ERR_SOCKET|ECONNRESET)\): fetch failed/);
    s.close();
  });

  it('reports an unreachable Google as a connection error', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const s = session({ baseUrl: `http://127.0.0.1:${port}` });
    const failure = nextFailure(s);
    sayOneUtterance(s);
    expect((await failure).message).toMatch(/^Google STT: request to Google failed \(ECONNREFUSED\)/);
    s.close();
  });

  it('close() during a request emits nothing afterwards and aborts the upload', async () => {
    server.nextResponse({ hang: true });
    const s = session();
    const events: string[] = [];
    s.on('result', () => events.push('result'));
    s.on('failure', (e) => events.push(e.message));
    sayOneUtterance(s);
    const request = await server.request(0);
    expect(request.status).toBe(0);
    s.close();
    // The aborted fetch closes its connection before Google answered.
    await request.abandoned;
    s.write(toneFrames(1)[0]!);
    s.endOfUtterance();
    expect(events).toEqual([]);
    expect(server.requests).toHaveLength(1);
  });

  it('reports invalid session options instead of uploading', async () => {
    const s = new GoogleSttProvider({ apiKey: 'right-key', baseUrl: server.url, logger: silentLogger() }).startSession({ language: 'en-US', sampleRate: 4000 });
    expect((await nextFailure(s)).message).toBe('Google STT: sampleRate must be an integer from 8000 to 48000 Hz, got 4000');
    sayOneUtterance(s);
    expect(server.requests).toEqual([]);
  });
});
