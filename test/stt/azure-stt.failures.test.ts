// Loads the config module before secrets.ts, whose import of ConfigError from load.ts is circular.
import '../../src/config/load.js';
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AzureSttProvider, type AzureSttOptions } from '../../src/speech/stt/azure-stt.js';
import type { SttSession } from '../../src/speech/stt/provider.js';
import { silentLogger } from '../../src/logger.js';
import { AzureSttServer } from '../support/azure-stt-server.js';
import { nextFailure, resultsUntilFinal, toneFrames } from '../support/deepgram-session.js';

function sayOneUtterance(session: SttSession): void {
  for (const f of toneFrames(5)) session.write(f);
  session.endOfUtterance();
}

describe('Azure STT: failures', () => {
  let server: AzureSttServer;
  beforeEach(async () => {
    server = await AzureSttServer.start('right-key');
  });
  afterEach(() => server.close());

  const session = (options: Partial<AzureSttOptions> = {}) =>
    new AzureSttProvider({ key: 'right-key', baseUrl: server.url, logger: silentLogger(), ...options }).startSession({
      language: 'en-US',
      sampleRate: 8000,
    });

  it('reports a wrong key as HTTP 401 with Azure\'s message, once, and stops sending audio', async () => {
    const s = session({ key: 'wrong-key' });
    const failure = nextFailure(s);
    sayOneUtterance(s);
    expect((await failure).message).toBe(
      'Azure STT: Azure rejected the recognition with HTTP 401 (wrong key or token, or a key of another region): 401: Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
    );
    sayOneUtterance(s);
    expect(server.requests).toHaveLength(1);
    s.close();
  });

  it('reports a key the token service refuses (useTokenAuth) without posting audio', async () => {
    const s = session({ key: 'wrong-key', useTokenAuth: true });
    const failure = nextFailure(s);
    sayOneUtterance(s);
    expect((await failure).message).toMatch(/^Azure STT: token request rejected with HTTP 401 \(wrong key, or a key of another region\): 401: Access denied/);
    expect(server.requests).toEqual([]);
    s.close();
  });

  it('reports Azure\'s RecognitionStatus Error and keeps the session for the next utterance', async () => {
    server.nextResponse({ recognitionStatus: 'Error' });
    server.nextRecognition('Again.');
    const s = session();
    const failure = nextFailure(s);
    sayOneUtterance(s);
    expect((await failure).message).toMatch(/^Azure STT: Azure reported RecognitionStatus "Error" \(an internal service error\)/);
    const results = resultsUntilFinal(s);
    sayOneUtterance(s);
    expect((await results)[0]!.text).toBe('Again.');
    s.close();
  });

  it('fails the utterance when Azure does not answer within requestTimeoutMs after it ended', async () => {
    server.nextResponse({ hang: true });
    const s = session({ requestTimeoutMs: 100 });
    const failure = nextFailure(s);
    sayOneUtterance(s);
    expect((await failure).message).toBe('Azure STT: no answer from Azure within 100 ms of the end of the utterance (requestTimeoutMs)');
    await server.requests[0]!.abandoned;
    s.close();
  });

  it('reports malformed JSON, an unknown status and a Success without a transcript, without crashing', async () => {
    server.nextResponse({ status: 200, body: '{"RecognitionStatus":"Succ' });
    server.nextResponse({ status: 200, body: '{"RecognitionStatus":"EndOfDictation"}' });
    server.nextResponse({ status: 200, body: '{"RecognitionStatus":"Success","NBest":[{"Confidence":0.9}]}' });
    const s = session();
    const failures: Error[] = [];
    const three = new Promise<void>((resolve) => s.on('failure', (e) => failures.push(e) === 3 && resolve()));
    for (let i = 0; i < 3; i++) sayOneUtterance(s);
    await three;
    expect(failures.map((e) => e.message)).toEqual([
      'Azure STT: malformed JSON from Azure: "{\\"RecognitionStatus\\":\\"Succ"',
      'Azure STT: answer without a known RecognitionStatus: "{\\"RecognitionStatus\\":\\"EndOfDictation\\"}"',
      'Azure STT: Success answer without a transcript (NBest[0].Display): "{\\"RecognitionStatus\\":\\"Success\\",\\"NBest\\":[{\\"Confidence\\":0.9}]}"',
    ]);
    s.close();
  });

  it('reports an unsupported language (HTTP 400) with Azure\'s message', async () => {
    const s = new AzureSttProvider({ key: 'right-key', baseUrl: server.url, logger: silentLogger() }).startSession({ language: 'en-US', sampleRate: 8000 });
    server.nextResponse({ status: 400, body: JSON.stringify({ error: { code: 'BadArgument', message: 'Unsupported language: xx-XX' } }) });
    const failure = nextFailure(s);
    sayOneUtterance(s);
    expect((await failure).message).toBe('Azure STT: Azure rejected the recognition with HTTP 400 (unsupported language or audio): BadArgument: Unsupported language: xx-XX');
    s.close();
  });

  it('reports Azure dropping the connection mid-request', async () => {
    server.nextResponse({ drop: true });
    const s = session();
    const failure = nextFailure(s);
    sayOneUtterance(s);
    expect((await failure).message).toMatch(/^Azure STT: connection to Azure lost during recognition \(ECONNRESET\): socket hang up/);
    s.close();
  });

  it('reports an unreachable Azure as a connection error', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const s = session({ baseUrl: `http://127.0.0.1:${port}` });
    const failure = nextFailure(s);
    sayOneUtterance(s);
    expect((await failure).message).toMatch(/^Azure STT: could not connect to Azure \(ECONNREFUSED\)/);
    s.close();
  });

  it('close() while audio is streaming or an answer is pending emits nothing afterwards and ends both requests', async () => {
    server.nextResponse({ hang: true });
    const s = session();
    const events: string[] = [];
    s.on('result', () => events.push('result'));
    s.on('failure', (e) => events.push(e.message));
    sayOneUtterance(s);
    // The second utterance is still being spoken (its request body is open) when the call ends.
    for (const f of toneFrames(5)) s.write(f);
    const streaming = await server.request(1);
    // 8 kHz frames become 640 bytes at 16 kHz; the resampler holds back a few ms of look-ahead.
    await streaming.waitForBytes(44 + 4 * 640);
    s.close();
    await Promise.all([server.requests[0]!.abandoned, streaming.abandoned]);
    s.write(toneFrames(1)[0]!);
    s.endOfUtterance();
    expect(events).toEqual([]);
    expect(server.requests).toHaveLength(2);
  });

  it('reports invalid session options instead of connecting', async () => {
    const s = new AzureSttProvider({ key: 'right-key', baseUrl: server.url, logger: silentLogger() }).startSession({ language: '', sampleRate: 8000 });
    expect((await nextFailure(s)).message).toBe('Azure STT: language must be a non-empty locale (e.g. "en-US")');
    sayOneUtterance(s);
    expect(server.requests).toEqual([]);
  });
});
