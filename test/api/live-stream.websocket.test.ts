import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startE2e, VOXGATE_NUMBER, type E2eSetup } from '../support/e2e-gateway.js';

const ADMIN_TOKEN = 'live-stream-admin-token-0123456789';
const GREETING = 'Welcome to the live stream test. Press 2 for support.';
const SUPPORT = 'Support will call you back within the hour.';

const flow = {
  name: 'live-stream',
  language: 'en-US',
  start: 'menu',
  steps: {
    menu: { collect: { prompt: GREETING, maxDigits: 1, timeoutMs: 30000, branches: { '2': 'support' }, noMatch: 'bye', timeout: 'bye' } },
    support: { say: SUPPORT, next: 'bye' },
    bye: { say: 'Goodbye.', hangup: 'completed' },
  },
};

interface Message {
  type: string;
  [key: string]: unknown;
}

/** A ws client that collects every message and its close code, and can wait for a message matching a test. */
function connect(url: string) {
  const socket = new WebSocket(url);
  const messages: Message[] = [];
  const waiters: { test: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString()) as Message;
    messages.push(message);
    for (const w of waiters.splice(0)) {
      if (w.test(message)) w.resolve(message);
      else waiters.push(w);
    }
  });
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return {
    socket,
    messages,
    opened,
    closed,
    next(test: (m: Message) => boolean): Promise<Message> {
      const found = messages.find(test);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ test, resolve }));
    },
  };
}

describe('live calls pushed over the /api/v1/live WebSocket', () => {
  let e2e: E2eSetup;
  let wsUrl: string;
  beforeAll(async () => {
    e2e = await startE2e({ api: { token: ADMIN_TOKEN }, bots: [{ name: 'live-bot', type: 'flow', flow }], routes: [{ number: VOXGATE_NUMBER, bot: 'live-bot' }] });
    wsUrl = `${e2e.gateway.url.replace(/^http/, 'ws')}/api/v1/live`;
  }, 60_000);
  afterAll(() => e2e?.close());

  async function tokenWithScopes(scopes: string[]): Promise<string> {
    const created = await fetch(`${e2e.gateway.url}/api/v1/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `client-${scopes.join('-')}`, scopes }),
    });
    expect(created.status).toBe(201);
    const { clientId, clientSecret } = (await created.json()) as { clientId: string; clientSecret: string };
    const res = await fetch(`${e2e.gateway.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  it('sends a snapshot after auth, then a live call with its transcript lines in the order spoken', async () => {
    const client = connect(wsUrl);
    await client.opened;
    client.socket.send(JSON.stringify({ type: 'auth', token: ADMIN_TOKEN }));
    expect(await client.next((m) => m.type === 'snapshot')).toEqual({ type: 'snapshot', calls: [] });

    const ended = e2e.nextCallEnded();
    const call = e2e.sim.dialInbound({ from: '+14155550123', to: VOXGATE_NUMBER, script: { hangupAfterSec: 60 } });
    call.once('heard-audio-stop', () => call.party.press('2'));

    const started = await client.next((m) => m.type === 'call.started');
    expect(started).toMatchObject({ from: expect.stringContaining('14155550123'), to: expect.stringContaining(VOXGATE_NUMBER.slice(1)), bot: 'live-bot', direction: 'inbound' });
    const callId = started.callId;
    await client.next((m) => m.type === 'transcript' && m.text === SUPPORT);
    await client.next((m) => m.type === 'call.ended' && m.callId === callId);
    await ended;

    const ofCall = client.messages.filter((m) => m.callId === callId);
    const lines = ofCall.filter((m) => m.type === 'transcript').map((m) => m.text);
    expect(lines.indexOf(GREETING)).toBeGreaterThanOrEqual(0);
    expect(lines.indexOf(SUPPORT)).toBeGreaterThan(lines.indexOf(GREETING));
    expect(ofCall.find((m) => m.type === 'dtmf')).toMatchObject({ digit: '2' });
    expect(ofCall.findIndex((m) => m.type === 'call.started')).toBe(0);
    expect(ofCall.at(-1)?.type).toBe('call.ended');
    const transcript = ofCall.find((m) => m.type === 'transcript')!;
    expect(Object.keys(transcript).sort()).toEqual(['at', 'callId', 'text', 'type', 'who']);

    client.socket.close();
    await client.closed;
  }, 60_000);

  it('includes each live call and its transcript so far in the snapshot', async () => {
    const call = e2e.sim.dialInbound({ from: '+14155550124', to: VOXGATE_NUMBER, script: { hangupAfterSec: 60 } });
    const watcher = connect(wsUrl);
    await watcher.opened;
    watcher.socket.send(JSON.stringify({ type: 'auth', token: ADMIN_TOKEN }));
    await watcher.next((m) => m.type === 'snapshot');
    await watcher.next((m) => m.type === 'transcript' && m.text === GREETING);
    // The record writer stores the greeting in its next batch: a socket opened after that has it in its snapshot.
    const snapshotNow = async () => {
      const client = connect(wsUrl);
      await client.opened;
      client.socket.send(JSON.stringify({ type: 'auth', token: ADMIN_TOKEN }));
      const got = await client.next((m) => m.type === 'snapshot');
      client.socket.close();
      await client.closed;
      return got;
    };
    let snapshot: Message | undefined;
    await expect
      .poll(
        async () => {
          snapshot = await snapshotNow();
          return (snapshot.calls as { transcript: { text: string }[] }[]).some((c) => c.transcript.some((l) => l.text === GREETING));
        },
        { interval: 50, timeout: 5000 },
      )
      .toBe(true);
    const calls = snapshot!.calls as { from: string; bot: string; transcript: { text: string; who: string }[] }[];
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ from: expect.stringContaining('14155550124'), bot: 'live-bot' });
    expect(calls[0].transcript[0]).toMatchObject({ who: 'bot', text: GREETING });
    const ended = e2e.nextCallEnded();
    call.party.hangUp();
    await call.ended;
    await ended;
    watcher.socket.close();
    await watcher.closed;
  }, 60_000);

  it('refuses a first message without a token, a wrong token and a token without calls:read with 1008', async () => {
    const noScope = await tokenWithScopes(['bots:read']);
    const cases: [unknown, string][] = [
      [{ type: 'auth', token: '' }, 'missing or invalid bearer token'],
      [{ type: 'auth', token: 'not-the-token' }, 'missing or invalid bearer token'],
      [{ type: 'auth', token: noScope }, 'missing scope calls:read'],
    ];
    for (const [first, error] of cases) {
      const client = connect(wsUrl);
      await client.opened;
      client.socket.send(JSON.stringify(first));
      expect((await client.closed).code).toBe(1008);
      expect(client.messages).toEqual([{ type: 'error', error }]);
    }
  });

  it('accepts an OAuth client token holding calls:read', async () => {
    const token = await tokenWithScopes(['calls:read']);
    const client = connect(wsUrl);
    await client.opened;
    client.socket.send(JSON.stringify({ type: 'auth', token }));
    expect((await client.next((m) => m.type === 'snapshot')).type).toBe('snapshot');
    client.socket.close();
    await client.closed;
  });

  it('closes with 1003 on a malformed first message and on a message after auth, and the gateway keeps serving', async () => {
    for (const first of ['not json', JSON.stringify({ type: 'hello' }), JSON.stringify({ type: 'auth', token: 42 }), '[]']) {
      const client = connect(wsUrl);
      await client.opened;
      client.socket.send(first);
      expect((await client.closed).code).toBe(1003);
      expect(client.messages).toHaveLength(1);
      expect(client.messages[0]).toMatchObject({ type: 'error', error: expect.stringContaining('first message must be') });
    }
    const client = connect(wsUrl);
    await client.opened;
    client.socket.send(JSON.stringify({ type: 'auth', token: ADMIN_TOKEN }));
    await client.next((m) => m.type === 'snapshot');
    client.socket.send('{"type":"subscribe"}');
    expect((await client.closed).code).toBe(1003);
    expect((await fetch(`${e2e.gateway.url}/health`)).status).toBe(200);
  });

  it('unsubscribes from the bus when the socket closes', async () => {
    const listeners = () => (e2e.gateway.bus as unknown as { listeners: Map<string, Set<unknown>> }).listeners.get('transcript')?.size ?? 0;
    const before = listeners();
    const client = connect(wsUrl);
    await client.opened;
    client.socket.send(JSON.stringify({ type: 'auth', token: ADMIN_TOKEN }));
    await client.next((m) => m.type === 'snapshot');
    expect(listeners()).toBe(before + 1);
    client.socket.close();
    await client.closed;
    // The server sees the close frame right after the client: wait for its side to drop the listener.
    await expect.poll(listeners, { interval: 10, timeout: 2000 }).toBe(before);
  });
});
