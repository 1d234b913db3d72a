import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import { GREETING, SUPPORT, heardSegments, menuFlow, nextCallEnded } from '../support/e2e-fixtures.js';
import { clusterUnavailable, startCluster, type TestCluster } from './cluster-harness.js';

const NUMBER = '+14155550100';
const AUTH_ID = 'MACLUSTERTEST';
const AUTH_TOKEN = 'cluster-plivo-auth-token';

describe.skipIf(clusterUnavailable)('Plivo: the answer reaches one instance, the stream and the hangup callback another (a balancer without the routing rule)', () => {
  let sim: PlivoSimulator;
  let cluster: TestCluster;
  beforeAll(async () => {
    sim = new PlivoSimulator({ authId: AUTH_ID, authToken: AUTH_TOKEN });
    const { restBaseUrl } = await sim.listen();
    cluster = await startCluster({
      instances: ['vg-a', 'vg-b'],
      config: {
        carriers: { plivo: { authId: AUTH_ID, authToken: AUTH_TOKEN, apiBaseUrl: restBaseUrl } },
        bots: [{ name: 'menu-bot', type: 'flow', flow: menuFlow }],
        routes: [{ number: NUMBER, bot: 'menu-bot' }],
      },
    });
    sim.addNumber(NUMBER, { answerUrl: `${cluster.balancer.url}/plivo/answer`, hangupUrl: `${cluster.balancer.url}/plivo/hangup` });
    // Answers go to vg-a; everything else (the stream, the hangup callback) to vg-b.
    cluster.balancer.pick = (req) => (req.url?.startsWith('/plivo/answer') ? 0 : 1);
  });
  afterAll(async () => {
    await sim?.close();
    await cluster?.close();
  });

  it('the stream opened on the wrong instance reaches the owner and the call converses there', async () => {
    const [a, b] = cluster.gateways;
    const startedOnB: string[] = [];
    const offB = b.bus.subscribe('call.started', (e) => void startedOnB.push(e.callId));
    const ended = nextCallEnded(a);
    const call = sim.dialInbound({ from: '+14155550123', to: NUMBER, script: { hangupAfterSec: 30 } });
    call.once('heard-audio-stop', () => call.party.press('2'));
    const result = await call.ended;
    const end = await ended;
    offB();

    // The caller heard the greeting and, after pressing 2, the support answer: audio both ways through vg-b.
    expect(heardSegments(call.timeline)).toHaveLength(2);
    expect(result.cause).toBe('Normal Hangup');
    expect(end).toMatchObject({ reason: 'bot-hangup', side: 'gateway', cause: 'Normal Hangup' });
    await a.records.flush();
    const record = await a.store.calls.getByCarrierCallId(call.callUuid, 'plivo');
    expect(record).toMatchObject({ bot: 'menu-bot', endReason: 'bot-hangup' });
    const lines = await a.store.transcripts.listForCall(record!.id);
    expect(lines.map((l) => l.text)).toEqual([GREETING, SUPPORT]);
    expect(startedOnB).toEqual([]);
  });

  it("a hangup callback on the wrong instance completes the owner's record with the carrier's cause and duration", async () => {
    const [a] = cluster.gateways;
    const ended = nextCallEnded(a);
    const call = sim.dialInbound({ from: '+14155550124', to: NUMBER, script: {} });
    call.once('heard-audio-start', () => call.party.hangUp(700));
    const result = await call.ended;
    const end = await ended;

    expect(end).toMatchObject({ side: 'caller', reason: 'caller-hangup', cause: result.cause, durationSec: result.durationSec });
    await a.records.flush();
    const record = await a.store.calls.getByCarrierCallId(call.callUuid, 'plivo');
    expect(record).toMatchObject({ hangupCause: result.cause, hangupSide: 'caller', durationMs: result.durationSec * 1000 });
  });
});
