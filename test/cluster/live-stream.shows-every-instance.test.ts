/**
 * The console's live stream on one instance shows the whole service: a call the Plivo simulator
 * places on instance 1 streams, event by event and each event once, to a console connected to
 * instance 2, whose own bus (record writer, metrics, callbacks) never hears of it. Its snapshot
 * lists the other instances' live calls from the call directory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Gateway } from '../../src/app/gateway.js';
import { nextCallEnded } from '../support/e2e-fixtures.js';
import { CLUSTER_NUMBER, clusterReachable, startServiceViewCluster, type ServiceViewCluster } from '../support/service-view-cluster.js';
import { GREETING, menuFlow, SUPPORT } from '../support/e2e-fixtures.js';

const ADMIN_TOKEN = 'service-view-admin-token-0123456789';
interface Message {
  type: string;
  [key: string]: unknown;
}

/** An authenticated live-stream client collecting every message; `next` waits for one matching a test. */
async function watch(gateway: Gateway) {
  const socket = new WebSocket(`${gateway.url.replace(/^http/, 'ws')}/api/v1/live`);
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
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'auth', token: ADMIN_TOKEN }));
  const next = (test: (m: Message) => boolean): Promise<Message> => {
    const found = messages.find(test);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => waiters.push({ test, resolve }));
  };
  const snapshot = await next((m) => m.type === 'snapshot');
  return {
    messages,
    snapshot,
    next,
    async close() {
      socket.close();
      await closed;
    },
  };
}

describe.skipIf(!clusterReachable)('the live stream of one instance shows every instance (two gateways, Redis, PostgreSQL)', () => {
  let cluster: ServiceViewCluster;
  beforeAll(async () => {
    cluster = await startServiceViewCluster({ api: { token: ADMIN_TOKEN }, bots: [{ name: 'view-bot', type: 'flow', flow: menuFlow }], routes: [{ number: CLUSTER_NUMBER, bot: 'view-bot' }] });
  }, 90_000);
  afterAll(() => cluster?.close(), 60_000);

  it('streams a call running on instance 1 to a console on instance 2, each event once', async () => {
    const [one, two] = cluster.gateways;
    const console2 = await watch(two);
    const heardOnTwosOwnBus: string[] = [];
    const offs = (['call.started', 'transcript', 'dtmf', 'call.ended'] as const).map((type) => two.bus.subscribe(type, () => void heardOnTwosOwnBus.push(type)));

    const ended = nextCallEnded(one);
    const call = cluster.sim.dialInbound({ from: '+14155550123', to: CLUSTER_NUMBER, script: { hangupAfterSec: 60 } });
    call.once('heard-audio-stop', () => call.party.press('2'));

    const started = await console2.next((m) => m.type === 'call.started');
    expect(started).toMatchObject({ bot: 'view-bot', direction: 'inbound', from: expect.stringContaining('14155550123') });
    const callId = started.callId as string;
    expect(one.calls.get(callId)).toBeDefined(); // it runs on instance 1
    await console2.next((m) => m.type === 'call.ended' && m.callId === callId);
    await ended;

    const ofCall = console2.messages.filter((m) => m.callId === callId);
    const count = (type: string, text?: string) => ofCall.filter((m) => m.type === type && (text === undefined || m.text === text)).length;
    expect(count('call.started')).toBe(1);
    expect(count('call.answered')).toBeLessThanOrEqual(1);
    expect(count('transcript', GREETING)).toBe(1);
    expect(count('transcript', SUPPORT)).toBe(1);
    expect(count('dtmf')).toBe(1);
    expect(count('call.ended')).toBe(1);
    expect(ofCall[0].type).toBe('call.started');
    expect(ofCall.at(-1)?.type).toBe('call.ended');
    // Instance 2's own bus never heard of it: its record writer and callbacks act for its own calls only.
    expect(heardOnTwosOwnBus).toEqual([]);
    offs.forEach((off) => off());
    await console2.close();
  }, 90_000);

  it("lists another instance's live calls in the snapshot, naming the instance running each", async () => {
    const [one, two] = cluster.gateways;
    const startedAt = Date.now();
    // What instance 1's call registry announces for each call it takes.
    await one.directory.register({ callId: 'held-on-one', carrier: 'plivo', carrierCallId: 'uuid-held-on-one', direction: 'inbound', from: '+14155550177', to: CLUSTER_NUMBER, bot: 'view-bot', startedAt, connected: true });
    try {
      const console2 = await watch(two);
      expect(console2.snapshot.calls).toEqual([
        { id: 'held-on-one', carrier: 'plivo', direction: 'inbound', from: '+14155550177', to: CLUSTER_NUMBER, bot: 'view-bot', startedAt, connected: true, instance: one.instanceId, transcript: [] },
      ]);
      await console2.close();
    } finally {
      await one.directory.unregister('held-on-one');
    }
  }, 30_000);
});
