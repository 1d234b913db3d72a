import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { WebSocketSttConnection } from '../../src/speech/stt/websocket-stt-connection.js';
import { FakeClock } from '../support/fake-clock.js';

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function listen(s: Server): Promise<string> {
  server = s;
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return `ws://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

/** A WebSocket server on loopback; resolves with its URL and the socket of the first client. */
async function acceptingServer(): Promise<{ url: string; client: Promise<ServerSocket> }> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  const client = once(wss, 'connection').then(([socket]) => socket as ServerSocket);
  return { url: await listen(http), client };
}

function connect(url: string): WebSocketSttConnection {
  return new WebSocketSttConnection({ url, vendor: 'Test STT', peer: 'the test server' });
}

describe('WebSocketSttConnection: one streaming recognizer socket', () => {
  it('reports a refused upgrade with its HTTP status, headers and the start of the body', async () => {
    const url = await listen(
      createServer((_req, res) => {
        res.writeHead(401, { 'content-type': 'application/json', 'x-request-id': 'req-7' });
        res.end(`  ${JSON.stringify({ err_code: 'INVALID_AUTH', padding: 'x'.repeat(10_000) })}  `);
      }),
    );
    const connection = connect(url);
    const [refusal] = (await once(connection, 'refused')) as [{ status: number; headers: Record<string, string>; body: Promise<string> }];
    expect(refusal.status).toBe(401);
    expect(refusal.headers['x-request-id']).toBe('req-7');
    // Trimmed: what the vendor quotes in its error message.
    expect((await refusal.body).startsWith('{"err_code":"INVALID_AUTH"')).toBe(true);
    connection.terminate();
  });

  it('hands JSON objects to the vendor and names the peer for a binary frame, malformed JSON or a non-object', async () => {
    const { url, client } = await acceptingServer();
    const connection = connect(url);
    const failures: string[] = [];
    const messages: unknown[] = [];
    connection.on('failure', (e) => failures.push(e.message));
    connection.on('message', (m) => messages.push(m));
    await once(connection, 'open');
    const socket = await client;
    socket.send(JSON.stringify({ partial: 'hel' }));
    socket.send(Buffer.from([1, 2, 3]), { binary: true });
    socket.send('{"partial": ');
    socket.send('[1,2]');
    socket.send(JSON.stringify({ text: 'hello' }));
    await new Promise<void>((resolve) => {
      const check = (): void => (messages.length === 2 ? resolve() : void setTimeout(check, 5));
      check();
    });
    expect(messages).toEqual([{ partial: 'hel' }, { text: 'hello' }]);
    expect(failures).toEqual([
      'Test STT: unexpected binary message (3 bytes) from the test server',
      'Test STT: malformed JSON from the test server: "{\\"partial\\": "',
      'Test STT: expected a JSON object from the test server, got "[1,2]"',
    ]);
    connection.close(1000);
    expect(await once(connection, 'close')).toEqual([1000, '']);
  });

  it('reports an unreachable server as a connection error with its code', async () => {
    const url = await listen(createServer());
    server!.closeAllConnections();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const connection = connect(url);
    const [error] = (await once(connection, 'failure')) as [Error];
    expect(error.message).toMatch(/^Test STT: connection error \(ECONNREFUSED\): /);
  });

  it('sends the keep-alive only after a quiet period, never while audio flows', async () => {
    const { url, client } = await acceptingServer();
    const clock = new FakeClock();
    const connection = connect(url);
    await once(connection, 'open');
    const socket = await client;
    const texts: string[] = [];
    const binaries: number[] = [];
    socket.on('message', (data, isBinary) => (isBinary ? binaries.push((data as Buffer).byteLength) : texts.push(String(data))));
    connection.keepAlive('{"type":"KeepAlive"}', 1000, clock);
    connection.sendAudio(Buffer.alloc(320));
    clock.advance(1000); // audio went out in this period: no keep-alive
    clock.advance(1000); // quiet: keep-alive
    connection.stopKeepAlive();
    clock.advance(5000);
    connection.sendText('{"type":"CloseStream"}');
    await new Promise<void>((resolve) => {
      const check = (): void => (texts.length === 2 ? resolve() : void setTimeout(check, 5));
      check();
    });
    expect(binaries).toEqual([320]);
    expect(texts).toEqual(['{"type":"KeepAlive"}', '{"type":"CloseStream"}']);
    connection.terminate();
  });
});
