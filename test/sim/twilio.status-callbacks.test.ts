import { beforeEach, describe, expect, it } from 'vitest';
import type { CapturedRequest } from '../support/sim-app-server.js';
import { ACCOUNT_SID, API, rest, signedByTwilio, twilioTestbed, verbStarted } from './twilio-harness.js';

const T0 = Date.UTC(2026, 4, 4, 10, 0, 0);

describe('Twilio status callbacks', () => {
  const bed = twilioTestbed({ startAt: T0 });
  beforeEach(() => {
    bed.app.route('/status', '').route('/voice', '<Response><Pause length="3"/></Response>');
  });

  const statuses = () => bed.app.requests.filter((r) => r.path === '/status');
  const dial = (to: string, form: Record<string, string | string[]> = {}) =>
    rest(bed.base, `${API}/Calls.json`, { To: to, From: '+14155550000', Url: bed.app.url('/voice'), StatusCallback: bed.app.url('/status'), ...form });

  it('sends every subscribed event in order, signed, with SequenceNumber from 0, Timestamp, CallbackSource and the duration on completion', async () => {
    bed.sim.addCallee('+14155550100', { answerAfterSec: 2 });
    const { body } = await dial('+14155550100', { StatusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'] });
    const call = bed.sim.getCall(body.sid as string)!;
    bed.clock.advance(0);
    await bed.app.waitFor('/status', (r) => r.params.CallStatus === 'ringing');
    bed.clock.advance(2000);
    await verbStarted(call, 'Pause');
    bed.clock.advance(3000);
    await call.ended;

    const sent = statuses();
    expect(sent.map((r) => [r.params.CallStatus, r.params.SequenceNumber])).toEqual([
      ['initiated', '0'],
      ['ringing', '1'],
      ['in-progress', '2'],
      ['completed', '3'],
    ]);
    for (const r of sent) {
      expect(signedByTwilio(r)).toBe(true);
      expect(r.method).toBe('POST');
      expect(r.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(r.params).toMatchObject({
        CallSid: call.callSid,
        AccountSid: ACCOUNT_SID,
        From: '+14155550000',
        To: '+14155550100',
        Direction: 'outbound-api',
        ApiVersion: '2010-04-01',
        CallbackSource: 'call-progress-events',
      });
    }
    expect(sent[0].params.Timestamp).toBe('Mon, 04 May 2026 10:00:00 +0000');
    expect(sent[2].params.Timestamp).toBe('Mon, 04 May 2026 10:00:02 +0000');
    expect(sent[3].params).toMatchObject({ Timestamp: 'Mon, 04 May 2026 10:00:05 +0000', CallDuration: '3', Duration: '1', SipResponseCode: '200' });
    expect(sent[0].params.CallDuration).toBeUndefined();
  });

  it('sends only the completed event by default', async () => {
    bed.sim.addCallee('+14155550101', { answerAfterSec: 1 });
    const { body } = await dial('+14155550101');
    const call = bed.sim.getCall(body.sid as string)!;
    bed.clock.advance(0);
    await new Promise((resolve) => call.once('ringing', resolve));
    bed.clock.advance(1000);
    await verbStarted(call, 'Pause');
    bed.clock.advance(3000);
    await call.ended;
    expect(statuses().map((r) => [r.params.CallStatus, r.params.SequenceNumber])).toEqual([['completed', '0']]);
  });

  it('takes space-separated events and StatusCallbackMethod=GET (parameters in the query, signed over the URL)', async () => {
    bed.sim.addCallee('+14155550102', { busy: true });
    const { body } = await dial('+14155550102', { StatusCallbackEvent: 'initiated completed', StatusCallbackMethod: 'GET' });
    bed.clock.advance(0);
    bed.clock.advance(50);
    await bed.sim.getCall(body.sid as string)!.ended;
    const sent = statuses();
    expect(sent.map((r) => [r.method, r.params.CallStatus])).toEqual([
      ['GET', 'initiated'],
      ['GET', 'busy'],
    ]);
    for (const r of sent) expect(signedByTwilio(r)).toBe(true);
    expect(sent[1].params).toMatchObject({ CallDuration: '0', SipResponseCode: '486' });
  });

  it('reports a terminal status that is not completed under the completed event, without ringing or answered before it', async () => {
    bed.sim.addCallee('+14155550103', { neverAnswer: true });
    const { body } = await dial('+14155550103', { StatusCallbackEvent: ['answered', 'completed'], Timeout: '10' });
    bed.clock.advance(0);
    await new Promise((resolve) => bed.sim.getCall(body.sid as string)!.once('ringing', resolve));
    bed.clock.advance(10_000);
    await bed.sim.getCall(body.sid as string)!.ended;
    expect(statuses().map((r) => [r.params.CallStatus, r.params.SequenceNumber, r.params.SipResponseCode])).toEqual([['no-answer', '0', '487']]);
  });

  it('an inbound call reports to the number\'s status callback (ringing, answered, completed when subscribed)', async () => {
    bed.sim.addNumber('+18005550100', {
      voiceUrl: bed.app.url('/voice'),
      statusCallback: bed.app.url('/status'),
      statusCallbackEvent: ['ringing', 'answered', 'completed'],
    });
    const call = bed.sim.dialInbound({ from: '+14155551234', to: '+18005550100', script: {} });
    const voice = await bed.app.waitFor('/voice');
    expect(voice.params).toMatchObject({ CallStatus: 'ringing', Direction: 'inbound', Caller: '+14155551234', Called: '+18005550100' });
    await verbStarted(call, 'Pause');
    bed.clock.advance(3000);
    const result = await call.ended;
    expect(result).toMatchObject({ status: 'completed', durationSec: 3 });
    expect(statuses().map((r: CapturedRequest) => [r.params.CallStatus, r.params.Direction])).toEqual([
      ['ringing', 'inbound'],
      ['in-progress', 'inbound'],
      ['completed', 'inbound'],
    ]);
  });
});
