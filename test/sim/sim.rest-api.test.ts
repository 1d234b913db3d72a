import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import { FakePlivoApp } from '../support/sim-app-server.js';

const AUTH_ID = 'MAREST';
const AUTH_TOKEN = 'rest-token';
const basic = (id: string, token: string) => `Basic ${Buffer.from(`${id}:${token}`).toString('base64')}`;

describe('Call REST API', () => {
  let sim: PlivoSimulator;
  let app: FakePlivoApp;
  let rest: string;

  beforeEach(async () => {
    sim = new PlivoSimulator({ authId: AUTH_ID, authToken: AUTH_TOKEN });
    rest = (await sim.listen()).restBaseUrl;
    app = new FakePlivoApp();
    await app.listen();
    app.route('/hangup', '');
  });
  afterEach(async () => {
    await sim.close();
    await app.close();
  });

  const makeCall = (body: Record<string, unknown>, auth = basic(AUTH_ID, AUTH_TOKEN)) =>
    fetch(`${rest}/v1/Account/${AUTH_ID}/Call/`, { method: 'POST', headers: { Authorization: auth, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  it('rejects missing and wrong credentials with 401 and a message naming the problem', async () => {
    const none = await fetch(`${rest}/v1/Account/${AUTH_ID}/Call/`, { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: string }).error).toMatch(/authentication required/);
    const wrong = await makeCall({}, basic(AUTH_ID, 'nope'));
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: string }).error).toMatch(/wrong auth_id or auth_token/);
    const otherAccount = await fetch(`${rest}/v1/Account/MAOTHER/Call/`, { method: 'POST', headers: { Authorization: basic(AUTH_ID, AUTH_TOKEN) } });
    expect(otherAccount.status).toBe(401);
    expect(sim.liveCalls()).toHaveLength(0);
  });

  it('rejects a call request without answer_url, naming the field', async () => {
    const res = await makeCall({ from: '1', to: '2' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('answer_url is required');
    const badTimeout = await makeCall({ from: '1', to: '2', answer_url: app.url('/a'), ring_timeout: 'soon' });
    expect(((await badTimeout.json()) as { error: string }).error).toMatch(/ring_timeout must be an integer/);
  });

  it('accepts form-encoded requests too', async () => {
    sim.addCallee('222', { neverAnswer: true });
    const res = await fetch(`${rest}/v1/Account/${AUTH_ID}/Call/`, {
      method: 'POST',
      headers: { Authorization: basic(AUTH_ID, AUTH_TOKEN), 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ from: '111', to: '222', answer_url: app.url('/a'), ring_timeout: '1' }).toString(),
    });
    expect(res.status).toBe(201);
  });

  it('a callee that never answers ends with no-answer after ring_timeout', async () => {
    sim.addCallee('14155550200', { neverAnswer: true });
    const started = performance.now();
    await makeCall({ from: '1', to: '14155550200', answer_url: app.url('/answer'), hangup_url: app.url('/hangup'), ring_timeout: 1 });
    const hangup = await app.waitFor('/hangup');
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(hangup.params).toMatchObject({ CallStatus: 'no-answer', HangupCauseName: 'Ring Timeout', HangupCauseCode: '6010', Duration: '0', BillDuration: '0', AnswerTime: '' });
    expect(app.requests.some((r) => r.path === '/answer')).toBe(false);
  });

  it('a busy callee ends with busy and never reaches the answer URL', async () => {
    sim.addCallee('14155550201', { busy: true });
    await makeCall({ from: '1', to: '14155550201', answer_url: app.url('/answer'), hangup_url: app.url('/hangup') });
    const hangup = await app.waitFor('/hangup');
    expect(hangup.params).toMatchObject({ CallStatus: 'busy', HangupCauseName: 'Busy Line', HangupCauseCode: '3010', HangupSource: 'Callee' });
  });

  it('an unregistered number ends with Invalid Destination (2000)', async () => {
    await makeCall({ from: '1', to: '19999999999', answer_url: app.url('/answer'), hangup_url: app.url('/hangup') });
    const hangup = await app.waitFor('/hangup');
    expect(hangup.params).toMatchObject({ CallStatus: 'failed', HangupCauseCode: '2000' });
  });

  it('DELETE hangs up a live call (204, Normal Hangup by API Request) and 404s once it has ended', async () => {
    app.route('/answer', '<Response><Wait length="30"/></Response>');
    sim.addCallee('14155550202', {});
    await makeCall({ from: '1', to: '14155550202', answer_url: app.url('/answer'), hangup_url: app.url('/hangup') });
    const answer = await app.waitFor('/answer');
    const uuid = answer.params.CallUUID;
    const del = await fetch(`${rest}/v1/Account/${AUTH_ID}/Call/${uuid}/`, { method: 'DELETE', headers: { Authorization: basic(AUTH_ID, AUTH_TOKEN) } });
    expect(del.status).toBe(204);
    const hangup = await app.waitFor('/hangup');
    expect(hangup.params).toMatchObject({ CallUUID: uuid, HangupCauseName: 'Normal Hangup', HangupCauseCode: '4000', HangupSource: 'API Request', CallStatus: 'completed' });
    const again = await fetch(`${rest}/v1/Account/${AUTH_ID}/Call/${uuid}/`, { method: 'DELETE', headers: { Authorization: basic(AUTH_ID, AUTH_TOKEN) } });
    expect(again.status).toBe(404);
  });

  it('transfer fetches the new aleg_url XML (Event=Transfer) and stops the running XML; DTMF API reaches the caller', async () => {
    app.route('/answer', '<Response><Wait length="30"/></Response>').route('/next', '<Response><Hangup/></Response>');
    sim.addCallee('14155550203', {});
    await makeCall({ from: '1', to: '14155550203', answer_url: app.url('/answer'), hangup_url: app.url('/hangup') });
    const uuid = (await app.waitFor('/answer')).params.CallUUID;
    const auth = { Authorization: basic(AUTH_ID, AUTH_TOKEN), 'Content-Type': 'application/json' };
    const dtmf = await fetch(`${rest}/v1/Account/${AUTH_ID}/Call/${uuid}/DTMF/`, { method: 'POST', headers: auth, body: JSON.stringify({ digits: '12#' }) });
    expect(dtmf.status).toBe(202);
    expect(sim.getCall(uuid)!.party.heardDigits).toBe('12#');
    const t = await fetch(`${rest}/v1/Account/${AUTH_ID}/Call/${uuid}/`, { method: 'POST', headers: auth, body: JSON.stringify({ legs: 'aleg', aleg_url: app.url('/next') }) });
    expect(t.status).toBe(202);
    const next = await app.waitFor('/next');
    expect(next.params.Event).toBe('Transfer');
    const result = await sim.getCall(uuid)!.ended;
    expect(result.cause).toBe('Normal Hangup');
  });
});
