import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import plivo from 'plivo';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import type { PartyScript } from '../../src/sim/virtual-party.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakePlivoApp, type CapturedRequest } from '../support/sim-app-server.js';

const AUTH_ID = 'MAMACHINE';
const AUTH_TOKEN = 'amd-token';
const auth = `Basic ${Buffer.from(`${AUTH_ID}:${AUTH_TOKEN}`).toString('base64')}`;

/** A 3 s "please leave a message" greeting: a 400 Hz tone at 8 kHz. */
const greeting = Int16Array.from({ length: 24_000 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 400 * i) / 8000)));
const answeringMachine: PartyScript = { machine: true, answerAfterSec: 2, voice: [{ atSec: 0, samples: greeting }] };
const human: PartyScript = { answerAfterSec: 2 };

const signed = (r: CapturedRequest) =>
  plivo.validateV3Signature('POST', r.url, String(r.headers['x-plivo-signature-v3-nonce']), AUTH_TOKEN, String(r.headers['x-plivo-signature-v3']), r.params);

describe('answering machine detection (Call API machine_detection)', () => {
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
    app.route('/ring', '').route('/hangup', '').route('/amd', '').route('/answer', '<Response><Wait length="60"/></Response>');
  });
  afterEach(async () => {
    await sim.close();
    await app.close();
  });

  const post = (body: Record<string, unknown>) =>
    fetch(`${rest}/v1/Account/${AUTH_ID}/Call/`, { method: 'POST', headers: { Authorization: auth, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  /** Dials `script`, lets it ring and answer (after 2 s); resolves with the request_uuid. */
  async function dialAndAnswer(script: PartyScript, detection: Record<string, unknown>): Promise<string> {
    sim.addCallee('14155550500', script);
    const res = await post({ from: '14155550000', to: '14155550500', answer_url: app.url('/answer'), ring_url: app.url('/ring'), hangup_url: app.url('/hangup'), ...detection });
    expect(res.status).toBe(201);
    const { request_uuid } = (await res.json()) as { request_uuid: string };
    clock.advance(0);
    await app.waitFor('/ring');
    clock.advance(2000);
    return request_uuid;
  }
  const requestsTo = (path: string) => app.requests.filter((r) => r.path === path);

  it('machine_detection=true with a machine_detection_url: the answer URL runs at once, then Plivo POSTs Machine=true and the call goes on', async () => {
    const requestUuid = await dialAndAnswer(answeringMachine, { machine_detection: 'true', machine_detection_url: app.url('/amd'), machine_detection_time: 2000 });
    const answer = await app.waitFor('/answer');
    expect(answer.params.Machine).toBeUndefined();
    clock.advance(1999);
    expect(requestsTo('/amd')).toHaveLength(0);
    clock.advance(1);
    const amd = await app.waitFor('/amd');
    expect(amd.method).toBe('POST');
    expect(amd.params).toMatchObject({
      Machine: 'true',
      IfMachine: 'continue',
      Event: 'MachineDetection',
      CallStatus: 'in-progress',
      Direction: 'outbound',
      From: '14155550000',
      To: '14155550500',
      CallUUID: answer.params.CallUUID,
      ALegUUID: answer.params.CallUUID,
      RequestUUID: requestUuid,
      ALegRequestUUID: requestUuid,
    });
    expect(signed(amd)).toBe(true);
    const call = sim.getCall(answer.params.CallUUID)!;
    expect(call.isEnded).toBe(false);
    expect(call.timeline.some((e) => e.type === 'machine-detection' && e.machine)).toBe(true);

    await fetch(`${rest}/v1/Account/${AUTH_ID}/Call/${call.callUuid}/`, { method: 'DELETE', headers: { Authorization: auth } });
    const hangup = await app.waitFor('/hangup');
    expect(hangup.params).toMatchObject({ CallStatus: 'completed', HangupCauseCode: '4000', HangupSource: 'API Request', Machine: 'true' });
  });

  it('machine_detection=hangup with a machine_detection_url: Plivo reports IfMachine=hangup, then hangs up with Machine Detected (9100)', async () => {
    const requestUuid = await dialAndAnswer(answeringMachine, { machine_detection: 'hangup', machine_detection_url: app.url('/amd'), machine_detection_time: 2000 });
    await app.waitFor('/answer');
    clock.advance(2000);
    const amd = await app.waitFor('/amd');
    expect(amd.params).toMatchObject({ Machine: 'true', IfMachine: 'hangup', RequestUUID: requestUuid });
    const hangup = await app.waitFor('/hangup');
    expect(hangup.params).toMatchObject({
      CallStatus: 'completed',
      HangupCauseName: 'Machine Detected',
      HangupCauseCode: '9100',
      HangupSource: 'Plivo',
      Machine: 'true',
      Duration: '2',
      RequestUUID: requestUuid,
      ALegRequestUUID: requestUuid,
    });
    expect(signed(hangup)).toBe(true);
  });

  it('machine_detection=hangup without a URL (synchronous): no XML runs during the analysis, and a machine is hung up on before the answer URL', async () => {
    const requestUuid = await dialAndAnswer(answeringMachine, { machine_detection: 'hangup' });
    clock.advance(4999);
    expect(requestsTo('/hangup')).toHaveLength(0);
    clock.advance(1);
    const hangup = await app.waitFor('/hangup');
    expect(hangup.params).toMatchObject({ CallStatus: 'completed', HangupCauseCode: '9100', HangupSource: 'Plivo', Machine: 'true', Duration: '5', RequestUUID: requestUuid });
    expect(requestsTo('/answer')).toHaveLength(0);
  });

  it('synchronous detection on a human: the answer URL is fetched after machine_detection_time, with Machine=false', async () => {
    await dialAndAnswer(human, { machine_detection: 'hangup', machine_detection_time: 3000 });
    clock.advance(2999);
    expect(requestsTo('/answer')).toHaveLength(0);
    clock.advance(1);
    const answer = await app.waitFor('/answer');
    expect(answer.params).toMatchObject({ Machine: 'false', CallStatus: 'in-progress', Event: 'StartApp' });
    expect(sim.getCall(answer.params.CallUUID)!.isEnded).toBe(false);
  });

  it('synchronous machine_detection=true on a machine: the answer URL gets Machine=true and the call goes on', async () => {
    await dialAndAnswer(answeringMachine, { machine_detection: true, machine_detection_time: 2000 });
    clock.advance(2000);
    const answer = await app.waitFor('/answer');
    expect(answer.params.Machine).toBe('true');
    expect(sim.getCall(answer.params.CallUUID)!.isEnded).toBe(false);
  });

  it('a human is never reported to machine_detection_url', async () => {
    await dialAndAnswer(human, { machine_detection: 'hangup', machine_detection_url: app.url('/amd'), machine_detection_time: 2000 });
    const answer = await app.waitFor('/answer');
    clock.advance(10_000);
    await fetch(`${rest}/v1/Account/${AUTH_ID}/Call/${answer.params.CallUUID}/`, { method: 'DELETE', headers: { Authorization: auth } });
    const hangup = await app.waitFor('/hangup');
    expect(hangup.params.HangupCauseCode).toBe('4000');
    expect(hangup.params.Machine).toBeUndefined();
    expect(requestsTo('/amd')).toHaveLength(0);
  });

  it('rejects bad machine detection parameters with 400, naming the field', async () => {
    const base = { from: '1', to: '14155550501', answer_url: app.url('/answer') };
    const mode = await post({ ...base, machine_detection: 'maybe' });
    expect(mode.status).toBe(400);
    expect(((await mode.json()) as { error: string }).error).toMatch(/machine_detection must be true or hangup/);
    const time = await post({ ...base, machine_detection: 'true', machine_detection_time: 1000 });
    expect(((await time.json()) as { error: string }).error).toMatch(/machine_detection_time must be an integer between 2000 and 10000/);
    const url = await post({ ...base, machine_detection: 'true', machine_detection_url: 'not a url' });
    expect(((await url.json()) as { error: string }).error).toMatch(/machine_detection_url must be an absolute URL/);
    expect(sim.outboundFirings()).toHaveLength(0);
  });
});
