import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type Gateway } from '../../src/app/gateway.js';
import { parseConfig } from '../../src/config/load.js';
import { captureLogger, LOG_WARN, type CapturedLog } from '../support/captured-logger.js';

const HEADERS_TIMEOUT_MS = 400;
const MAX_PER_SOURCE = 4;
const MAX_PENDING_UPGRADES = 2;
const OTHER_SOURCE = '127.0.0.2';

/** A raw TCP connection to the gateway from a chosen loopback address. */
function open(url: string, localAddress = '127.0.0.1'): Promise<Socket> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port), localAddress });
    socket.once('connect', () => resolve(socket)).once('error', reject);
  });
}

/** Everything the server sent until it closed the connection. */
function received(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.once('close', () => resolve(text));
  });
}

async function healthOver(socket: Socket): Promise<string> {
  const answer = new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))));
  socket.write('GET /health HTTP/1.1\r\nHost: voxgate\r\n\r\n');
  return answer;
}

describe('connections: slow requests are cut, and one source cannot take every connection', () => {
  let gateway: Gateway;
  let dataDir: string;
  let logLines: CapturedLog[];
  const sockets: Socket[] = [];
  const track = (s: Socket) => (sockets.push(s), s);

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'vg-connections-'));
    const log = captureLogger();
    logLines = log.lines;
    const config = parseConfig({
      server: { host: '127.0.0.1', port: 0, connections: { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: 1000, maxPerSource: MAX_PER_SOURCE, maxPendingUpgradesPerSource: MAX_PENDING_UPGRADES } },
      dataDir,
      log: { level: 'silent' },
      api: { token: 'connections-token' },
      carriers: { plivo: { authId: 'MACONNECTIONS', authToken: 'connections-auth', apiBaseUrl: 'http://127.0.0.1:9' } },
    });
    gateway = await startGateway(config, { logger: log.logger });
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await gateway?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('cuts a client that trickles its headers byte by byte at the headers timeout (408), while others are served', async () => {
    const slow = track(await open(gateway.url));
    const answer = received(slow);
    const started = Date.now();
    slow.write('GET /health HTTP/1.1\r\nHost: voxgate\r\n');
    // One header byte every 50 ms, never the blank line that ends the headers: each byte is "activity", but not progress.
    const header = 'X-Slowloris: ' + 'a'.repeat(1000);
    let i = 0;
    const trickle = setInterval(() => !slow.destroyed && slow.write(header[i++ % header.length]), 50);
    try {
      const normal = track(await open(gateway.url));
      expect(await healthOver(normal)).toMatch(/^HTTP\/1\.1 200/);
      normal.destroy();
      expect(await answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      clearInterval(trickle);
    }
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    // Cut within the timeout and Node's check interval (a quarter of it), not after the default 60 s.
    expect(elapsed).toBeLessThan(HEADERS_TIMEOUT_MS * 3);
  });

  it('refuses the connection over the cap from one source, while another source still connects', async () => {
    const held = await Promise.all(Array.from({ length: MAX_PER_SOURCE }, async () => track(await open(gateway.url))));
    // Each of them is a live, served connection.
    expect(await healthOver(held[0])).toMatch(/^HTTP\/1\.1 200/);
    const refused = track(await open(gateway.url));
    // Destroyed on accept: closed without a byte of answer.
    expect(await received(refused)).toBe('');

    const other = track(await open(gateway.url, OTHER_SOURCE));
    expect(await healthOver(other)).toMatch(/^HTTP\/1\.1 200/);
    // A flood of refusals is one warn line per interval, not one per connection.
    for (let i = 0; i < 5; i++) expect(await received(track(await open(gateway.url)))).toBe('');
    const refusalLines = logLines.filter((l) => l.level === LOG_WARN && /per-source cap/.test(l.msg));
    expect(refusalLines).toHaveLength(1);
    expect(refusalLines[0]).toMatchObject({ refused: { 'tcp 127.0.0.1': 1 }, maxPerSource: MAX_PER_SOURCE });

    // Closing one frees its place for the next (once the server has seen it close).
    held[1].destroy();
    let again: Socket | undefined;
    await expect
      .poll(async () => {
        again?.destroy();
        again = track(await open(gateway.url));
        const served = healthOver(again);
        return Promise.race([served, received(again)]);
      })
      .toMatch(/^HTTP\/1\.1 200/);
    for (const s of [...held, other, again!]) s.destroy();
  });

  it('answers 503 to WebSocket upgrades over the cap of those not yet authenticated, and counts one as soon as it sends its first message', async () => {
    const wsUrl = `${gateway.url.replace('http', 'ws')}/api/v1/live`;
    // Sources of their own: the TCP connections of the test before may still be closing on the server's side.
    const openWs = (localAddress = '127.0.0.3') =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(wsUrl, { localAddress });
        ws.once('open', () => resolve(ws)).once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`))).once('error', reject);
      });
    const pending = [await openWs(), await openWs()];
    await expect(openWs()).rejects.toThrow('upgrade refused: 503');
    // Another source is not affected.
    const fromOther = await openWs('127.0.0.4');
    // Authenticating (the first message) frees the place: the console's own stream is no longer "pending".
    const snapshot = new Promise((resolve) => pending[0].once('message', resolve));
    pending[0].send(JSON.stringify({ type: 'auth', token: 'connections-token' }));
    await snapshot;
    const next = await openWs();
    for (const ws of [...pending, fromOther, next]) ws.terminate();
  });
});
