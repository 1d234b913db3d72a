import { beforeEach, describe, expect, it } from 'vitest';
import type { PartyScript } from '../../src/sim/virtual-party.js';
import type { CapturedRequest } from '../support/sim-app-server.js';
import { API, rest, signedByTwilio, twilioTestbed } from './twilio-harness.js';

describe('Twilio outbound calls that never connect', () => {
  const bed = twilioTestbed();
  beforeEach(() => {
    bed.app.route('/status', '').route('/voice', '<Response><Hangup/></Response>');
  });

  /** Places a call to a callee with `script` (or to a number nobody answers at) and lets it start. */
  async function dial(to: string, script: PartyScript | undefined): Promise<string> {
    if (script) bed.sim.addCallee(to, script);
    const res = await rest(bed.base, `${API}/Calls.json`, {
      To: to,
      From: '+14155550000',
      Url: bed.app.url('/voice'),
      StatusCallback: bed.app.url('/status'),
      StatusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
      Timeout: '30',
    });
    expect(res.status).toBe(201);
    bed.clock.advance(0);
    return res.body.sid as string;
  }

  const statusesOf = (sid: string) => bed.app.requests.filter((r) => r.path === '/status' && r.params.CallSid === sid);
  const final = (sid: string) => bed.app.waitFor('/status', (r) => r.params.CallSid === sid && !['initiated', 'ringing', 'in-progress'].includes(r.params.CallStatus));

  /** Common to every failed attempt: never answered, nothing billed, the voice URL never fetched. */
  function expectUnanswered(completed: CapturedRequest): void {
    expect(completed.params).toMatchObject({ CallDuration: '0', Duration: '0', Direction: 'outbound-api', To: completed.params.To });
    expect(signedByTwilio(completed)).toBe(true);
    expect(bed.app.requests.some((r) => r.path === '/voice')).toBe(false);
  }

  it.each([
    { name: 'busy', script: { busy: true }, status: 'busy', sip: '486', endedBy: 'callee', reason: 'the line is busy' },
    { name: 'unreachable', script: { unreachable: true }, status: 'failed', sip: '480', endedBy: 'carrier', reason: 'the number is out of service' },
  ])('$name: status $status (SIP $sip) without ringing', async ({ script, status, sip, endedBy, reason }) => {
    const sid = await dial('+14155550401', script);
    bed.clock.advance(50);
    const completed = await final(sid);
    expect(completed.params).toMatchObject({ CallStatus: status, SipResponseCode: sip });
    expectUnanswered(completed);
    expect(statusesOf(sid).map((r) => r.params.CallStatus)).toEqual(['initiated', status]);
    expect(await bed.sim.getCall(sid)!.ended).toMatchObject({ status, endedBy, reason });
  });

  it('declined: rings, then Twilio reports busy, told apart from a busy line by SipResponseCode 603', async () => {
    const sid = await dial('+14155550402', { declines: true, answerAfterSec: 3 });
    await bed.app.waitFor('/status', (r) => r.params.CallSid === sid && r.params.CallStatus === 'ringing');
    bed.clock.advance(2999);
    expect(bed.sim.getCall(sid)!.isEnded).toBe(false);
    bed.clock.advance(1);
    const completed = await final(sid);
    expect(completed.params).toMatchObject({ CallStatus: 'busy', SipResponseCode: '603' });
    expectUnanswered(completed);
    expect(statusesOf(sid).map((r) => r.params.CallStatus)).toEqual(['initiated', 'ringing', 'busy']);
    const hangup = bed.sim.getCall(sid)!.timeline.find((e) => e.type === 'hangup');
    expect(hangup).toMatchObject({ cause: 'the callee declined', causeCode: 603, source: 'callee' });
  });

  it('no answer: rings until Timeout, then no-answer (SIP 487)', async () => {
    const sid = await dial('+14155550403', { neverAnswer: true });
    await bed.app.waitFor('/status', (r) => r.params.CallSid === sid && r.params.CallStatus === 'ringing');
    bed.clock.advance(29_999);
    expect(statusesOf(sid)).toHaveLength(2);
    bed.clock.advance(1);
    const completed = await final(sid);
    expect(completed.params).toMatchObject({ CallStatus: 'no-answer', SipResponseCode: '487' });
    expectUnanswered(completed);
  });

  it('a callee slower than Timeout is a no-answer too', async () => {
    const sid = await dial('+14155550404', { answerAfterSec: 45 });
    await bed.app.waitFor('/status', (r) => r.params.CallSid === sid && r.params.CallStatus === 'ringing');
    bed.clock.advance(30_000);
    expect((await final(sid)).params.CallStatus).toBe('no-answer');
  });

  it('a number where no virtual party answers: failed (SIP 404)', async () => {
    const sid = await dial('+19999999999', undefined);
    bed.clock.advance(50);
    const completed = await final(sid);
    expect(completed.params).toMatchObject({ CallStatus: 'failed', SipResponseCode: '404', To: '+19999999999' });
    expectUnanswered(completed);
    const resource = await rest(bed.base, `${API}/Calls/${sid}.json`);
    expect(resource.body).toMatchObject({ status: 'failed', duration: '0' });
  });

  it('an inbound call to a number nobody configured fails without any webhook', async () => {
    const call = bed.sim.dialInbound({ from: '+14155551234', to: '+18005550199', script: {} });
    expect(await call.ended).toMatchObject({ status: 'failed', sipResponseCode: 404 });
    expect(bed.app.requests).toHaveLength(0);
  });
});
