import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import { FakePlivoApp } from '../support/sim-app-server.js';
import { audibleMs, ToneTts } from '../support/sim-tone-tts.js';

describe('XML execution', () => {
  let sim: PlivoSimulator;
  let app: FakePlivoApp;

  beforeEach(async () => {
    sim = new PlivoSimulator({ authId: 'MAXML', authToken: 'xml-token', tts: new ToneTts(20), answerRetryDelayMs: 10 });
    await sim.listen();
    app = new FakePlivoApp();
    await app.listen();
    app.route('/hangup', '');
  });
  afterEach(async () => {
    await sim.close();
    await app.close();
  });

  const inbound = (xmlPath: string, script = {}) => {
    sim.addNumber('18005551000', { answerUrl: app.url(xmlPath), hangupUrl: app.url('/hangup') });
    return sim.dialInbound({ from: '+14155551234', to: '18005551000', script });
  };

  it('inbound answer URL gets CallStatus=ringing and Direction=inbound', async () => {
    app.route('/answer', '<Response><Hangup/></Response>');
    const call = inbound('/answer');
    const answer = await app.waitFor('/answer');
    expect(answer.params).toMatchObject({ CallStatus: 'ringing', Direction: 'inbound', From: '14155551234', To: '18005551000', Event: 'StartApp' });
    expect((await call.ended).cause).toBe('Normal Hangup');
  });

  it('GetDigits plays its prompt, collects the caller keys and runs the XML the action returns', async () => {
    app
      .route('/answer', '<Response><GetDigits action="/digits" method="POST" numDigits="4" timeout="3" digitTimeout="1"><Speak>Enter your PIN now please</Speak></GetDigits><Speak>no input</Speak></Response>')
      .route('/digits', '<Response><Speak>thanks</Speak></Response>');
    // Keys start 0.2 s after answer, interrupting the 500 ms prompt.
    const call = inbound('/answer', { keys: [{ atSec: 0.2, digits: '1234' }] });
    const digits = await app.waitFor('/digits');
    expect(digits.params.Digits).toBe('1234');
    expect(digits.params.CallUUID).toBe(call.callUuid);
    const result = await call.ended;
    expect(result.causeCode).toBe(4010);
    const spoken = call.timeline.flatMap((e) => (e.type === 'xml' && e.verb === 'Speak' ? [e.detail] : []));
    // The nested prompt, then the action's XML; the Speak after GetDigits in the first document never ran.
    expect(spoken).toEqual(['Enter your PIN now please', 'thanks']);
    // The prompt was cut at the first key (~200 ms), then "thanks" (120 ms) played.
    expect(audibleMs(result.heard)).toBeLessThan(400);
    expect(call.timeline.filter((e) => e.type === 'key' && e.consumed)).toHaveLength(4);
  });

  it('GetDigits finishes on finishOnKey and moves on when nothing is pressed', async () => {
    app
      .route('/answer', '<Response><GetDigits action="/digits" timeout="0.3"></GetDigits><GetDigits action="/digits" timeout="2"/></Response>')
      .route('/digits', '<Response/>');
    const call = inbound('/answer', { keys: [{ atSec: 0.5, digits: '42#' }] });
    const digits = await app.waitFor('/digits');
    expect(digits.params.Digits).toBe('42');
    expect((await call.ended).causeCode).toBe(4010);
  });

  it('GetInput inputType=dtmf posts InputType and Digits', async () => {
    app
      .route('/answer', '<Response><GetInput action="/input" inputType="dtmf" numDigits="2" executionTimeout="5"><Speak>hi</Speak></GetInput></Response>')
      .route('/input', '<Response><Hangup/></Response>');
    const call = inbound('/answer', { keys: [{ atSec: 0.1, digits: '77' }] });
    const input = await app.waitFor('/input');
    expect(input.params).toMatchObject({ InputType: 'dtmf', Digits: '77' });
    await call.ended;
  });

  it('Redirect fetches the next document with Event=Redirect', async () => {
    app.route('/answer', '<Response><Redirect method="GET">/second</Redirect><Speak>never</Speak></Response>').route('/second', '<Response><Hangup/></Response>');
    const call = inbound('/answer');
    const second = await app.waitFor('/second');
    expect(second.method).toBe('GET');
    expect(second.params.Event).toBe('Redirect');
    expect((await call.ended).cause).toBe('Normal Hangup');
  });

  it('invalid XML ends the call with Invalid Answer XML instead of skipping', async () => {
    app.route('/answer', '<Response><Speak>hi</Speak><Dance/></Response>');
    const call = inbound('/answer');
    const warning = new Promise<{ message: string }>((resolve) => call.once('warning', resolve));
    const result = await call.ended;
    expect(result.cause).toBe('Invalid Answer XML');
    expect((await warning).message).toMatch(/<Dance> is not a Plivo XML element/);
  });

  it('retries the answer URL on 5xx then uses the fallback URL', async () => {
    app.route('/answer', () => ({ status: 503, body: 'down' })).route('/fallback', '<Response><Hangup/></Response>');
    sim.addNumber('18005551001', { answerUrl: app.url('/answer'), fallbackUrl: app.url('/fallback'), hangupUrl: app.url('/hangup') });
    const call = sim.dialInbound({ from: '1', to: '18005551001', script: {} });
    await app.waitFor('/fallback');
    expect(app.requests.filter((r) => r.path === '/answer')).toHaveLength(3);
    expect((await call.ended).cause).toBe('Normal Hangup');
  });

  it('Dial rings the numbers, the first to answer wins, and the parties hear each other', async () => {
    const voice = new Int16Array(1600).fill(6000); // 200 ms
    sim.addCallee('15550001', { answerAfterSec: 0.4 });
    sim.addCallee('15550002', { answerAfterSec: 0.1, voice: [{ atSec: 0, samples: voice }], hangupAfterSec: 0.4 });
    app
      .route('/answer', '<Response><Dial action="/dialed" timeout="5"><Number>15550001</Number><Number>15550002</Number></Dial></Response>')
      .route('/dialed', '<Response><Hangup/></Response>');
    const call = inbound('/answer');
    const dialed = await app.waitFor('/dialed');
    expect(dialed.params).toMatchObject({ DialStatus: 'completed', DialALegUUID: call.callUuid });
    expect(dialed.params.DialBLegUUID).toMatch(/^[0-9a-f-]{36}$/);
    const result = await call.ended;
    expect(audibleMs(result.heard)).toBe(200);
    expect(call.timeline.some((e) => e.type === 'dial' && e.status === 'answered' && e.number === '15550002')).toBe(true);
  });

  it('Dial to a busy number reports DialStatus=busy and the XML continues', async () => {
    sim.addCallee('15550003', { busy: true });
    app
      .route('/answer', '<Response><Dial action="/dialed" redirect="false"><Number>15550003</Number></Dial><Hangup/></Response>')
      .route('/dialed', '');
    const call = inbound('/answer');
    expect((await app.waitFor('/dialed')).params.DialStatus).toBe('busy');
    expect((await call.ended).cause).toBe('Normal Hangup');
  });

  it('a scripted caller hangup ends the call with Normal Hangup from the Caller', async () => {
    app.route('/answer', '<Response><Wait length="20"/></Response>');
    const call = inbound('/answer', { hangupAfterSec: 1.1 });
    const result = await call.ended;
    expect(result).toMatchObject({ cause: 'Normal Hangup', hangupSource: 'Caller', durationSec: 1 });
    expect(result.heard.length).toBeGreaterThanOrEqual(8000 * 1.06);
    const hangup = await app.waitFor('/hangup');
    expect(hangup.params).toMatchObject({ HangupSource: 'Caller', Duration: '1', BillDuration: '60', HangupCauseCode: '4000' });
  });
});
