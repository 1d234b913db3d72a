import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import plivo from 'plivo';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import type { PartyScript } from '../../src/sim/virtual-party.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakePlivoApp, type CapturedRequest } from '../support/sim-app-server.js';

const AUTH_ID = 'MAFAILURES';
const AUTH_TOKEN = 'failures-token';
const auth = `Basic ${Buffer.from(`${AUTH_ID}:${AUTH_TOKEN}`).toString('base64')}`;

const signed = (r: CapturedRequest) =>
  plivo.validateV3Signature(r.method, r.url, String(r.headers['x-plivo-signature-v3-nonce']), AUTH_TOKEN, String(r.headers['x-plivo-signature-v3']), r.method === 'POST' ? r.params : {});

describe('outbound calls that never connect report Plivo\'s hangup parameters', () => {
  let clock: FakeClock;
  let sim: PlivoSimulator;
  let app: FakePlivoApp;
  let rest: string;

  beforeEach(async () => {
    clock = new FakeClock();
    sim = new PlivoSimulator({ authId: AUTH_ID, authToken: AUTH_TOKEN, clock });
    rest = (await sim.listen()).restBaseUrl;
    app = new FakePlivoApp();
    await app.listen();
    app.route('/ring', '').route('/hangup', '').route('/answer', '<Response><Hangup/></Response>');
  });
  afterEach(async () => {
    await sim.close();
    await app.close();
  });

  /** Places a call to a callee with `script` (or to an unregistered number) and lets it start. */
  async function dial(to: string, script: PartyScript | undefined, extra: Record<string, unknown> = {}): Promise<string> {
    if (script) sim.addCallee(to, script);
    const res = await fetch(`${rest}/v1/Account/${AUTH_ID}/Call/`, {
      method: 'POST',
      headers: { Authorization: auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ from: '+14155550000', to, answer_url: app.url('/answer'), ring_url: app.url('/ring'), hangup_url: app.url('/hangup'), ring_timeout: 30, ...extra }),
    });
    expect(res.status).toBe(201);
    const { request_uuid } = (await res.json()) as { request_uuid: string };
    clock.advance(0);
    return request_uuid;
  }

  /** Common to every failed attempt: nothing answered, nothing billed, and the request maps back to its call. */
  function expectUnanswered(hangup: CapturedRequest, requestUuid: string, to: string): void {
    expect(hangup.params).toMatchObject({
      Direction: 'outbound',
      From: '14155550000',
      To: to,
      RequestUUID: requestUuid,
      ALegRequestUUID: requestUuid,
      Event: 'Hangup',
      Duration: '0',
      BillDuration: '0',
      AnswerTime: '',
    });
    expect(hangup.params.CallUUID).toBe(sim.outboundFirings().find((f) => f.requestUuid === requestUuid)!.callUuid);
    expect(signed(hangup)).toBe(true);
    expect(app.requests.some((r) => r.path === '/answer')).toBe(false);
  }

  it('busy: CallStatus=busy, Busy Line (3010, USER_BUSY) from the callee, without ringing', async () => {
    const requestUuid = await dial('14155550401', { busy: true });
    clock.advance(50);
    const hangup = await app.waitFor('/hangup');
    expect(hangup.params).toMatchObject({ CallStatus: 'busy', HangupCause: 'USER_BUSY', HangupCauseName: 'Busy Line', HangupCauseCode: '3010', HangupSource: 'Callee' });
    expectUnanswered(hangup, requestUuid, '14155550401');
    expect(app.requests.some((r) => r.path === '/ring')).toBe(false);
  });

  it('declined: rings (ring_url), then CallStatus=cancel, Rejected (3020, CALL_REJECTED) from the callee', async () => {
    const requestUuid = await dial('14155550402', { declines: true, answerAfterSec: 3 });
    const ring = await app.waitFor('/ring');
    expect(ring.params).toMatchObject({ CallStatus: 'ringing', RequestUUID: requestUuid });
    clock.advance(3000);
    const hangup = await app.waitFor('/hangup');
    expect(hangup.params).toMatchObject({ CallStatus: 'cancel', HangupCause: 'CALL_REJECTED', HangupCauseName: 'Rejected', HangupCauseCode: '3020', HangupSource: 'Callee' });
    expectUnanswered(hangup, requestUuid, '14155550402');
  });

  it('no answer: rings until ring_timeout, then CallStatus=no-answer, Ring Timeout (6010, NO_ANSWER) by Plivo', async () => {
    const requestUuid = await dial('14155550403', { neverAnswer: true });
    await app.waitFor('/ring');
    clock.advance(29_999);
    expect(app.requests.some((r) => r.path === '/hangup')).toBe(false);
    clock.advance(1);
    const hangup = await app.waitFor('/hangup');
    expect(hangup.params).toMatchObject({ CallStatus: 'no-answer', HangupCause: 'NO_ANSWER', HangupCauseName: 'Ring Timeout', HangupCauseCode: '6010', HangupSource: 'Plivo' });
    expectUnanswered(hangup, requestUuid, '14155550403');
  });

  it('a callee slower than ring_timeout is a no-answer too', async () => {
    const requestUuid = await dial('14155550404', { answerAfterSec: 45 });
    await app.waitFor('/ring');
    clock.advance(30_000);
    const hangup = await app.waitFor('/hangup');
    expect(hangup.params).toMatchObject({ CallStatus: 'no-answer', HangupCauseCode: '6010' });
    expectUnanswered(hangup, requestUuid, '14155550404');
  });

  it('unreachable: CallStatus=failed, Destination Out Of Service (2010) from the carrier, without ringing', async () => {
    const requestUuid = await dial('14155550405', { unreachable: true });
    clock.advance(50);
    const hangup = await app.waitFor('/hangup');
    expect(hangup.params).toMatchObject({ CallStatus: 'failed', HangupCauseName: 'Destination Out Of Service', HangupCauseCode: '2010', HangupSource: 'Carrier' });
    expectUnanswered(hangup, requestUuid, '14155550405');
    expect(app.requests.some((r) => r.path === '/ring')).toBe(false);
  });

  it('an unknown number: CallStatus=failed, Invalid Destination Address (2000) by Plivo', async () => {
    const requestUuid = await dial('19999999999', undefined);
    const hangup = await app.waitFor('/hangup');
    expect(hangup.params).toMatchObject({ CallStatus: 'failed', HangupCauseName: 'Invalid Destination Address', HangupCauseCode: '2000', HangupSource: 'Plivo' });
    expectUnanswered(hangup, requestUuid, '19999999999');
  });

  it('each of several destinations in one request reports its own request_uuid', async () => {
    sim.addCallee('14155550406', { busy: true });
    sim.addCallee('14155550407', { unreachable: true });
    const res = await fetch(`${rest}/v1/Account/${AUTH_ID}/Call/`, {
      method: 'POST',
      headers: { Authorization: auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ from: '1', to: '14155550406<14155550407', answer_url: app.url('/answer'), hangup_url: app.url('/hangup') }),
    });
    const { request_uuid } = (await res.json()) as { request_uuid: string[] };
    expect(request_uuid).toHaveLength(2);
    clock.advance(0);
    clock.advance(50);
    const busy = await app.waitFor('/hangup', (r) => r.params.To === '14155550406');
    const out = await app.waitFor('/hangup', (r) => r.params.To === '14155550407');
    expect(busy.params).toMatchObject({ RequestUUID: request_uuid[0], HangupCauseCode: '3010' });
    expect(out.params).toMatchObject({ RequestUUID: request_uuid[1], HangupCauseCode: '2010' });
  });

  it('rejects a callee script with two outcomes, naming both', () => {
    expect(() => sim.addCallee('14155550408', { busy: true, declines: true })).toThrow(/busy and declines exclude each other/);
  });
});
