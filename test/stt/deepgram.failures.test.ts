import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeepgramSttProvider } from '../../src/speech/stt/deepgram.js';
import { silentLogger } from '../../src/logger.js';
import { DeepgramServer } from '../support/deepgram-server.js';
import { nextFailure, toneFrames } from '../support/deepgram-session.js';

describe('Deepgram STT: failures', () => {
  let server: DeepgramServer;
  beforeEach(async () => {
    server = await DeepgramServer.start('right-key');
  });
  afterEach(() => server.close());

  const session = (apiKey = 'right-key', baseUrl = server.url) =>
    new DeepgramSttProvider({ apiKey, baseUrl, logger: silentLogger() }).startSession({ language: 'en-US', sampleRate: 8000 });

  it('reports a rejected API key as HTTP 401 with Deepgram\'s dg-error header and body', async () => {
    const s = session('wrong-key');
    const failure = await nextFailure(s);
    expect(failure.message).toMatch(/HTTP 401/);
    expect(failure.message).toMatch(/invalid or missing API key/);
    expect(failure.message).toMatch(/dg-error: Invalid credentials\./);
    expect(failure.message).toMatch(/INVALID_AUTH/);
    expect(server.upgradeRequests.map((r) => r.status)).toEqual([401]);
    // Writing into a failed session is harmless.
    expect(() => s.write(toneFrames(1)[0]!)).not.toThrow();
    s.endOfUtterance();
    s.close();
  });

  it('reports malformed JSON from Deepgram and stops the session', async () => {
    const s = session();
    const connection = await server.connection();
    const failure = nextFailure(s);
    connection.sendRaw('{"type":"Results","channel":');
    expect((await failure).message).toMatch(/malformed JSON from Deepgram: "\{\\"type\\":\\"Results\\",\\"channel\\":"/);
    await connection.closed;
    expect(() => s.write(toneFrames(1)[0]!)).not.toThrow();
  });

  it('reports a Results message of the wrong shape, naming what is missing', async () => {
    const s = session();
    const connection = await server.connection();
    const failure = nextFailure(s);
    connection.sendRaw(JSON.stringify({ type: 'Results', is_final: true, channel: {} }));
    expect((await failure).message).toMatch(/Results message without channel\.alternatives/);
  });

  it('reports the close code and reason when Deepgram drops the stream mid-call', async () => {
    const s = session();
    const connection = await server.connection();
    for (const f of toneFrames(5)) s.write(f);
    await connection.waitForAudioBytes(5 * 320);
    const failure = nextFailure(s);
    connection.drop(1011, 'NET-0001');
    expect((await failure).message).toBe('Deepgram STT: Deepgram closed the stream unexpectedly (code 1011, reason "NET-0001")');
    expect(() => s.write(toneFrames(1)[0]!)).not.toThrow();
  });

  it('reports a cut TCP connection as an abnormal close (1006)', async () => {
    const s = session();
    const connection = await server.connection();
    const failure = nextFailure(s);
    connection.cut();
    expect((await failure).message).toMatch(/closed the stream unexpectedly \(code 1006/);
  });

  it('reports an unreachable Deepgram as a connection error', async () => {
    // Take a free port, then release it so nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const s = session('right-key', `ws://127.0.0.1:${port}`);
    expect((await nextFailure(s)).message).toMatch(/connection error \(ECONNREFUSED\)/);
  });

  it('reports a Deepgram that accepts the connection but never answers the upgrade (connectTimeoutMs)', async () => {
    const silent = createServer();
    const accepted: import('node:net').Socket[] = [];
    silent.on('connection', (socket) => accepted.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const s = new DeepgramSttProvider({ apiKey: 'k', baseUrl: `ws://127.0.0.1:${port}`, connectTimeoutMs: 50, logger: silentLogger() }).startSession({
      language: 'en-US',
      sampleRate: 8000,
    });
    expect((await nextFailure(s)).message).toMatch(/connection error: Opening handshake has timed out/);
    for (const socket of accepted) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('the double rejects a listen request without encoding or sample_rate with 400 and dg-error, as Deepgram does', async () => {
    const { default: WebSocket } = await import('ws');
    const status = (query: string) =>
      new Promise<{ status: number; dgError: string | undefined }>((resolve) => {
        const ws = new WebSocket(`${server.url}/v1/listen?${query}`, { headers: { Authorization: 'Token right-key' } });
        ws.on('unexpected-response', (_req, res) => {
          resolve({ status: res.statusCode ?? 0, dgError: res.headers['dg-error'] as string | undefined });
          res.resume();
          ws.terminate();
        });
        ws.on('error', () => undefined);
      });
    expect(await status('sample_rate=8000')).toEqual({ status: 400, dgError: 'encoding is required for raw audio' });
    expect((await status('encoding=linear16')).status).toBe(400);
    expect((await status('encoding=linear16&sample_rate=abc')).status).toBe(400);
  });

  it('reports invalid session options instead of connecting', async () => {
    const s = new DeepgramSttProvider({ apiKey: 'right-key', baseUrl: server.url, logger: silentLogger() }).startSession({
      language: 'en-US',
      sampleRate: 0,
    });
    expect((await nextFailure(s)).message).toMatch(/sampleRate must be a positive integer, got 0/);
    expect(server.upgradeRequests).toEqual([]);
  });
});
