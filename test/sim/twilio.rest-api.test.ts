import { beforeEach, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { TwilioSimulator } from '../../src/sim/twilio/twilio-simulator.js';
import { ACCOUNT_SID, API, AUTH_TOKEN, basicAuth, rest, twilioTestbed } from './twilio-harness.js';

const T0 = 1_700_000_000_000;

describe('Twilio Calls REST API', () => {
  const bed = twilioTestbed({ startAt: T0 });
  const create = (form: Record<string, string | string[]>) => rest(bed.base, `${API}/Calls.json`, form);
  beforeEach(() => {
    bed.app.route('/voice', '<Response><Pause length="60"/></Response>');
  });

  it('the twilio helper library creates, fetches and hangs up a call', async () => {
    bed.sim.addCallee('+14155550100', { answerAfterSec: 1 });
    const client = twilio(ACCOUNT_SID, AUTH_TOKEN);
    client.api.baseUrl = bed.base;

    const created = await client.calls.create({ to: '+14155550100', from: '+14155550000', url: bed.app.url('/voice') });
    expect(created.sid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(created).toMatchObject({ accountSid: ACCOUNT_SID, to: '+14155550100', from: '+14155550000', status: 'queued', direction: 'outbound-api', apiVersion: '2010-04-01' });
    expect(created.dateCreated.getTime()).toBe(Math.floor(T0 / 1000) * 1000);

    const call = bed.sim.getCall(created.sid)!;
    bed.clock.advance(0);
    await new Promise((resolve) => call.once('ringing', resolve));
    expect((await client.calls(created.sid).fetch()).status).toBe('ringing');
    bed.clock.advance(1000);
    await bed.app.waitFor('/voice');
    expect((await client.calls(created.sid).fetch()).status).toBe('in-progress');

    bed.clock.advance(5000);
    const updated = await client.calls(created.sid).update({ status: 'completed' });
    expect(updated.status).toBe('completed');
    expect(updated.duration).toBe('5');
    expect(await call.ended).toMatchObject({ status: 'completed', endedBy: 'api', durationSec: 5, sipResponseCode: 200 });
  });

  it('the helper library reads the simulator errors as RestException: 404 20404 for an unknown call, 401 20003 for wrong credentials', async () => {
    const client = twilio(ACCOUNT_SID, AUTH_TOKEN);
    client.api.baseUrl = bed.base;
    const unknown = await client.calls('CA00000000000000000000000000000000').fetch().catch((err: unknown) => err);
    expect(unknown).toMatchObject({ status: 404, code: 20404, moreInfo: 'https://www.twilio.com/docs/errors/20404' });
    expect((unknown as Error).message).toMatch(/CA00000000000000000000000000000000\.json was not found/);

    const intruder = twilio(ACCOUNT_SID, 'not-the-token');
    intruder.api.baseUrl = bed.base;
    const denied = await intruder.calls.create({ to: '+14155550100', from: '+14155550000', url: bed.app.url('/voice') }).catch((err: unknown) => err);
    expect(denied).toMatchObject({ status: 401, code: 20003 });
    expect(bed.sim.liveCalls()).toHaveLength(0);
  });

  it('answers 401 without credentials and for another account in the URL, naming the problem', async () => {
    const none = await rest(bed.base, `${API}/Calls.json`, { To: '+1', From: '+2', Url: bed.app.url('/voice') }, '');
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ code: 20003, status: 401, detail: expect.stringMatching(/No credentials/) });
    const otherAccount = 'ACffffffffffffffffffffffffffffffff';
    const other = await rest(bed.base, `/2010-04-01/Accounts/${otherAccount}/Calls.json`, { To: '+14155550100', From: '+14155550000', Url: bed.app.url('/voice') });
    expect(other.status).toBe(401);
    expect(other.body.detail).toMatch(new RegExp(`${otherAccount} in the URL does not match`));
    const wrongUser = await rest(bed.base, `${API}/Calls.json`, { To: '+1', From: '+2' }, basicAuth(otherAccount, AUTH_TOKEN));
    expect(wrongUser.body).toMatchObject({ code: 20003, detail: 'Your AccountSid or AuthToken was incorrect.' });
  });

  it('rejects a create without To, From or Url with 400 and Twilio\'s code, naming the parameter', async () => {
    const cases: [Record<string, string | string[]>, number, RegExp][] = [
      [{ From: '+14155550000', Url: bed.app.url('/voice') }, 21201, /'To'/],
      [{ To: '+14155550100', Url: bed.app.url('/voice') }, 21213, /'From'/],
      [{ To: '+14155550100', From: '+14155550000' }, 21205, /Url parameter is required/],
      [{ To: 'pizza', From: '+14155550000', Url: bed.app.url('/voice') }, 21211, /Invalid 'To' Phone Number/],
      [{ To: '+14155550100', From: '+14155550000', Url: 'ftp://example.com/x' }, 21205, /Url must be an http\(s\) URL/],
      [{ To: '+14155550100', From: '+14155550000', Url: bed.app.url('/voice'), Twiml: '<Response/>' }, 21200, /either Url or Twiml/],
      [{ To: '+14155550100', From: '+14155550000', Url: bed.app.url('/voice'), Timeout: '0' }, 21200, /Timeout must be an integer between 1 and 600/],
      [{ To: '+14155550100', From: '+14155550000', Url: bed.app.url('/voice'), StatusCallback: 'nope' }, 21609, /StatusCallback must be an absolute URL/],
      [{ To: '+14155550100', From: '+14155550000', Url: bed.app.url('/voice'), StatusCallback: bed.app.url('/s'), StatusCallbackEvent: 'answered hungup' }, 21626, /"hungup" is not one of initiated, ringing, answered, completed/],
      [{ To: '+14155550100', From: '+14155550000', Url: bed.app.url('/voice'), Method: 'PUT' }, 21200, /Method must be GET or POST/],
    ];
    for (const [form, code, message] of cases) {
      const res = await create(form);
      expect(res.status, JSON.stringify(form)).toBe(400);
      expect(res.body).toMatchObject({ code, status: 400, more_info: `https://www.twilio.com/docs/errors/${code}` });
      expect(res.body.message).toMatch(message);
    }
    const json = await fetch(`${bed.base}${API}/Calls.json`, {
      method: 'POST',
      headers: { Authorization: basicAuth(), 'Content-Type': 'application/json' },
      body: JSON.stringify({ To: '+14155550100', From: '+14155550000', Url: bed.app.url('/voice') }),
    });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { message: string }).message).toMatch(/must be application\/x-www-form-urlencoded, got application\/json/);
    expect(bed.sim.liveCalls()).toHaveLength(0);
  });

  it('updates: Status=canceled leaves a call in progress alone, new TwiML needs a call in progress (21220), an unknown call is 404', async () => {
    bed.sim.addCallee('+14155550101', { answerAfterSec: 30 });
    const { body } = await create({ To: '+14155550101', From: '+14155550000', Url: bed.app.url('/voice') });
    const sid = body.sid as string;
    const call = bed.sim.getCall(sid)!;
    bed.clock.advance(0);
    await new Promise((resolve) => call.once('ringing', resolve));
    const early = await rest(bed.base, `${API}/Calls/${sid}.json`, { Twiml: '<Response><Hangup/></Response>' });
    expect(early.status).toBe(400);
    expect(early.body).toMatchObject({ code: 21220, message: 'Call is not in-progress (status ringing). Cannot redirect.' });
    const nothing = await rest(bed.base, `${API}/Calls/${sid}.json`, { Status: 'busy' });
    expect(nothing.body).toMatchObject({ code: 21200, message: expect.stringMatching(/Status must be completed or canceled/) });
    const missing = await rest(bed.base, `${API}/Calls/CA0000000000000000000000000000ffff.json`, { Status: 'completed' });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe(20404);

    bed.clock.advance(30_000);
    await bed.app.waitFor('/voice');
    const ignored = await rest(bed.base, `${API}/Calls/${sid}.json`, { Status: 'canceled' });
    expect(ignored.body.status).toBe('in-progress');
    const hungUp = await rest(bed.base, `${API}/Calls/${sid}.json`, { Status: 'completed' });
    expect(hungUp.body.status).toBe('completed');
    expect(call.isEnded).toBe(true);
  });

  it('Status=canceled ends a ringing call as canceled', async () => {
    bed.sim.addCallee('+14155550102', { neverAnswer: true });
    const { body } = await create({ To: '+14155550102', From: '+14155550000', Url: bed.app.url('/voice') });
    const call = bed.sim.getCall(body.sid as string)!;
    bed.clock.advance(0);
    await new Promise((resolve) => call.once('ringing', resolve));
    const canceled = await rest(bed.base, `${API}/Calls/${call.callSid}.json`, { Status: 'canceled' });
    expect(canceled.body).toMatchObject({ status: 'canceled', duration: '0' });
    expect(await call.ended).toMatchObject({ status: 'canceled', sipResponseCode: 487, endedBy: 'api' });
    expect(bed.app.requests.some((r) => r.path === '/voice')).toBe(false);
  });

  it('queues calls beyond the account\'s calls per second and fires them in request order at that rate', async () => {
    await bed.restart({ outboundCallsPerSecond: 2 });
    const numbers = ['+14155550201', '+14155550202', '+14155550203', '+14155550204', '+14155550205'];
    for (const n of numbers) bed.sim.addCallee(n, { neverAnswer: true });
    const fired: string[] = [];
    bed.sim.on('fired', (c) => fired.push(`${c.to}@${bed.clock.now() - T0}`));
    const sids: string[] = [];
    for (const To of numbers) sids.push((await create({ To, From: '+14155550000', Url: bed.app.url('/voice') })).body.sid as string);
    expect(bed.sim.queuedCalls().map((c) => c.to)).toEqual(numbers.slice(2));
    const queued = await rest(bed.base, `${API}/Calls/${sids[4]}.json`);
    expect(queued.body).toMatchObject({ status: 'queued', start_time: null });
    // A queued call canceled over the API never fires and takes no slot.
    await rest(bed.base, `${API}/Calls/${sids[3]}.json`, { Status: 'canceled' });
    bed.clock.advance(1000);
    bed.clock.advance(1000);
    expect(fired).toEqual(['+14155550201@0', '+14155550202@0', '+14155550203@1000', '+14155550205@1000']);
    expect(bed.sim.queuedCalls()).toHaveLength(0);
  });

  it('refuses a bad account SID or rate at construction, naming the option', () => {
    expect(() => new TwilioSimulator({ accountSid: 'MA123', authToken: 't' })).toThrow(/accountSid must be "AC" followed by 32 hex digits/);
    expect(() => new TwilioSimulator({ accountSid: ACCOUNT_SID, authToken: 't', outboundCallsPerSecond: 0 })).toThrow(/outboundCallsPerSecond must be an integer >= 1/);
    expect(() => bed.sim.addNumber('+14155550000', { voiceUrl: '/relative' })).toThrow(/voiceUrl must be an absolute URL/);
    expect(() => bed.sim.addCallee('+14155550300', { busy: true, neverAnswer: true })).toThrow(/neverAnswer and busy exclude each other/);
  });
});
