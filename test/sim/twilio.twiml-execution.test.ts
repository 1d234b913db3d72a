import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeWavFile } from '../../src/media/wav.js';
import type { PartyScript } from '../../src/sim/virtual-party.js';
import { audibleMs, ToneTts } from '../support/sim-tone-tts.js';
import { ACCOUNT_SID, signedByTwilio, twilioTestbed } from './twilio-harness.js';

const NUMBER = '+18005551000';

describe('TwiML execution', () => {
  // Real time: these tests follow calls through to their end rather than stepping a clock.
  const bed = twilioTestbed({ fakeClock: false, tts: new ToneTts(20), voiceUrlRetryDelayMs: 10 });
  let dir: string;
  let beepUrl: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'twiml-'));
    const beep = join(dir, 'beep-300ms-16k.wav');
    await writeWavFile(beep, Int16Array.from({ length: 4800 }, (_, i) => Math.round(7000 * Math.sin((2 * Math.PI * 600 * i) / 16_000))), 16_000);
    beepUrl = pathToFileURL(beep).toString();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const inbound = (voicePath: string, script: PartyScript = {}, options: { voiceMethod?: 'GET' | 'POST'; callerName?: string } = {}) => {
    bed.sim.addNumber(NUMBER, { voiceUrl: bed.app.url(voicePath), voiceMethod: options.voiceMethod });
    return bed.sim.dialInbound({ from: '+14155551234', to: NUMBER, script, callerName: options.callerName });
  };
  const verbs = (call: { timeline: { type: string; verb?: string }[] }) => call.timeline.flatMap((e) => (e.type === 'xml' ? [e.verb] : []));

  it('fetches the voice URL signed, with the inbound call parameters, before answering', async () => {
    bed.app.route('/voice', '<Response><Hangup/></Response>');
    const call = inbound('/voice', {}, { callerName: 'ALICE SMITH' });
    const voice = await bed.app.waitFor('/voice');
    expect(voice.method).toBe('POST');
    expect(voice.params).toEqual({
      AccountSid: ACCOUNT_SID,
      ApiVersion: '2010-04-01',
      CallSid: call.callSid,
      CallStatus: 'ringing',
      Called: NUMBER,
      Caller: '+14155551234',
      CallerName: 'ALICE SMITH',
      Direction: 'inbound',
      From: '+14155551234',
      To: NUMBER,
    });
    expect(signedByTwilio(voice)).toBe(true);
    expect(voice.headers['user-agent']).toBe('TwilioProxy/1.1');
    expect(await call.ended).toMatchObject({ status: 'completed', endedBy: 'twiml', reason: '<Hangup>' });
  });

  it('voiceMethod GET sends the parameters in the query string, signed over the full URL', async () => {
    bed.app.route('/voice', '<Response><Hangup/></Response>');
    const call = inbound('/voice?tenant=7', {}, { voiceMethod: 'GET' });
    const voice = await bed.app.waitFor('/voice');
    expect(voice.method).toBe('GET');
    expect(voice.url).toMatch(/\/voice\?tenant=7&AccountSid=/);
    expect(voice.params).toMatchObject({ tenant: '7', CallSid: call.callSid });
    expect(signedByTwilio(voice)).toBe(true);
    await call.ended;
  });

  it('Say, Play (a WAV, twice) and Pause run in order in real time; Play digits sends DTMF to the party', async () => {
    bed.app.route('/voice', `<Response><Say voice="Polly.Joanna" language="en-GB">hi there</Say><Play loop="2">${beepUrl}</Play><Pause length="0.2"/><Play digits="12w#"/></Response>`);
    const tts = new ToneTts(20);
    await bed.restart({ tts });
    const call = inbound('/voice');
    const result = await call.ended;
    expect(verbs(call)).toEqual(['Say', 'Play', 'Pause', 'Play']);
    expect(tts.requests[0]).toMatchObject({ text: 'hi there', voice: 'Polly.Joanna', language: 'en-GB', ssml: false, sampleRate: 8000 });
    // 8 characters of tone (160 ms), then 2 x 300 ms of the resampled WAV.
    expect(audibleMs(result.heard)).toBe(160 + 600);
    expect(call.party.heardDigits).toBe('12#');
    expect(result).toMatchObject({ status: 'completed', endedBy: 'twilio', reason: 'the TwiML ran out of verbs' });
  });

  it('without a TTS provider, Say plays a placeholder tone of plausible length and says so', async () => {
    await bed.restart({ tts: undefined });
    bed.app.route('/voice', '<Response><Say>Ten chars!</Say></Response>');
    const call = inbound('/voice');
    const warning = new Promise<{ message: string }>((resolve) => call.once('warning', resolve));
    const result = await call.ended;
    // About 155 words a minute: 65 ms a character.
    expect((await warning).message).toMatch(/<Say> without a TTS provider: a 0\.65 s placeholder tone/);
    expect(audibleMs(result.heard)).toBe(660);
  });

  it('Gather: a key stops the nested prompt, the digits go to the action with FinishedOnKey, and its TwiML runs', async () => {
    bed.app
      .route('/voice', '<Response><Gather action="/digits" numDigits="4" timeout="3"><Say>Enter your PIN now please</Say></Gather><Say>no input</Say></Response>')
      .route('/digits', '<Response><Say>thanks</Say></Response>');
    const call = inbound('/voice', { keys: [{ atSec: 0.2, digits: '1234' }] });
    const digits = await bed.app.waitFor('/digits');
    expect(digits.params).toMatchObject({ Digits: '1234', FinishedOnKey: '', CallStatus: 'in-progress', CallSid: call.callSid });
    expect(signedByTwilio(digits)).toBe(true);
    const result = await call.ended;
    expect(call.timeline.flatMap((e) => (e.type === 'xml' && e.verb === 'Say' ? [e.detail] : []))).toEqual(['Enter your PIN now please', 'thanks']);
    // The 500 ms prompt was cut at the first key (~200 ms), then "thanks" (120 ms) played.
    expect(audibleMs(result.heard)).toBeLessThan(400);
    expect(call.timeline.filter((e) => e.type === 'key' && e.consumed)).toHaveLength(4);
  });

  it('Gather posts to the current document by default, ends on finishOnKey, and moves on when nothing is pressed', async () => {
    let visits = 0;
    bed.app.route('/voice', () => (++visits === 1 ? '<Response><Gather timeout="2"/></Response>' : '<Response><Gather timeout="0.2"/><Say>nobody</Say></Response>'));
    const call = inbound('/voice', { keys: [{ atSec: 0.1, digits: '42#' }] });
    const second = await bed.app.waitFor('/voice', (r) => r.params.Digits !== undefined);
    expect(second.params).toMatchObject({ Digits: '42', FinishedOnKey: '#' });
    await call.ended;
    expect(verbs(call)).toEqual(['Gather', 'Gather', 'Say']);
  });

  it('Redirect continues with the TwiML at a relative URL, by GET when asked', async () => {
    bed.app.route('/voice', '<Response><Redirect method="GET">next?step=2</Redirect><Say>never</Say></Response>').route('/next', '<Response><Hangup/></Response>');
    const call = inbound('/voice');
    const next = await bed.app.waitFor('/next');
    expect(next.method).toBe('GET');
    expect(next.params).toMatchObject({ step: '2', CallSid: call.callSid });
    await call.ended;
    expect(verbs(call)).toEqual(['Redirect', 'Hangup']);
  });

  it('Reject as the first verb refuses the call without answering: busy, or no-answer by default', async () => {
    bed.app.route('/busy', '<Response><Reject reason="busy"/></Response>').route('/reject', '<Response><Reject/></Response>');
    const busy = inbound('/busy');
    expect(await busy.ended).toMatchObject({ status: 'busy', sipResponseCode: 486, durationSec: 0 });
    expect(busy.answeredAt).toBeUndefined();
    const rejected = inbound('/reject');
    expect(await rejected.ended).toMatchObject({ status: 'no-answer', endedBy: 'twiml' });
    expect(rejected.timeline.some((e) => e.type === 'answered')).toBe(false);
  });

  it('invalid TwiML is an application error: the caller hears the apology, then the call ends', async () => {
    await bed.restart({ tts: new ToneTts(5) });
    const cases: [string, number, RegExp][] = [
      ['<Response><Say>hi</Say>', 12100, /not well-formed/],
      ['<Response><Say>hi</Say><Dance/></Response>', 12200, /<Dance> is not a TwiML verb/],
      ['<Resp><Say>hi</Say></Resp>', 12200, /root element must be <Response>/],
      ['<Response><Gather><Dial>123</Dial></Gather></Response>', 12200, /<Dial> is not allowed inside <Gather>/],
    ];
    for (const [twiml, code, message] of cases) {
      bed.app.route('/voice', twiml);
      const call = inbound('/voice');
      const result = await call.ended;
      const error = call.timeline.find((e) => e.type === 'application-error');
      expect(error).toMatchObject({ code });
      expect(error?.type === 'application-error' && error.message).toMatch(message);
      expect(verbs(call)).toEqual([]);
      // "We are sorry, an application error has occurred. Goodbye." through the tone TTS: 57 characters.
      expect(audibleMs(result.heard)).toBe(Math.ceil((57 * 5) / 20) * 20);
      expect(result).toMatchObject({ status: 'completed', endedBy: 'twilio', reason: `application error ${code}` });
    }
  });

  it('retries a failing voice URL, then uses the fallback; when everything fails it is application error 11200', async () => {
    bed.app.route('/voice', () => ({ status: 503, body: 'down' })).route('/fallback', '<Response><Hangup/></Response>');
    bed.sim.addNumber(NUMBER, { voiceUrl: bed.app.url('/voice'), voiceFallbackUrl: bed.app.url('/fallback') });
    const call = bed.sim.dialInbound({ from: '+14155551234', to: NUMBER, script: {} });
    await bed.app.waitFor('/fallback');
    expect(bed.app.requests.filter((r) => r.path === '/voice')).toHaveLength(3);
    expect((await call.ended).reason).toBe('<Hangup>');

    bed.sim.addNumber('+18005551001', { voiceUrl: bed.app.url('/nowhere') });
    const failing = bed.sim.dialInbound({ from: '+14155551234', to: '+18005551001', script: {} });
    await failing.ended;
    expect(failing.timeline.find((e) => e.type === 'application-error')).toMatchObject({ code: 11200, message: expect.stringMatching(/answered HTTP 404/) });
  });

  it('verbs Twilio has but the simulator does not model are skipped with a warning', async () => {
    bed.app.route('/voice', '<Response><Record maxLength="2"/><Connect><Room>r1</Room></Connect><Hangup/></Response>');
    const call = inbound('/voice');
    await call.ended;
    const warnings = call.timeline.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
    expect(warnings).toEqual(['<Record> is not simulated; skipped', '<Connect><Room> is not simulated; skipped']);
    expect(verbs(call)).toEqual(['Record', 'Connect', 'Hangup']);
  });

  it('Dial bridges the first callee to answer; the parties hear each other and the action gets DialCallStatus', async () => {
    const voice = new Int16Array(1600).fill(6000); // 200 ms
    bed.sim.addCallee('+15550001', { answerAfterSec: 0.4 });
    bed.sim.addCallee('+15550002', { answerAfterSec: 0.1, voice: [{ atSec: 0, samples: voice }], hangupAfterSec: 0.4 });
    bed.app
      .route('/voice', '<Response><Dial action="/dialed" timeout="5"><Number>+15550001</Number><Number>+15550002</Number></Dial><Say>unreachable</Say></Response>')
      .route('/dialed', '<Response><Hangup/></Response>');
    const call = inbound('/voice');
    const dialed = await bed.app.waitFor('/dialed');
    expect(dialed.params).toMatchObject({ DialCallStatus: 'completed', DialCallDuration: '0', CallSid: call.callSid });
    expect(dialed.params.DialCallSid).toMatch(/^CA[0-9a-f]{32}$/);
    const result = await call.ended;
    expect(audibleMs(result.heard)).toBe(200);
    expect(call.timeline.some((e) => e.type === 'dial' && e.status === 'answered' && e.number === '+15550002')).toBe(true);
  });

  it('Dial to a busy or declining callee reports busy; without an action the next verb runs', async () => {
    bed.sim.addCallee('+15550003', { busy: true });
    bed.sim.addCallee('+15550004', { declines: true, answerAfterSec: 0.1 });
    bed.app.route('/voice', '<Response><Dial>+15550003</Dial><Dial action="/dialed"><Number>+15550004</Number></Dial></Response>').route('/dialed', '<Response><Hangup/></Response>');
    const call = inbound('/voice');
    expect((await bed.app.waitFor('/dialed')).params.DialCallStatus).toBe('busy');
    await call.ended;
    expect(call.timeline.flatMap((e) => (e.type === 'dial' && !e.number ? [e.status] : []))).toEqual(['busy', 'busy']);
  });

  it('Dial <Sip>: the URI\'s user part reaches the virtual party, its query parameters are the SIP headers on the timeline', async () => {
    bed.sim.addCallee('+15550005', { answerAfterSec: 0.1, hangupAfterSec: 0.2 });
    bed.app
      .route('/voice', '<Response><Dial action="/dialed"><Sip>sip:+15550005@pbx.example.com;transport=tls?X-Campaign=spring&amp;X-Agent-Id=42</Sip></Dial></Response>')
      .route('/dialed', '<Response><Hangup/></Response>');
    const call = inbound('/voice');
    const dialed = await bed.app.waitFor('/dialed');
    expect(dialed.params).toMatchObject({ DialCallStatus: 'completed', DialSipResponseCode: '200' });
    await call.ended;
    expect(call.timeline.find((e) => e.type === 'sip-headers')).toMatchObject({
      uri: 'sip:+15550005@pbx.example.com;transport=tls?X-Campaign=spring&X-Agent-Id=42',
      headers: { 'X-Campaign': 'spring', 'X-Agent-Id': '42' },
    });
  });
});
