/**
 * One instance's live list shows the calls of every instance of the service: a call running on A is
 * listed by B with instance A (and whether its media is up) from the directory, and leaves B's list
 * once it ends. A's own list keeps its full detail.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/app/gateway.js';
import { silentLogger } from '../../src/logger.js';
import { HANGUP_CAUSES } from '../../src/sim/hangup-causes.js';
import { CLUSTER_API_TOKEN, clusterGatewayConfig } from '../support/cluster-gateway.js';
import { clusterFixture, clusterUnavailable, until, type ClusterFixture } from './cluster-fixture.js';

const VOXGATE_NUMBER = '+14155550100';
const CALLEE = '+14155550177';
const auth = { authorization: `Bearer ${CLUSTER_API_TOKEN}` };

interface LiveList {
  calls: { id: string; instance: string; connected: boolean; carrier: string; direction: string; from: string; to: string; bot: string }[];
}

async function liveList(gateway: Gateway): Promise<LiveList> {
  const res = await fetch(`${gateway.url}/api/v1/calls/live`, { headers: auth });
  expect(res.status).toBe(200);
  return (await res.json()) as LiveList;
}

describe.skipIf(clusterUnavailable)('the service-wide live list', () => {
  let fx: ClusterFixture | undefined;
  const gateways: Gateway[] = [];
  afterEach(async () => {
    for (const gateway of gateways.splice(0)) await gateway.close();
    await fx?.cleanUp();
    fx = undefined;
  });

  it("lists a call running on instance A in instance B's live calls, and drops it when it ends", async () => {
    fx = await clusterFixture({ heartbeatMs: 500, leaseMs: 5000 });
    const a = await startGateway(clusterGatewayConfig(await fx.instance('gw-a')), { logger: silentLogger() });
    gateways.push(a);
    const b = await startGateway(clusterGatewayConfig(await fx.instance('gw-b')), { logger: silentLogger() });
    gateways.push(b);
    fx.sim.addNumber(VOXGATE_NUMBER, { answerUrl: `${a.url}/plivo/answer`, hangupUrl: `${a.url}/plivo/hangup` });
    const call = fx.sim.dialInbound({ from: '+14155550123', to: VOXGATE_NUMBER, script: { hangupAfterSec: 600, recordHeard: false } });

    const onB = await until('the call on B with its media up', async () => {
      const listed = (await liveList(b)).calls;
      return listed.length === 1 && listed[0].connected ? listed[0] : undefined;
    });
    const [onA] = (await liveList(a)).calls;
    expect(onB).toEqual({ ...onA, instance: a.instanceId });
    expect(onB).toMatchObject({ carrier: 'plivo', direction: 'inbound', from: '14155550123', bot: 'held', instance: a.instanceId });

    // The caller hangs up.
    await call.hangup(HANGUP_CAUSES.normal, 'Caller');
    await until('the ended call gone from B', async () => (await liveList(b)).calls.length === 0);
    expect((await liveList(a)).calls).toEqual([]);
  }, 60_000);

  it('lists an outbound call from the moment it is placed, while it still rings, and drops it when nobody answers', async () => {
    fx = await clusterFixture({ heartbeatMs: 500, leaseMs: 5000 });
    const a = await startGateway(clusterGatewayConfig(await fx.instance('gw-a')), { logger: silentLogger() });
    gateways.push(a);
    const b = await startGateway(clusterGatewayConfig(await fx.instance('gw-b')), { logger: silentLogger() });
    gateways.push(b);
    fx.sim.addCallee(CALLEE, { declines: true, answerAfterSec: 3 });
    const placed = await fetch(`${a.url}/api/v1/actions/dialout`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ bot: 'held', target: CALLEE, caller: VOXGATE_NUMBER }) });
    const { conversationId } = (await placed.json()) as { conversationId: string };

    const ringing = await until('the placed call on B', async () => (await liveList(b)).calls.find((c) => c.id === conversationId));
    expect(ringing).toMatchObject({ direction: 'outbound', to: CALLEE, connected: false, instance: a.instanceId });
    await until('the declined call gone from B', async () => (await liveList(b)).calls.length === 0);
    expect(await b.store.outboundCalls.get(conversationId)).toMatchObject({ status: 'failed' });
  }, 60_000);
});
