import { beforeEach, describe, expect, it } from 'vitest';
import type { PartyScript } from '../../src/sim/virtual-party.js';
import { ACCOUNT_SID, API, advanceUntil, rest, signedByTwilio, twilioTestbed, verbStarted } from './twilio-harness.js';

/** A 3 s "please leave a message" greeting: a 400 Hz tone at 8 kHz. */
const greeting = Int16Array.from({ length: 24_000 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 400 * i) / 8000)));
const answeringMachine: PartyScript = { machine: true, answerAfterSec: 2, voice: [{ atSec: 0.5, samples: greeting }] };
const silentMachine: PartyScript = { machine: true, answerAfterSec: 2 };
const human: PartyScript = { answerAfterSec: 2 };

describe('Twilio answering machine detection (MachineDetection, AsyncAmd)', () => {
  const bed = twilioTestbed();
  beforeEach(() => {
    bed.app.route('/voice', '<Response><Pause length="60"/></Response>').route('/amd', '');
  });

  /** Dials `script`, lets it ring and answer (after 2 s); resolves with the call. */
  async function dialAndAnswer(script: PartyScript, detection: Record<string, string>) {
    bed.sim.addCallee('+14155550500', script);
    const res = await rest(bed.base, `${API}/Calls.json`, { To: '+14155550500', From: '+14155550000', Url: bed.app.url('/voice'), ...detection });
    expect(res.status).toBe(201);
    const call = bed.sim.getCall(res.body.sid as string)!;
    bed.clock.advance(0);
    await new Promise((resolve) => call.once('ringing', resolve));
    bed.clock.advance(2000);
    return call;
  }
  const voiceRequests = () => bed.app.requests.filter((r) => r.path === '/voice');

  it('synchronous, a human: no TwiML runs until the verdict, then the voice URL gets AnsweredBy=human', async () => {
    const call = await dialAndAnswer(human, { MachineDetection: 'Enable' });
    expect(call.status).toBe('in-progress');
    bed.clock.advance(1199);
    expect(voiceRequests()).toHaveLength(0);
    bed.clock.advance(1);
    const voice = await bed.app.waitFor('/voice');
    expect(voice.params).toMatchObject({ AnsweredBy: 'human', CallStatus: 'in-progress', CallSid: call.callSid });
    expect(signedByTwilio(voice)).toBe(true);
    expect(call.timeline.find((e) => e.type === 'machine-detection')).toMatchObject({ machine: false, answeredBy: 'human' });
  });

  it('synchronous Enable on a machine: machine_start after the speech threshold, and Twilio does not hang up', async () => {
    const call = await dialAndAnswer(answeringMachine, { MachineDetection: 'Enable', MachineDetectionSpeechThreshold: '3000' });
    bed.clock.advance(2999);
    expect(voiceRequests()).toHaveLength(0);
    bed.clock.advance(1);
    expect((await bed.app.waitFor('/voice')).params.AnsweredBy).toBe('machine_start');
    bed.clock.advance(30_000);
    expect(call.isEnded).toBe(false);
    expect((await rest(bed.base, `${API}/Calls/${call.callSid}.json`)).body.answered_by).toBe('machine_start');
  });

  it('synchronous DetectMessageEnd: machine_end_beep when the greeting ends, machine_end_silence when the machine says nothing', async () => {
    await dialAndAnswer(answeringMachine, { MachineDetection: 'DetectMessageEnd' });
    // The greeting starts 0.5 s after answer and lasts 3 s.
    bed.clock.advance(3499);
    expect(voiceRequests()).toHaveLength(0);
    bed.clock.advance(1);
    expect((await bed.app.waitFor('/voice')).params.AnsweredBy).toBe('machine_end_beep');

    bed.app.requests.length = 0;
    bed.sim.addCallee('+14155550501', silentMachine);
    const res = await rest(bed.base, `${API}/Calls.json`, { To: '+14155550501', From: '+14155550000', Url: bed.app.url('/voice'), MachineDetection: 'DetectMessageEnd' });
    const silent = bed.sim.getCall(res.body.sid as string)!;
    bed.clock.advance(0);
    await new Promise((resolve) => silent.once('ringing', resolve));
    bed.clock.advance(2000 + 4999);
    expect(voiceRequests()).toHaveLength(0);
    bed.clock.advance(1);
    expect((await bed.app.waitFor('/voice')).params.AnsweredBy).toBe('machine_end_silence');
  });

  it('a verdict later than MachineDetectionTimeout is unknown, at the timeout', async () => {
    await dialAndAnswer(answeringMachine, { MachineDetection: 'DetectMessageEnd', MachineDetectionTimeout: '3' });
    bed.clock.advance(3000);
    expect((await bed.app.waitFor('/voice')).params.AnsweredBy).toBe('unknown');
  });

  it('AsyncAmd=true: the TwiML runs at once, the verdict is POSTed signed to AsyncAmdStatusCallback', async () => {
    const call = await dialAndAnswer(answeringMachine, { MachineDetection: 'Enable', AsyncAmd: 'true', AsyncAmdStatusCallback: bed.app.url('/amd') });
    const voice = await bed.app.waitFor('/voice');
    expect(voice.params.AnsweredBy).toBeUndefined();
    bed.clock.advance(2399);
    expect(bed.app.requests.some((r) => r.path === '/amd')).toBe(false);
    bed.clock.advance(1);
    const amd = await bed.app.waitFor('/amd');
    expect(amd.method).toBe('POST');
    expect(amd.params).toEqual({ AccountSid: ACCOUNT_SID, CallSid: call.callSid, AnsweredBy: 'machine_start', MachineDetectionDuration: '2400' });
    expect(signedByTwilio(amd)).toBe(true);
    expect(call.isEnded).toBe(false);
  });

  it('AsyncAmd without a callback: the verdict is only on the call resource (warning 21262)', async () => {
    const call = await dialAndAnswer(human, { MachineDetection: 'Enable', AsyncAmd: 'true' });
    const warned = new Promise<{ message: string }>((resolve) => call.once('warning', resolve));
    await bed.app.waitFor('/voice');
    bed.clock.advance(1200);
    expect((await warned).message).toMatch(/21262/);
    expect(call.answeredBy).toBe('human');
  });

  it('a REST update during synchronous detection runs at once, and the verdict does not replace it', async () => {
    const call = await dialAndAnswer(human, { MachineDetection: 'Enable' });
    bed.app.route('/agent', '<Response><Pause length="30"/></Response>');
    const update = await rest(bed.base, `${API}/Calls/${call.callSid}.json`, { Url: bed.app.url('/agent') });
    expect(update.status).toBe(200);
    await verbStarted(call, 'Pause');
    bed.clock.advance(1200);
    expect(call.answeredBy).toBe('human');
    // The agent's 30 s pause runs to its end: the voice URL's TwiML never took over.
    await advanceUntil(bed.clock, () => call.isEnded, 30_000);
    expect(voiceRequests()).toHaveLength(0);
  });

  it('rejects bad detection parameters with 400, naming the parameter', async () => {
    const base400 = { To: '+14155550502', From: '+14155550000', Url: bed.app.url('/voice') };
    const cases: [Record<string, string>, RegExp][] = [
      [{ MachineDetection: 'Maybe' }, /MachineDetection must be Enable or DetectMessageEnd/],
      [{ MachineDetection: 'Enable', AsyncAmd: 'yes' }, /AsyncAmd must be true or false/],
      [{ MachineDetection: 'Enable', MachineDetectionTimeout: '60' }, /MachineDetectionTimeout must be an integer between 3 and 59/],
      [{ MachineDetection: 'Enable', AsyncAmd: 'true', AsyncAmdStatusCallback: 'amd' }, /AsyncAmdStatusCallback must be an absolute URL/],
    ];
    for (const [form, message] of cases) {
      const res = await rest(bed.base, `${API}/Calls.json`, { ...base400, ...form });
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(message);
    }
    expect(bed.sim.liveCalls()).toHaveLength(0);
  });
});
