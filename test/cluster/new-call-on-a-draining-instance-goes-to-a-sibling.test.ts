import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import { plivoSignedHeaders } from '../../src/sim/plivo-signature-headers.js';
import { heardSegments, menuFlow, nextCallEnded } from '../support/e2e-fixtures.js';
import { clusterUnavailable, startCluster, type TestCluster } from './cluster-harness.js';

const NUMBER = '+14155550100';
const AUTH_TOKEN = 'cluster-drain-plivo';

describe.skipIf(clusterUnavailable)('a new inbound call offered to a draining instance', () => {
  let sim: PlivoSimulator;
  let cluster: TestCluster;
  beforeAll(async () => {
    sim = new PlivoSimulator({ authId: 'MACLUSTERDRAIN', authToken: AUTH_TOKEN });
    const { restBaseUrl } = await sim.listen();
    cluster = await startCluster({
      instances: ['vg-a', 'vg-b'],
      config: {
        carriers: { plivo: { authId: 'MACLUSTERDRAIN', authToken: AUTH_TOKEN, apiBaseUrl: restBaseUrl } },
        bots: [{ name: 'menu-bot', type: 'flow', flow: menuFlow }],
        routes: [{ number: NUMBER, bot: 'menu-bot' }],
      },
    });
    sim.addNumber(NUMBER, { answerUrl: `${cluster.balancer.url}/plivo/answer`, hangupUrl: `${cluster.balancer.url}/plivo/hangup` });
    // Everything reaches vg-a, which drains.
    cluster.balancer.pick = () => 0;
  });
  afterAll(async () => {
    await sim?.close();
    await cluster?.close();
  });

  it('is passed to a live sibling, which runs it (its stream and hangup follow its routing token)', async () => {
    const [a, b] = cluster.gateways;
    await a.directory.setDraining(true);
    const startedOnA: string[] = [];
    const offA = a.bus.subscribe('call.started', (e) => void startedOnA.push(e.callId));
    const ended = nextCallEnded(b);
    const call = sim.dialInbound({ from: '+14155550123', to: NUMBER, script: { hangupAfterSec: 30 } });
    call.once('heard-audio-stop', () => call.party.press('1'));
    const result = await call.ended;
    const end = await ended;
    offA();

    expect(heardSegments(call.timeline)).toHaveLength(2);
    expect(end).toMatchObject({ reason: 'bot-hangup', cause: result.cause, durationSec: result.durationSec });
    expect(startedOnA).toEqual([]);
  });

  it('is refused with 503 when every instance drains (the carrier falls back to its fallback URL)', async () => {
    const [a, b] = cluster.gateways;
    await a.directory.setDraining(true);
    await b.directory.setDraining(true);
    const params = { CallUUID: 'drain-uuid-1', From: '14155550123', To: '14155550100', Direction: 'inbound' };
    const res = await fetch(`${a.url}/plivo/answer`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...plivoSignedHeaders('POST', `${cluster.balancer.url}/plivo/answer`, params, AUTH_TOKEN) },
      body: new URLSearchParams(params).toString(),
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toBe('instance vg-a is draining and no other instance takes new calls; use the fallback URL');
    expect(a.calls.size).toBe(0);
  });
});
