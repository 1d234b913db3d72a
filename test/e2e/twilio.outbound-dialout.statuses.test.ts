import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboundStatusEvent } from '../../src/events/outbound-events.js';
import { TWILIO_NUMBER, startTwilioE2e, type TwilioE2eSetup } from '../support/e2e-twilio.js';
import { offerFlow as flow, statusesOf } from '../support/e2e-fixtures.js';

const API_TOKEN = 'twilio-dialout-token';

async function dialout(e2e: TwilioE2eSetup, target: string, extra: Record<string, unknown> = {}): Promise<OutboundStatusEvent[]> {
  const placed: { id?: string } = {};
  const statuses = statusesOf(e2e.gateway, () => placed.id);
  const res = await fetch(`${e2e.gateway.url}/api/v1/actions/dialout`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ bot: 'offer', target, caller: TWILIO_NUMBER, ...extra }),
  });
  expect(res.status).toBe(200);
  placed.id = ((await res.json()) as { conversationId: string }).conversationId;
  return statuses;
}

describe('outbound calls placed through Twilio (simulator), end to end, with the same statuses and reasons as over Plivo', () => {
  let e2e: TwilioE2eSetup;
  beforeAll(async () => {
    e2e = await startTwilioE2e({ api: { token: API_TOKEN }, dialer: { ringTimeoutSec: 3 }, bots: [{ name: 'offer', type: 'flow', flow }], routes: [{ number: '*', bot: 'offer' }] });
  });
  afterAll(() => e2e?.close());

  it('an answered call: initiated, ringing, answered, completed with the digits the callee pressed, recorded as Twilio', async () => {
    e2e.twilio.addCallee('+14155550201', { answerAfterSec: 0.2, keys: [{ atSec: 1, digits: '1' }] });
    const seen = await dialout(e2e, 'tel:+14155550201', { metadata: { ticket: 'T-1' } });
    expect(seen.map((s) => s.status)).toEqual(['initiated', 'ringing', 'answered', 'completed']);
    expect(seen.every((s) => s.carrier === 'twilio')).toBe(true);
    expect(seen.at(-1)).toMatchObject({ dtmf: '1', endReason: 'bot-hangup' });
    const id = seen[0].conversationId;
    await e2e.gateway.records.flush();
    expect(await e2e.gateway.store.calls.get(id)).toMatchObject({ carrier: 'twilio', direction: 'outbound', to: '+14155550201', bot: 'offer', endReason: 'bot-hangup' });
    expect(await e2e.gateway.store.outboundCalls.get(id)).toMatchObject({ status: 'completed', target: '+14155550201', carrierRequestId: expect.stringMatching(/^CA[0-9a-f]{32}$/) });
  });

  it('a busy line fails with reason busy and still leaves a call record', async () => {
    e2e.twilio.addCallee('+14155550202', { busy: true });
    const seen = await dialout(e2e, '+14155550202');
    expect(seen.at(-1)).toMatchObject({ status: 'failed', reasonCode: 'busy', carrier: 'twilio' });
    await e2e.gateway.records.flush();
    expect(await e2e.gateway.store.calls.get(seen[0].conversationId)).toMatchObject({ carrier: 'twilio', direction: 'outbound', endReason: 'busy' });
  });

  it('a callee who declines fails with reason declined (Twilio says busy, SIP 603)', async () => {
    e2e.twilio.addCallee('+14155550203', { declines: true, answerAfterSec: 0.3 });
    expect((await dialout(e2e, '+14155550203')).at(-1)).toMatchObject({ status: 'failed', reasonCode: 'declined' });
  });

  it('nobody answering fails with reason no-answer after the ring timeout', async () => {
    e2e.twilio.addCallee('+14155550204', { neverAnswer: true });
    expect((await dialout(e2e, '+14155550204')).at(-1)).toMatchObject({ status: 'failed', reasonCode: 'no-answer' });
  });

  it('machineDetection disconnect: an answering machine ends the call as failed, machine-detected (Voxgate hangs up; Twilio never does)', async () => {
    e2e.twilio.addCallee('+14155550205', { machine: true, answerAfterSec: 0.2 });
    const seen = await dialout(e2e, '+14155550205', { machineDetection: 'disconnect' });
    expect(seen.at(-1)).toMatchObject({ status: 'failed', reasonCode: 'machine-detected' });
  }, 20_000);

  it('machineDetection detect: the call goes on and completes, marked machine-detected', async () => {
    e2e.twilio.addCallee('+14155550206', { machine: true, answerAfterSec: 0.2, hangupAfterSec: 8 });
    const seen = await dialout(e2e, '+14155550206', { machineDetection: 'detect' });
    expect(seen.map((x) => x.status)).toContain('answered');
    expect(seen.at(-1)).toMatchObject({ status: 'completed', reasonCode: 'machine-detected' });
  }, 20_000);
});
