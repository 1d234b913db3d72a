import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import plivo from 'plivo';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import { verifyV3Signature } from '../../src/carriers/plivo/signature.js';
import { FakePlivoApp } from '../support/sim-app-server.js';
import { audibleMs, ToneTts } from '../support/sim-tone-tts.js';

const AUTH_ID = 'MAXXXXXXXXXXXXXXXXXX';
const AUTH_TOKEN = 'sim-secret-token';

describe('outbound call through the REST API', () => {
  let sim: PlivoSimulator;
  let app: FakePlivoApp;
  let rest: string;

  beforeEach(async () => {
    sim = new PlivoSimulator({ authId: AUTH_ID, authToken: AUTH_TOKEN, tts: new ToneTts(20) });
    rest = (await sim.listen()).restBaseUrl;
    app = new FakePlivoApp();
    await app.listen();
  });
  afterEach(async () => {
    await sim.close();
    await app.close();
  });

  const auth = `Basic ${Buffer.from(`${AUTH_ID}:${AUTH_TOKEN}`).toString('base64')}`;

  it('rings the callee, calls the signed answer URL, plays Speak in real time and reports End Of XML on the hangup URL', async () => {
    const text = 'Hello from the simulator'; // 24 chars * 20 ms = 480 ms of tone
    app.route('/answer/', `<Response><Speak voice="WOMAN" language="en-US">${text}</Speak></Response>`).route('/hangup/', '');
    sim.addCallee('14155550100', { answerAfterSec: 0.1 });

    const res = await fetch(`${rest}/v1/Account/${AUTH_ID}/Call/`, {
      method: 'POST',
      headers: { Authorization: auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ from: '14155550000', to: '14155550100', answer_url: app.url('/answer/?app=demo'), hangup_url: app.url('/hangup/') }),
    });
    expect(res.status).toBe(201);
    const fired = (await res.json()) as { api_id: string; message: string; request_uuid: string };
    expect(fired.message).toBe('call fired');

    const answer = await app.waitFor('/answer/');
    expect(answer.method).toBe('POST');
    expect(answer.params).toMatchObject({
      From: '14155550000',
      To: '14155550100',
      CallStatus: 'in-progress',
      Direction: 'outbound',
      Event: 'StartApp',
      ALegRequestUUID: fired.request_uuid,
    });
    expect(answer.params.ALegUUID).toBe(answer.params.CallUUID);

    const signature = String(answer.headers['x-plivo-signature-v3']);
    const nonce = String(answer.headers['x-plivo-signature-v3-nonce']);
    expect(verifyV3Signature({ method: 'POST', url: answer.url, params: answer.params, nonce, authToken: AUTH_TOKEN, signatureHeader: signature })).toBe(true);
    expect(plivo.validateV3Signature('POST', answer.url, nonce, AUTH_TOKEN, signature, answer.params)).toBe(true);
    expect(verifyV3Signature({ method: 'POST', url: answer.url, params: answer.params, nonce, authToken: 'wrong', signatureHeader: signature })).toBe(false);

    const call = sim.getCall(answer.params.CallUUID)!;
    const result = await call.ended;
    expect(result.cause).toBe('End Of XML Instructions');
    expect(result.causeCode).toBe(4010);
    // The caller heard the whole tone, and heard it in real time (not faster).
    expect(audibleMs(result.heard)).toBeGreaterThanOrEqual(460);
    expect(audibleMs(result.heard)).toBeLessThanOrEqual(500);
    const start = call.timeline.find((e) => e.type === 'heard-audio-start');
    const stop = call.timeline.find((e) => e.type === 'heard-audio-stop');
    expect(stop && stop.type === 'heard-audio-stop' && stop.durationMs).toBe(480);
    expect(start && start.type === 'heard-audio-start' && start.source).toBe('speak');

    const hangup = await app.waitFor('/hangup/');
    expect(hangup.params).toMatchObject({
      CallUUID: call.callUuid,
      CallStatus: 'completed',
      HangupCauseName: 'End Of XML Instructions',
      HangupCauseCode: '4010',
      HangupSource: 'Plivo',
    });
    expect(Number(hangup.params.Duration)).toBeGreaterThanOrEqual(0);
    expect(hangup.params.AnswerTime).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(plivo.validateV3Signature('POST', hangup.url, String(hangup.headers['x-plivo-signature-v3-nonce']), AUTH_TOKEN, String(hangup.headers['x-plivo-signature-v3']), hangup.params)).toBe(true);
  });

  it('signs GET answer URLs over the URL with the parameters in its query', async () => {
    app.route('/answer', '<Response><Hangup/></Response>');
    sim.addCallee('14155550101', {});
    await fetch(`${rest}/v1/Account/${AUTH_ID}/Call/`, {
      method: 'POST',
      headers: { Authorization: auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ from: '1415', to: '14155550101', answer_url: app.url('/answer?x=1'), answer_method: 'GET' }),
    });
    const answer = await app.waitFor('/answer');
    expect(answer.method).toBe('GET');
    expect(answer.params.CallUUID).toBeTruthy();
    const nonce = String(answer.headers['x-plivo-signature-v3-nonce']);
    const sig = String(answer.headers['x-plivo-signature-v3']);
    expect(plivo.validateV3Signature('GET', answer.url, nonce, AUTH_TOKEN, sig, {})).toBe(true);
    expect(verifyV3Signature({ method: 'GET', url: answer.url, params: {}, nonce, authToken: AUTH_TOKEN, signatureHeader: sig })).toBe(true);
    const result = await sim.getCall(answer.params.CallUUID)!.ended;
    expect(result.cause).toBe('Normal Hangup');
  });
});
