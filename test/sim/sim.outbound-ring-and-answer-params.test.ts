import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import plivo from 'plivo';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakePlivoApp, type CapturedRequest } from '../support/sim-app-server.js';

const AUTH_ID = 'MARINGING';
const AUTH_TOKEN = 'ring-token';
const auth = `Basic ${Buffer.from(`${AUTH_ID}:${AUTH_TOKEN}`).toString('base64')}`;

const signature = (r: CapturedRequest) => ({ nonce: String(r.headers['x-plivo-signature-v3-nonce']), sig: String(r.headers['x-plivo-signature-v3']) });

describe('outbound call callbacks: ring_url, then the answer URL', () => {
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
    app.route('/ring', '').route('/hangup', '').route('/answer', '<Response><Wait length="30"/></Response>');
  });
  afterEach(async () => {
    await sim.close();
    await app.close();
  });

  const dial = async (body: Record<string, unknown>) => {
    const res = await fetch(`${rest}/v1/Account/${AUTH_ID}/Call/`, {
      method: 'POST',
      headers: { Authorization: auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ from: '+14155550000', to: '14155550600', answer_url: app.url('/answer'), hangup_url: app.url('/hangup'), ...body }),
    });
    expect(res.status).toBe(201);
    const fired = (await res.json()) as { request_uuid: string };
    clock.advance(0);
    return fired.request_uuid;
  };

  it('POSTs a signed ring_url with CallStatus=ringing when the callee starts ringing, and only then the answer URL (Direction=outbound, in-progress, RequestUUID)', async () => {
    sim.addCallee('14155550600', { answerAfterSec: 4 });
    const requestUuid = await dial({ ring_url: app.url('/ring?campaign=7') });
    const ring = await app.waitFor('/ring');
    expect(ring.method).toBe('POST');
    expect(ring.params).toMatchObject({
      CallStatus: 'ringing',
      Direction: 'outbound',
      From: '14155550000',
      To: '14155550600',
      RequestUUID: requestUuid,
      ALegRequestUUID: requestUuid,
    });
    expect(ring.params.CallUUID).toBe(ring.params.ALegUUID);
    const { nonce, sig } = signature(ring);
    expect(plivo.validateV3Signature('POST', ring.url, nonce, AUTH_TOKEN, sig, ring.params)).toBe(true);

    clock.advance(3999);
    expect(app.requests.some((r) => r.path === '/answer')).toBe(false);
    clock.advance(1);
    const answer = await app.waitFor('/answer');
    expect(answer.params).toMatchObject({
      CallUUID: ring.params.CallUUID,
      Direction: 'outbound',
      CallStatus: 'in-progress',
      Event: 'StartApp',
      From: '14155550000',
      To: '14155550600',
      RequestUUID: requestUuid,
      ALegRequestUUID: requestUuid,
    });
    const answerSig = signature(answer);
    expect(plivo.validateV3Signature('POST', answer.url, answerSig.nonce, AUTH_TOKEN, answerSig.sig, answer.params)).toBe(true);
  });

  it('honours ring_method=GET: the parameters ride in the query, signed over the full URL', async () => {
    sim.addCallee('14155550600', { neverAnswer: true });
    const requestUuid = await dial({ ring_url: app.url('/ring'), ring_method: 'GET' });
    const ring = await app.waitFor('/ring');
    expect(ring.method).toBe('GET');
    expect(ring.params).toMatchObject({ CallStatus: 'ringing', RequestUUID: requestUuid });
    const { nonce, sig } = signature(ring);
    expect(plivo.validateV3Signature('GET', ring.url, nonce, AUTH_TOKEN, sig, {})).toBe(true);
  });

  it('a ring_url that fails does not stop the call', async () => {
    app.route('/ring', () => ({ status: 500, body: 'boom' }));
    sim.addCallee('14155550600', {});
    await dial({ ring_url: app.url('/ring') });
    await app.waitFor('/ring');
    clock.advance(0);
    const answer = await app.waitFor('/answer');
    expect(answer.params.CallStatus).toBe('in-progress');
  });

  it('rejects a ring_url that is not an absolute http(s) URL, naming it', async () => {
    const res = await fetch(`${rest}/v1/Account/${AUTH_ID}/Call/`, {
      method: 'POST',
      headers: { Authorization: auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ from: '1', to: '2', answer_url: app.url('/answer'), ring_url: '/relative' }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/ring_url must be an absolute URL/);
  });
});
