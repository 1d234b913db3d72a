import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboundStatusEvent } from '../../src/events/outbound-events.js';
import { SipSimulator, type SipSimCall } from '../../src/sim/sip/sip-simulator.js';
import { GREETING, menuFlow, offerFlow, spokenMs, statusesOf } from '../support/e2e-fixtures.js';
import { SIP_NUMBER, startSipE2e, type SipE2eSetup } from '../support/e2e-sip.js';
import { eventsOf } from './sip-harness.js';

/** The gateway with its SIP carrier on loopback and the simulator as its one trunk, both ways; real time (the gateway's own clock). */
describe('SIP simulator against the gateway: a scripted caller dials Voxgate, and virtual callees answer the calls Voxgate places', () => {
  let e2e: SipE2eSetup;
  let sim: SipSimulator;
  beforeAll(async () => {
    sim = new SipSimulator({ rtpPorts: { min: 46000, max: 46999 } });
    const { port } = await sim.listen();
    e2e = await startSipE2e(
      {
        bots: [
          { name: 'menu-bot', type: 'flow', flow: menuFlow },
          { name: 'offer', type: 'flow', flow: offerFlow },
        ],
        routes: [{ number: SIP_NUMBER, bot: 'menu-bot' }],
        dialer: { ringTimeoutSec: 3 },
      },
      { trunks: [{ name: 'simulator', inbound: { from: ['127.0.0.1/32'] }, outbound: { proxy: `sip:127.0.0.1:${port}` } }] },
    );
    sim.addNumber(SIP_NUMBER, { uri: e2e.sip.webhookUrls().SIP });
  });
  afterAll(async () => {
    await sim?.close();
    await e2e?.close();
  });

  it('the caller hears the whole greeting, presses 2 once it ends (RFC 4733), hears the answer, and Voxgate\'s BYE ends the call; the record has the caller, the key and the Call-ID', async () => {
    const ended = e2e.nextCallEnded();
    const call = sim.dialInbound({ from: '+14155550123', to: SIP_NUMBER, script: { hangupAfterSec: 60 }, callerName: 'Alice' });
    // Pressed on what the caller heard, not on a clock: once the greeting is over.
    call.once('heard-audio-stop', () => call.party.press('2', 200));
    const result = await call.ended;
    expect(result).toMatchObject({ status: 'completed', sipStatus: 200, endedBy: 'voxgate', reason: 'Voxgate hung up (BYE)', codec: 'PCMU' });
    expect(eventsOf(call, 'key').map((k) => [k.digit, k.consumed])).toEqual([['2', true]]);
    const heard = eventsOf(call, 'heard-audio-stop');
    expect(heard).toHaveLength(2);
    // The greeting was heard in full (within the jitter buffer's rounding), before the key.
    expect(heard[0].durationMs).toBeGreaterThan((await spokenMs(GREETING)) - 300);
    expect(heard[1].atMs).toBeGreaterThan(eventsOf(call, 'key')[0].atMs);
    expect(result.rtp!.packetsReceived).toBeGreaterThan(100);

    expect(await ended).toMatchObject({ reason: 'bot-hangup', side: 'gateway' });
    await e2e.gateway.records.flush();
    const record = await e2e.gateway.store.calls.getByCarrierCallId(call.sipCallId, 'sip');
    expect(record).toMatchObject({ carrier: 'sip', direction: 'inbound', from: '+14155550123', to: SIP_NUMBER, bot: 'menu-bot', endReason: 'bot-hangup' });
    expect((await e2e.gateway.store.dtmf.listForCall(record!.id)).map((d) => d.digit)).toEqual(['2']);
  }, 30_000);

  it('a caller who hangs up after 2 s ends the call as the caller', async () => {
    const ended = e2e.nextCallEnded();
    const call = sim.dialInbound({ from: '+14155550124', to: SIP_NUMBER, script: { hangupAfterSec: 2 } });
    expect(await call.ended).toMatchObject({ status: 'completed', endedBy: 'party', durationSec: 2 });
    expect(await ended).toMatchObject({ side: 'caller', reason: 'caller-hangup' });
  }, 20_000);

  async function dialout(target: string): Promise<OutboundStatusEvent[]> {
    const placed: { id?: string } = {};
    const statuses = statusesOf(e2e.gateway, () => placed.id);
    placed.id = (await e2e.gateway.dialer.place({ bot: 'offer', target, caller: SIP_NUMBER, carrier: 'sip', source: 'dialout' })).conversationId;
    return statuses;
  }

  it('Voxgate calls a callee who answers and presses 1: ringing, answered, completed with the key, and the callee heard the offer', async () => {
    sim.addCallee('+14155550201', { answerAfterSec: 0.3, keys: [{ atSec: 2.5, digits: '1' }] });
    const called = new Promise<SipSimCall>((resolve) => sim.once('call', resolve));
    const seen = await dialout('+14155550201');
    expect(seen.map((s) => s.status)).toEqual(['initiated', 'ringing', 'answered', 'completed']);
    expect(seen.at(-1)).toMatchObject({ carrier: 'sip', dtmf: '1', endReason: 'bot-hangup' });
    const callee = await called;
    expect(callee.role).toBe('callee');
    expect(await callee.ended).toMatchObject({ status: 'completed', endedBy: 'voxgate', codec: 'PCMU' });
    expect(eventsOf(callee, 'heard-audio-start').length).toBeGreaterThan(0);
    expect(callee.from).toBe(SIP_NUMBER);
  }, 20_000);

  it.each([
    { number: '+14155550302', script: { busy: true }, reasonCode: 'busy' },
    { number: '+14155550303', script: { declines: true, answerAfterSec: 0.3 }, reasonCode: 'declined' },
    { number: '+14155550304', script: { neverAnswer: true }, reasonCode: 'no-answer' },
  ])('Voxgate calls a callee with $script: failed, reason $reasonCode', async ({ number, script, reasonCode }) => {
    sim.addCallee(number, script);
    const seen = await dialout(number);
    expect(seen.at(-1)).toMatchObject({ status: 'failed', reasonCode, carrier: 'sip' });
  }, 20_000);
});
