/**
 * A call's recording is written to the disk of the instance that ran the call; the console may ask
 * any instance for it (its requests go round-robin). The instance asked fetches it from the one that
 * has it, byte for byte, with the client's own credentials; once that instance is gone, the answer is
 * a 404 naming it rather than a bare "file gone".
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import { menuFlow, nextCallEnded } from '../support/e2e-fixtures.js';
import { clusterUnavailable, eventually, startCluster, type TestCluster } from './cluster-harness.js';

const NUMBER = '+14155550100';
const AUTH_ID = 'MACLUSTERREC';
const AUTH_TOKEN = 'cluster-recording-auth-token';
const API_TOKEN = 'cluster-recording-api-token-0123456789';

describe.skipIf(clusterUnavailable)('a recording made on one instance, asked for on another', () => {
  let sim: PlivoSimulator;
  let cluster: TestCluster;
  beforeAll(async () => {
    sim = new PlivoSimulator({ authId: AUTH_ID, authToken: AUTH_TOKEN });
    const { restBaseUrl } = await sim.listen();
    cluster = await startCluster({
      instances: ['vg-rec-a', 'vg-rec-b'],
      config: {
        api: { token: API_TOKEN },
        carriers: { plivo: { authId: AUTH_ID, authToken: AUTH_TOKEN, apiBaseUrl: restBaseUrl } },
        bots: [{ name: 'menu-bot', type: 'flow', flow: menuFlow, settings: { recordCall: true } }],
        routes: [{ number: NUMBER, bot: 'menu-bot' }],
      },
    });
    sim.addNumber(NUMBER, { answerUrl: `${cluster.balancer.url}/plivo/answer`, hangupUrl: `${cluster.balancer.url}/plivo/hangup` });
    cluster.balancer.pick = () => 0;
  });
  afterAll(async () => {
    await sim?.close();
    await cluster?.close();
  });

  it('is served by the other instance from the one that recorded it, then refused by name once that one is gone', async () => {
    const [a, b] = cluster.gateways;
    const ended = nextCallEnded(a);
    const call = sim.dialInbound({ from: '+14155550123', to: NUMBER, script: {} });
    call.once('heard-audio-start', () => call.party.hangUp(1500));
    await call.ended;
    const { callId } = await ended;
    // The WAV is closed (and its row written) just after the call ends.
    const recording = await eventually('the call recorded on vg-rec-a', async () => {
      await a.records.flush();
      return (await a.store.recordings.listForCall(callId))[0];
    });
    const original = await readFile(recording.path);

    const auth = { authorization: `Bearer ${API_TOKEN}` };
    const fromB = await fetch(`${b.url}/api/v1/calls/${callId}/recordings/1`, { headers: auth });
    expect(fromB.status, await fromB.clone().text()).toBe(200);
    expect(fromB.headers.get('content-type')).toBe('audio/wav');
    expect(Buffer.from(await fromB.arrayBuffer()).equals(original)).toBe(true);
    // The client's credentials travel with it: without them the holder refuses, and so does B.
    expect((await fetch(`${b.url}/api/v1/calls/${callId}/recordings/1`)).status).toBe(401);

    await cluster.stop(a);
    const gone = await fetch(`${b.url}/api/v1/calls/${callId}/recordings/1`, { headers: auth });
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { error: string }).error).toContain('vg-rec-a');
  });
});
