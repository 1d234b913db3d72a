import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import { nextCallEnded } from '../support/e2e-fixtures.js';
import { WebhookBrain } from '../support/webhook-brain.js';
import { clusterUnavailable, startCluster, type TestCluster } from './cluster-harness.js';

const NUMBER = '+14155550100';

describe.skipIf(clusterUnavailable)("a webhook bot's replies posted to an instance that does not run the call", () => {
  let sim: PlivoSimulator;
  let brain: WebhookBrain;
  let cluster: TestCluster;
  beforeAll(async () => {
    brain = await new WebhookBrain({ token: 'brain-token' }).listen();
    sim = new PlivoSimulator({ authId: 'MACLUSTERBRAIN', authToken: 'cluster-brain-plivo' });
    const { restBaseUrl } = await sim.listen();
    cluster = await startCluster({
      instances: ['vg-a', 'vg-b'],
      config: {
        carriers: { plivo: { authId: 'MACLUSTERBRAIN', authToken: 'cluster-brain-plivo', apiBaseUrl: restBaseUrl } },
        bots: [{ name: 'brain', type: 'webhook', webhook: { url: brain.url, token: 'brain-token' } }],
        routes: [{ number: NUMBER, bot: 'brain' }],
        webhook: { responseToken: 'reply-token' },
      },
    });
    sim.addNumber(NUMBER, { answerUrl: `${cluster.balancer.url}/plivo/answer`, hangupUrl: `${cluster.balancer.url}/plivo/hangup` });
    cluster.balancer.pick = () => 0;
  });
  afterAll(async () => {
    await sim?.close();
    await cluster?.close();
    await brain?.close();
  });

  it('are forwarded to the owner and answered once it took them; the reply URL names the owner', async () => {
    const [a, b] = cluster.gateways;
    brain.answer = (req) => (req.type === 'start' ? { body: { replies: [{ type: 'text', text: 'Welcome.', audio_url: brain.audioUrl('welcome') }] } } : { body: {} });
    const ended = nextCallEnded(a);
    const call = sim.dialInbound({ from: '+14155550123', to: NUMBER, script: { hangupAfterSec: 30 } });
    const start = await brain.request('start');
    const responseUrl = start.body.response_url as string;
    expect(responseUrl).toMatch(new RegExp(`^${cluster.balancer.url}/webhook/response\\?vxr=vg-a\\.[A-Za-z0-9_-]{22}$`));
    const onB = `${b.url}/webhook/response`;
    call.once('heard-audio-stop', () => {
      void (async () => {
        // Without the token: vg-b finds the owner in the call directory.
        expect((await brain.postReply(onB, { type: 'text', call_id: start.call_id, text: 'Goodbye.', audio_url: brain.audioUrl('goodbye') }, 'reply-token')).status).toBe(200);
        // With it (the URL the brain was given, landing on vg-b): vg-b sends it where the token says.
        expect((await brain.postReply(`${onB}${new URL(responseUrl).search}`, { type: 'hangup', call_id: start.call_id, reason: 'done' }, 'reply-token')).status).toBe(200);
      })();
    });
    const result = await call.ended;
    const end = await ended;

    expect(result.cause).toBe('Normal Hangup');
    expect(end).toMatchObject({ reason: 'bot-hangup', side: 'gateway' });
    expect(brain.audioFetches).toEqual(['/audio/welcome.wav', '/audio/goodbye.wav']);
    // The owner's own checks still apply to a forwarded reply (its token, then the call).
    expect((await brain.postReply(onB, { type: 'text', call_id: 'no-such-call', text: 'hi' }, 'reply-token')).status).toBe(404);
    expect((await brain.postReply(onB, { type: 'text', call_id: start.call_id, text: 'late' }, 'wrong-token')).status).toBe(401);
  });
});
