import { afterEach, describe, expect, it } from 'vitest';
import { seed002EscalationPlan } from '../../src/bots/dial-plan/index.js';
import type { OutboundStatusEvent } from '../../src/events/outbound-events.js';
import { analyseHeard } from '../support/baresip-audio.js';
import { Baresip, BARESIP_AVAILABLE, BARESIP_SKIP_REASON } from '../support/baresip.js';
import { offerFlow, promptPlayed, spokenMs, statusesOf } from '../support/e2e-fixtures.js';
import { SIP_NUMBER, startSipE2e, type SipE2eSetup } from '../support/e2e-sip.js';

if (!BARESIP_AVAILABLE) console.warn(`skipping the SIP tests with a real phone: ${BARESIP_SKIP_REASON}`);

const TOKEN = 'sip-outbound-token';
const CALLEE = '+14155550301';

/** A gateway whose SIP trunk sends its INVITEs to `phone` (one trunk, one far end, as a PBX would be). */
function gatewayCalling(phone: Baresip, extra: Record<string, unknown> = {}): Promise<SipE2eSetup> {
  return startSipE2e(
    { api: { token: TOKEN }, dialer: { ringTimeoutSec: 4, callsPerSecond: 5 }, bots: [{ name: 'offer', type: 'flow', flow: offerFlow }], routes: [{ number: '*', bot: 'offer' }], ...extra },
    { trunks: [{ name: 'pbx', inbound: { from: ['127.0.0.0/8'] }, outbound: { proxy: `sip:127.0.0.1:${phone.sipPort}` } }] },
  );
}

async function dialout(e2e: SipE2eSetup, target: string): Promise<OutboundStatusEvent[]> {
  const placed: { id?: string } = {};
  const statuses = statusesOf(e2e.gateway, () => placed.id);
  const res = await fetch(`${e2e.gateway.url}/api/v1/actions/dialout`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ bot: 'offer', target, caller: SIP_NUMBER }),
  });
  expect(res.status).toBe(200);
  placed.id = ((await res.json()) as { conversationId: string }).conversationId;
  return statuses;
}

describe.skipIf(!BARESIP_AVAILABLE)(`Voxgate calls a real SIP phone (baresip)${BARESIP_AVAILABLE ? '' : ' (skipped: baresip not installed)'}`, () => {
  let e2e: SipE2eSetup | undefined;
  afterEach(async () => {
    await Baresip.stopAll();
    await e2e?.close();
    e2e = undefined;
  });

  it('a phone that answers: initiated, ringing, answered, its key accepts the offer, completed; the record is SIP outbound', async () => {
    const phone = await Baresip.start({ name: 'callee', account: { user: CALLEE }, autoAnswer: true, record: true });
    e2e = await gatewayCalling(phone);
    const offer = 'A ticket is waiting. Press 1 to accept.';
    const prompt = spokenMs(offer);
    const offered = promptPlayed(e2e.gateway, offer);
    const seen = dialout(e2e, CALLEE);
    await phone.waitForEvent('CALL_ESTABLISHED');
    // The whole offer has gone out (the recording's length alone also counts the silence before it).
    await offered;
    await phone.waitForHeardMs((await prompt) + 300);
    await phone.sendDtmf('1');
    const statuses = await seen;
    expect(statuses.map((s) => s.status)).toEqual(['initiated', 'ringing', 'answered', 'completed']);
    expect(statuses.every((s) => s.carrier === 'sip')).toBe(true);
    expect(statuses.at(-1)).toMatchObject({ dtmf: '1', endReason: 'bot-hangup' });
    await phone.waitForEvent('CALL_CLOSED');
    const heard = await analyseHeard((await phone.recordings())[0]);
    expect(heard.audibleMs).toBeGreaterThan(1500);
    await e2e.gateway.records.flush();
    expect(await e2e.gateway.store.calls.get(statuses[0].conversationId)).toMatchObject({ carrier: 'sip', direction: 'outbound', to: CALLEE, bot: 'offer', endReason: 'bot-hangup' });
  });

  it('a phone that rejects (486) fails with reason busy and still leaves a call record', async () => {
    const phone = await Baresip.start({ name: 'busy', account: { user: CALLEE }, rejectWith: 486 });
    e2e = await gatewayCalling(phone);
    const statuses = await dialout(e2e, CALLEE);
    expect(statuses.at(-1)).toMatchObject({ status: 'failed', reasonCode: 'busy', carrier: 'sip' });
    await e2e.gateway.records.flush();
    expect(await e2e.gateway.store.calls.get(statuses[0].conversationId)).toMatchObject({ carrier: 'sip', direction: 'outbound', endReason: 'busy' });
  });

  it('a phone that rings and nobody answers fails with no-answer after the ring timeout (CANCEL)', async () => {
    const phone = await Baresip.start({ name: 'away', account: { user: CALLEE }, sipTrace: true });
    e2e = await gatewayCalling(phone);
    const statuses = await dialout(e2e, CALLEE);
    expect(statuses.at(-1)).toMatchObject({ status: 'failed', reasonCode: 'no-answer' });
    await phone.waitForEvent('CALL_CLOSED');
    // The phone rang and was cancelled: it saw a CANCEL, never an answer.
    expect(phone.log).toMatch(/CANCEL sip:/);
    expect(phone.events.map((e) => e.type)).not.toContain('CALL_ESTABLISHED');
  });

  it('refuses answering-machine detection up front (400 naming the field): SIP has none', async () => {
    const phone = await Baresip.start({ name: 'callee', account: { user: CALLEE } });
    e2e = await gatewayCalling(phone);
    const res = await fetch(`${e2e.gateway.url}/api/v1/actions/dialout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ bot: 'offer', target: CALLEE, caller: SIP_NUMBER, machineDetection: 'detect' }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/^machineDetection: answering-machine detection is not available on SIP calls/);
    expect(phone.events.map((e) => e.type)).not.toContain('CALL_INCOMING');
  });

  it('a campaign over SIP: the contact answers and accepts by key', async () => {
    const phone = await Baresip.start({ name: 'carol', account: { user: CALLEE }, autoAnswer: true, record: true });
    e2e = await gatewayCalling(phone);
    const gateway = e2e.gateway;
    const done = new Promise<string>((resolve) => gateway.campaigns.onEvent((e) => e.type === 'campaign.status' && e.status === 'completed' && resolve(e.campaignId)));
    const ticket = 'Ticket 9.';
    const res = await fetch(`${gateway.url}/api/v1/campaigns/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        campaign: { name: 'SIP escalation', caller: SIP_NUMBER, carrier: 'sip', escalation: 'sequential', attemptsPerContact: 1, dialPlan: seed002EscalationPlan(ticket, { waitSeconds: 3 }) },
        contactsCsv: `phone,name\n${CALLEE},Carol\n`,
      }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await phone.waitForEvent('CALL_ESTABLISHED');
    await phone.waitForHeardMs((await spokenMs(ticket)) + 1200);
    await phone.sendDtmf('1');
    expect(await done).toBe(id);
    const progress = (await (await fetch(`${gateway.url}/api/v1/campaigns/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as Record<string, unknown>;
    expect(progress).toMatchObject({ status: 'completed', result: 'accepted', acceptedBy: { name: 'Carol' } });
  });
});
