import { createServer, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VoskSttProvider, type VoskSttOptions } from '../../src/speech/stt/vosk.js';
import { silentLogger } from '../../src/logger.js';
import { VoskServer } from '../support/vosk-server.js';
import { nextFailure, toneFrames } from '../support/deepgram-session.js';
import { FakeClock } from '../support/fake-clock.js';

describe('Vosk STT: failures', () => {
  let server: VoskServer;
  beforeEach(async () => {
    server = await VoskServer.start({ requireBearer: 'proxy-key' });
  });
  afterEach(() => server.close());

  const session = (extra: Partial<VoskSttOptions> = {}) =>
    new VoskSttProvider({ url: server.url, apiKey: 'proxy-key', logger: silentLogger(), ...extra }).startSession({ language: 'en-US', sampleRate: 8000 });

  it('reports a proxy that rejects the key with the HTTP status and body', async () => {
    const s = session({ apiKey: 'wrong' });
    const failure = await nextFailure(s);
    expect(failure.message).toMatch(/^Vosk STT: ws:\/\/127\.0\.0\.1:\d+ rejected the WebSocket upgrade with HTTP 401 \(check apiKey for the proxy in front of Vosk\): ".*401 Authorization Required/);
    expect(server.upgradeRequests.map((r) => [r.status, r.headers.authorization])).toEqual([[401, 'Bearer wrong']]);
    expect(() => s.write(toneFrames(1)[0]!)).not.toThrow();
    s.endOfUtterance();
    s.close();
  });

  it('reports malformed JSON from the server and drops the connection', async () => {
    const s = session();
    const connection = await server.connection();
    const failure = nextFailure(s);
    connection.sendRaw('{"partial" : "hel');
    expect((await failure).message).toBe('Vosk STT: malformed JSON from the Vosk server: "{\\"partial\\" : \\"hel"');
    await connection.closed;
    expect(() => s.write(toneFrames(1)[0]!)).not.toThrow();
  });

  it('reports a message with neither partial nor text', async () => {
    const s = session();
    const connection = await server.connection();
    const failure = nextFailure(s);
    connection.sendRaw('{"status": "busy"}');
    expect((await failure).message).toMatch(/message with neither "partial" nor "text" from the Vosk server: /);
  });

  it('reports the close code when the server drops the connection mid-utterance', async () => {
    const s = session();
    const connection = await server.connection();
    for (const f of toneFrames(5)) s.write(f);
    await connection.waitForAudioBytes(5 * 320);
    const failure = nextFailure(s);
    connection.drop(1011, '');
    expect((await failure).message).toBe('Vosk STT: the Vosk server closed the connection unexpectedly (code 1011)');
    for (const f of toneFrames(5)) s.write(f);
    s.endOfUtterance();
    expect(server.connections).toHaveLength(1);
  });

  it('reports a cut TCP connection as an abnormal close (1006)', async () => {
    const s = session();
    const connection = await server.connection();
    const failure = nextFailure(s);
    connection.cut();
    expect((await failure).message).toMatch(/closed the connection unexpectedly \(code 1006\)/);
  });

  it('reports a server that accepts TCP but never completes the handshake (connectTimeoutMs)', async () => {
    const silent = createServer();
    const accepted: Socket[] = [];
    silent.on('connection', (socket) => accepted.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const clock = new FakeClock();
    const s = session({ url: `ws://127.0.0.1:${port}`, connectTimeoutMs: 3000, clock });
    const failure = nextFailure(s);
    clock.advance(2999);
    clock.advance(1);
    expect((await failure).message).toBe(`Vosk STT: ws://127.0.0.1:${port} did not complete the WebSocket handshake within 3000 ms`);
    for (const socket of accepted) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('reports a server that never answers eof (eofTimeoutMs)', async () => {
    const clock = new FakeClock();
    const s = session({ clock, eofTimeoutMs: 2000 });
    const connection = await server.connection();
    await connection.waitForConfig();
    connection.stall();
    for (const f of toneFrames(5)) s.write(f);
    s.endOfUtterance();
    await connection.waitForText('{"eof" : 1}');
    const failure = nextFailure(s);
    clock.advance(2000);
    expect((await failure).message).toMatch(/sent no final result and close within 2000 ms of eof$/);
    await connection.closed;
  });

  it('reports an unreachable server as a connection error', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const s = session({ url: `ws://127.0.0.1:${port}` });
    expect((await nextFailure(s)).message).toMatch(/^Vosk STT: connection error \(ECONNREFUSED\)/);
  });

  it('the double, like asr_server.py, closes with 1011 on a text frame that is neither config nor the exact eof', async () => {
    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(server.url, { headers: { authorization: 'Bearer proxy-key' } });
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send('{"eof": 1}');
    expect(await closed).toBe(1011);
  });
});
