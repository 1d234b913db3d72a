import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PartyScript } from '../../src/sim/virtual-party.js';
import { TwilioSimulator } from '../../src/sim/twilio/twilio-simulator.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakePlivoApp, type CapturedRequest } from '../support/sim-app-server.js';
import { ACCOUNT_SID, API, AUTH_TOKEN, rest, signedByTwilio } from './twilio-harness.js';

describe('Twilio outbound calls that never connect', () => {
  let clock: FakeClock;
  let sim: TwilioSimulator;
  let app: FakePlivoApp;
  let base: string;

  beforeEach(async () => {
    clock = new FakeClock();
    sim = new TwilioSimulator({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, clock });
    base = (await sim.listen()).restBaseUrl;
    app = new FakePlivoApp();
    await app.listen();
    app.route('/status', '').route('/voice', '<Response><Hangup/></Response>');
  });
  afterEach(async () => {
    await sim.close();
    await app.close();
  });

  /** Places a call to a callee with `script` (or to a number nobody answers at) and lets it start. */
  async function dial(to: string, script: PartyScript | undefined): Promise<string> {
    if (script) sim.addCallee(to, script);
    const res = await rest(base, `${API}/Calls.json`, {
      To: to,
      From: '+14155550000',
      Url: app.url('/voice'),
      StatusCallback: app.url('/status'),
      StatusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
      Timeout: '30',
    });
    expect(res.status).toBe(201);
    clock.advance(0);
    return res.body.sid as string;
  }

  const statusesOf = (sid: string) => app.requests.filter((r) => r.path === '/status' && r.params.CallSid === sid);
  const final = (sid: string) => app.waitFor('/status', (r) => r.params.CallSid === sid && !['initiated', 'ringing', 'in-progress'].includes(r.params.CallStatus));

  /** Common to every failed attempt: never answered, nothing billed, the voice URL never fetched. */
  function expectUnanswered(completed: CapturedRequest): void {
    expect(completed.params).toMatchObject({ CallDuration: '0', Duration: '0', Direction: 'outbound-api', To: completed.params.To });
    expect(signedByTwilio(completed)).toBe(true);
    expect(app.requests.some((r) => r.path === '/voice')).toBe(false);
  }

  it('busy: status busy (SIP 486) without ringing', async () => {
    const sid = await dial('+14155550401', { busy: true });
    clock.advance(50);
    const completed = await final(sid);
    expect(completed.params).toMatchObject({ CallStatus: 'busy', SipResponseCode: '486' });
    expectUnanswered(completed);
    expect(statusesOf(sid).map((r) => r.params.CallStatus)).toEqual(['initiated', 'busy']);
    expect(await sim.getCall(sid)!.ended).toMatchObject({ status: 'busy', endedBy: 'callee', reason: 'the line is busy' });
  });

  it('declined: rings, then Twilio reports busy, told apart from a busy line by SipResponseCode 603', async () => {
    const sid = await dial('+14155550402', { declines: true, answerAfterSec: 3 });
    await app.waitFor('/status', (r) => r.params.CallSid === sid && r.params.CallStatus === 'ringing');
    clock.advance(2999);
    expect(sim.getCall(sid)!.isEnded).toBe(false);
    clock.advance(1);
    const completed = await final(sid);
    expect(completed.params).toMatchObject({ CallStatus: 'busy', SipResponseCode: '603' });
    expectUnanswered(completed);
    expect(statusesOf(sid).map((r) => r.params.CallStatus)).toEqual(['initiated', 'ringing', 'busy']);
    const hangup = sim.getCall(sid)!.timeline.find((e) => e.type === 'hangup');
    expect(hangup).toMatchObject({ cause: 'the callee declined', causeCode: 603, source: 'callee' });
  });

  it('no answer: rings until Timeout, then no-answer (SIP 487)', async () => {
    const sid = await dial('+14155550403', { neverAnswer: true });
    await app.waitFor('/status', (r) => r.params.CallSid === sid && r.params.CallStatus === 'ringing');
    clock.advance(29_999);
    expect(statusesOf(sid)).toHaveLength(2);
    clock.advance(1);
    const completed = await final(sid);
    expect(completed.params).toMatchObject({ CallStatus: 'no-answer', SipResponseCode: '487' });
    expectUnanswered(completed);
  });

  it('a callee slower than Timeout is a no-answer too', async () => {
    const sid = await dial('+14155550404', { answerAfterSec: 45 });
    await app.waitFor('/status', (r) => r.params.CallSid === sid && r.params.CallStatus === 'ringing');
    clock.advance(30_000);
    expect((await final(sid)).params.CallStatus).toBe('no-answer');
  });

  it('unreachable: failed (SIP 480) without ringing', async () => {
    const sid = await dial('+14155550405', { unreachable: true });
    clock.advance(50);
    const completed = await final(sid);
    expect(completed.params).toMatchObject({ CallStatus: 'failed', SipResponseCode: '480' });
    expectUnanswered(completed);
    expect(statusesOf(sid).map((r) => r.params.CallStatus)).toEqual(['initiated', 'failed']);
  });

  it('a number where no virtual party answers: failed (SIP 404)', async () => {
    const sid = await dial('+19999999999', undefined);
    clock.advance(50);
    const completed = await final(sid);
    expect(completed.params).toMatchObject({ CallStatus: 'failed', SipResponseCode: '404', To: '+19999999999' });
    expectUnanswered(completed);
    const resource = await rest(base, `${API}/Calls/${sid}.json`);
    expect(resource.body).toMatchObject({ status: 'failed', duration: '0' });
  });

  it('an inbound call to a number nobody configured fails without any webhook', async () => {
    const call = sim.dialInbound({ from: '+14155551234', to: '+18005550199', script: {} });
    expect(await call.ended).toMatchObject({ status: 'failed', sipResponseCode: 404 });
    expect(app.requests).toHaveLength(0);
  });
});
