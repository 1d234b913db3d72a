/**
 * An instance of the cluster dies mid-calls. A survivor notices once its lease in the call directory
 * lapses and, within leaseMs + heartbeatMs (+ margin): ends its call records with cause
 * `instance-lost`, fires the status callback the dead instance owed for its outbound call, and asks
 * the carrier to hang up calls still up (an instance frozen rather than killed leaves its callers on
 * the line otherwise).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/app/gateway.js';
import { silentLogger } from '../../src/logger.js';
import { CallbackReceiver } from '../support/callback-receiver.js';
import { CLUSTER_API_TOKEN, clusterGatewayConfig, spawnClusterGateway, type ChildClusterGateway } from '../support/cluster-gateway.js';
import { clusterFixture, clusterUnavailable, until, type ClusterFixture } from './cluster-fixture.js';

const TIMING = { heartbeatMs: 200, leaseMs: 1000 };
/** Time for the survivor's clean-up itself on a loaded machine. */
const MARGIN_MS = 4000;
const VOXGATE_NUMBER = '+14155550100';
const CALLEE = '+14155550177';
const CONVERSATION_CALLEE = '+14155550178';
const auth = { authorization: `Bearer ${CLUSTER_API_TOKEN}` };

describe.skipIf(clusterUnavailable)('calls of a lost instance', () => {
  let fx: ClusterFixture | undefined;
  let lost: ChildClusterGateway | undefined;
  let survivor: Gateway | undefined;
  let receiver: CallbackReceiver | undefined;
  afterEach(async () => {
    await lost?.kill();
    await survivor?.close();
    await receiver?.close();
    await fx?.cleanUp();
    fx = lost = survivor = receiver = undefined;
  });

  async function startCluster() {
    fx = await clusterFixture(TIMING);
    lost = await spawnClusterGateway(await fx.instance('gw-a'));
    survivor = await startGateway(clusterGatewayConfig(await fx.instance('gw-b')), { logger: silentLogger() });
    fx.sim.addNumber(VOXGATE_NUMBER, { answerUrl: `${lost.url}/plivo/answer`, hangupUrl: `${lost.url}/plivo/hangup` });
    return { fx, lost, survivor };
  }

  it('a SIGKILLed instance: its calls are ended instance-lost within the bound and its outbound call reports its end', async () => {
    const { fx, lost, survivor } = await startCluster();
    receiver = await CallbackReceiver.start();
    // Rings a second: the dialer's ringing and answered row updates are not ordered against each other.
    fx.sim.addCallee(CALLEE, { answerAfterSec: 1, hangupAfterSec: 600, recordHeard: false });
    const inbound = [0, 1].map(() => fx.sim.dialInbound({ from: '+14155550123', to: VOXGATE_NUMBER, script: { hangupAfterSec: 600, recordHeard: false } }));
    const placed = await fetch(`${lost.url}/api/v1/actions/dialout`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ bot: 'held', target: CALLEE, caller: VOXGATE_NUMBER, notifyUrl: receiver.url() }) });
    expect(placed.status).toBeLessThan(300);
    const { conversationId } = (await placed.json()) as { conversationId: string };
    // A conversation-API call whose OnCompletion callback the dead instance also owes.
    fx.sim.addCallee(CONVERSATION_CALLEE, { answerAfterSec: 1, hangupAfterSec: 600, recordHeard: false });
    const conversation = await fetch(`${lost.url}/api/v1/calls`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ from: VOXGATE_NUMBER, to: { phone: CONVERSATION_CALLEE }, dialPlan: { verbs: [{ type: 'SAY', message: { text: 'Hello' } }, { type: 'PAUSE', duration: 300 }] }, callback: { url: receiver.url('/conversation'), strategy: 'OnCompletion' } }),
    });
    expect(conversation.status).toBeLessThan(300);
    const conversationCall = ((await conversation.json()) as { conversationId: string }).conversationId;
    const callIds = await lost.greeted(4);
    expect(callIds).toContain(conversationId);
    expect(callIds).toContain(conversationCall);
    await until('the outbound call recorded as answered', async () => (await survivor.store.outboundCalls.get(conversationId))?.status === 'answered');

    // The survivor's live list shows the other instance's calls while it lives.
    const live = (await (await fetch(`${survivor.url}/api/v1/calls/live`, { headers: auth })).json()) as { calls: { id: string; instance: string }[] };
    expect(live.calls.map((c) => c.id).sort()).toEqual([...callIds].sort());
    expect(new Set(live.calls.map((c) => c.instance))).toEqual(new Set([`gw-a-${process.pid}`]));

    const killedAt = Date.now();
    await lost.kill();
    for (const callId of callIds) {
      const record = await until(`call ${callId} ended by the survivor`, async () => {
        const r = await survivor.store.calls.get(callId);
        return r?.endedAt !== null ? r : undefined;
      });
      expect(record).toMatchObject({ hangupCause: 'instance-lost', hangupSide: 'gateway', endReason: 'instance-lost' });
    }
    expect(Date.now() - killedAt).toBeLessThanOrEqual(TIMING.leaseMs + TIMING.heartbeatMs + MARGIN_MS);

    // The dialout notification the dead instance owed: completed, saying why.
    const ended = await until('the outbound call completed notification', () => receiver!.requests.find((r) => r.path === '/voxgate/status' && (JSON.parse(r.body) as { status: string }).status === 'completed'));
    expect(JSON.parse(ended.body)).toMatchObject({ conversationId, status: 'completed', reasonCode: 'error', reason: expect.stringContaining('instance-lost') });
    expect(await survivor.store.outboundCalls.get(conversationId)).toMatchObject({ status: 'completed', reasonCode: 'error' });
    // And the conversation API's outcome, in its own format, once.
    const outcome = await until('the conversation-API OnCompletion callback', () => receiver!.requests.find((r) => r.path === '/conversation'));
    expect(JSON.parse(outcome.body)).toMatchObject({ conversationId: conversationCall, to: CONVERSATION_CALLEE, status: 'completed', endReason: 'instance-lost', reasonCode: 'error' });
    expect(receiver.requests.filter((r) => r.path === '/conversation')).toHaveLength(1);

    // Gone from the service's live list; the simulator's calls are over (their streams died with the instance).
    expect(((await (await fetch(`${survivor.url}/api/v1/calls/live`, { headers: auth })).json()) as { calls: unknown[] }).calls).toEqual([]);
    await Promise.all(inbound.map((c) => c.ended));
  }, 90_000);

  it('a frozen instance (its sockets still open): the survivor hangs its calls up at the carrier', async () => {
    const { fx, lost, survivor } = await startCluster();
    const call = fx.sim.dialInbound({ from: '+14155550123', to: VOXGATE_NUMBER, script: { hangupAfterSec: 600, recordHeard: false } });
    const [callId] = await lost.greeted(1);

    lost.child.kill('SIGSTOP');
    await call.ended;
    expect(call.hangupSource).toBe('API Request');
    const record = await until('the frozen instance call ended', async () => {
      const r = await survivor.store.calls.get(callId);
      return r?.endedAt !== null ? r : undefined;
    });
    expect(record).toMatchObject({ hangupCause: 'instance-lost', endReason: 'instance-lost' });
  }, 90_000);
});
