import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app/gateway.js';
import type { OutboundStatusEvent } from '../../src/events/outbound-events.js';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import { TwilioSimulator } from '../../src/sim/twilio/twilio-simulator.js';
import { heardSegments, menuFlow, nextCallEnded, offerFlow, statusesOf } from '../support/e2e-fixtures.js';
import { clusterUnavailable, startCluster, type TestCluster } from './cluster-harness.js';

const PLIVO_NUMBER = '+14155550100';
const TWILIO_NUMBER = '+14155550190';
const API_TOKEN = 'cluster-dialout-token';
const ACCOUNT_SID = `AC${'c1'.padEnd(32, '0')}`;

async function dialout(gateway: Gateway, carrier: string, carrierNumber: string, target: string): Promise<OutboundStatusEvent[]> {
  const placed: { id?: string } = {};
  const statuses = statusesOf(gateway, () => placed.id);
  const res = await fetch(`${gateway.url}/api/v1/actions/dialout`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ bot: 'offer', target, caller: carrierNumber, carrier }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  placed.id = ((await res.json()) as { conversationId: string }).conversationId;
  return statuses;
}

describe.skipIf(clusterUnavailable)('calls whose callbacks and streams land on an instance that does not run them', () => {
  let plivo: PlivoSimulator;
  let twilio: TwilioSimulator;
  let cluster: TestCluster;
  beforeAll(async () => {
    plivo = new PlivoSimulator({ authId: 'MACLUSTEROUT', authToken: 'cluster-plivo-token' });
    twilio = new TwilioSimulator({ accountSid: ACCOUNT_SID, authToken: 'cluster-twilio-token', outboundCallsPerSecond: 10, ticker: plivo.ticker });
    const plivoApi = (await plivo.listen()).restBaseUrl;
    const twilioApi = (await twilio.listen()).restBaseUrl;
    cluster = await startCluster({
      instances: ['vg-a', 'vg-b'],
      config: {
        api: { token: API_TOKEN },
        carriers: {
          plivo: { authId: 'MACLUSTEROUT', authToken: 'cluster-plivo-token', apiBaseUrl: plivoApi },
          twilio: { accountSid: ACCOUNT_SID, authToken: 'cluster-twilio-token', apiBaseUrl: twilioApi },
        },
        bots: [
          { name: 'offer', type: 'flow', flow: offerFlow },
          { name: 'menu-bot', type: 'flow', flow: menuFlow },
        ],
        routes: [
          { number: TWILIO_NUMBER, bot: 'menu-bot' },
          { number: '*', bot: 'offer' },
        ],
      },
    });
    twilio.addNumber(TWILIO_NUMBER, { voiceUrl: `${cluster.balancer.url}/twilio/voice`, statusCallback: `${cluster.balancer.url}/twilio/status` });
  });
  afterAll(async () => {
    await plivo?.close();
    await twilio?.close();
    await cluster?.close();
  });

  for (const carrier of ['plivo', 'twilio'] as const) {
    it(`${carrier}: an outbound call's answer callback on the wrong instance reaches the dialer's bot, with every status`, async () => {
      const [a, b] = cluster.gateways;
      // The balancer sends every callback and stream to vg-b; vg-a placed the call.
      cluster.balancer.pick = () => 1;
      const startedOnB: string[] = [];
      const offB = b.bus.subscribe('call.started', (e) => void startedOnB.push(e.callId));
      const callee = carrier === 'plivo' ? '+14155550201' : '+14155550202';
      (carrier === 'plivo' ? plivo : twilio).addCallee(callee, { answerAfterSec: 0.2, keys: [{ atSec: 1.5, digits: '1' }] });
      const seen = await dialout(a, carrier, carrier === 'plivo' ? PLIVO_NUMBER : TWILIO_NUMBER, `tel:${callee}`);
      offB();

      expect(seen.map((s) => s.status)).toEqual(['initiated', 'ringing', 'answered', 'completed']);
      expect(seen.at(-1)).toMatchObject({ carrier, dtmf: '1', endReason: 'bot-hangup' });
      await a.records.flush();
      expect(await a.store.calls.get(seen[0].conversationId)).toMatchObject({ carrier, direction: 'outbound', bot: 'offer', endReason: 'bot-hangup' });
      expect(startedOnB).toEqual([]);
    });
  }

  it('twilio: an inbound call answered by one instance converses although its stream and status callback land on another', async () => {
    const [a] = cluster.gateways;
    cluster.balancer.pick = (req) => (req.url?.startsWith('/twilio/voice') ? 0 : 1);
    const ended = nextCallEnded(a);
    const call = twilio.dialInbound({ from: '+14155550123', to: TWILIO_NUMBER, script: { hangupAfterSec: 30 } });
    call.once('heard-audio-stop', () => call.party.press('2'));
    const result = await call.ended;
    const end = await ended;

    expect(heardSegments(call.timeline)).toHaveLength(2);
    expect(result.status).toBe('completed');
    expect(end).toMatchObject({ reason: 'bot-hangup', cause: 'Completed', durationSec: result.durationSec });
    await a.records.flush();
    expect(await a.store.calls.getByCarrierCallId(call.callSid, 'twilio')).toMatchObject({ bot: 'menu-bot', hangupCause: 'Completed', durationMs: result.durationSec * 1000 });
  });
});
