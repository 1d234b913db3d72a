import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Socket } from 'node:net';
import { liveStreamRoutes } from '../../src/api/live-stream-routes.js';
import { EventBus } from '../../src/events/bus.js';
import { silentLogger } from '../../src/logger.js';

const TOKEN = 'live-stream-test-token';
let app: FastifyInstance | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

const LOCKED_OUT_SOURCE = '127.0.0.9';

/** The route on a bare app: a fake ApiAuth accepting TOKEN as admin, an empty live list and store. */
async function start(options: { authTimeoutMs?: number; maxBufferedBytes?: number }) {
  const bus = new EventBus();
  app = Fastify({ logger: false });
  await app.register(websocket);
  await app.register(liveStreamRoutes, {
    auth: {
      // A source the API's brute-force limits locked out is locked out of this socket too.
      authenticateRequest: async (header, source) =>
        source === LOCKED_OUT_SOURCE && header !== `Bearer ${TOKEN}`
          ? { ok: false, reason: 'throttled', retryAfterMs: 60_000 }
          : header === `Bearer ${TOKEN}`
            ? { ok: true, principal: { clientId: 'test', scopes: ['admin'] } }
            : { ok: false, reason: 'invalid' },
    },
    bus,
    live: { list: () => [] },
    store: { transcripts: { listForCall: async () => [] } } as never,
    logger: silentLogger(),
    ...options,
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { bus, url: `${url.replace(/^http/, 'ws')}/api/v1/live` };
}

it('refuses a token from a source locked out after failed authentications, saying when to retry', async () => {
  const { url } = await start({});
  const client = new WebSocket(url, { localAddress: LOCKED_OUT_SOURCE });
  const messages: unknown[] = [];
  client.on('message', (data) => messages.push(JSON.parse(data.toString())));
  await new Promise<void>((resolve) => client.once('open', () => resolve()));
  client.send(JSON.stringify({ type: 'auth', token: 'a-guess' }));
  const { code } = await new Promise<{ code: number }>((resolve) => client.once('close', (c) => resolve({ code: c })));
  expect(code).toBe(1008);
  expect(messages).toEqual([{ type: 'error', error: 'too many failed authentications; retry in 60 s' }]);
});

function transcriptListeners(bus: EventBus): number {
  return (bus as unknown as { listeners: Map<string, Set<unknown>> }).listeners.get('transcript')?.size ?? 0;
}

it('closes with 1008 when no auth message arrives before the deadline', async () => {
  const { url } = await start({ authTimeoutMs: 50 });
  const client = new WebSocket(url);
  const messages: unknown[] = [];
  client.on('message', (data) => messages.push(JSON.parse(data.toString())));
  const { code } = await new Promise<{ code: number }>((resolve) => client.once('close', (c) => resolve({ code: c })));
  expect(code).toBe(1008);
  expect(messages).toEqual([{ type: 'error', error: 'missing or invalid bearer token' }]);
});

it('drops a client that stops reading with 1013 and unsubscribes it, instead of buffering without bound', async () => {
  const { bus, url } = await start({ maxBufferedBytes: 64 * 1024 });
  const client = new WebSocket(url);
  const snapshot = new Promise<void>((resolve) => client.once('message', () => resolve()));
  await new Promise<void>((resolve) => client.once('open', () => resolve()));
  client.send(JSON.stringify({ type: 'auth', token: TOKEN }));
  await snapshot;
  expect(transcriptListeners(bus)).toBe(1);

  // The console's tab is frozen: nothing is read from the socket any more.
  const raw = (client as unknown as { _socket: Socket })._socket;
  raw.pause();
  const text = 'x'.repeat(64 * 1024);
  for (let i = 0; i < 400 && transcriptListeners(bus) > 0; i++) {
    bus.publish('transcript', { callId: 'c1', at: i, who: 'caller', text });
    // Let the socket write what the kernel takes, as a running gateway would between events.
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(transcriptListeners(bus)).toBe(0);

  const closed = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)));
  raw.resume();
  expect(await closed).toBe(1013);
});
