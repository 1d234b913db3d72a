import { afterEach, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { XMLParser } from 'fast-xml-parser';
import type { OutboundFailure } from '../../src/carriers/leg.js';
import { TwilioApiError, TwilioRestClient } from '../../src/carriers/twilio/rest-client.js';
import { twilioCarrier, twilioOutboundReason } from '../../src/carriers/twilio/twilio-carrier.js';
import { twilioCause } from '../../src/carriers/twilio/routes.js';
import { silentLogger } from '../../src/logger.js';
import { systemClock } from '../../src/runtime/clock.js';
import { RecordingCallHandler } from '../support/carrier-harness.js';
import { TwilioStreamClient, postWebhook, startTwilioTestServer, voiceParams, type TwilioTestServer } from '../support/twilio-harness.js';

const SID = 'AC11111111111111111111111111111111';
const TOKEN = 'rest-token';
const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_' });

interface ApiRequest {
  method: string;
  url: string;
  form: URLSearchParams;
  authorization?: string;
}

/** A loopback stand-in for api.twilio.com: records requests, answers as Twilio does (JSON, its error bodies). */
async function fakeTwilioApi(): Promise<{ app: FastifyInstance; url: string; requests: ApiRequest[]; gone: Set<string> }> {
  const requests: ApiRequest[] = [];
  const gone = new Set<string>();
  const app = Fastify();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, new URLSearchParams(body as string)));
  app.post('/2010-04-01/Accounts/:sid/Calls.json', async (req, reply) => {
    requests.push({ method: req.method, url: req.url, form: req.body as URLSearchParams, authorization: req.headers.authorization });
    const form = req.body as URLSearchParams;
    if (!form.get('To')) return reply.code(400).send({ code: 21201, message: "No 'To' number is specified", more_info: 'https://www.twilio.com/docs/errors/21201', status: 400 });
    return reply.code(201).send({ sid: 'CAnew', status: 'queued' });
  });
  app.post('/2010-04-01/Accounts/:sid/Calls/:callSid.json', async (req, reply) => {
    const { callSid } = req.params as { callSid: string };
    requests.push({ method: req.method, url: req.url, form: req.body as URLSearchParams, authorization: req.headers.authorization });
    if (gone.has(callSid)) return reply.code(400).send({ code: 21220, message: 'Call is not in-progress. Cannot redirect.', more_info: 'https://www.twilio.com/docs/errors/21220', status: 400 });
    return reply.send({ sid: callSid, status: 'in-progress' });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return { app, url: `http://127.0.0.1:${address.port}`, requests, gone };
}

class OutboundRecordingHandler extends RecordingCallHandler {
  readonly placed = new Set<string>(['vx-out']);
  readonly events: unknown[] = [];
  isOutbound(callId: string): boolean {
    return this.placed.has(callId);
  }
  callRinging(callId: string): void {
    this.events.push({ ringing: callId });
  }
  callFailed(callId: string, failure: OutboundFailure, carrierCallId?: string): void {
    this.events.push({ failed: callId, failure, carrierCallId });
  }
  machineDetected(callId: string, isMachine: boolean): void {
    this.events.push({ machine: callId, isMachine });
  }
}

describe('Twilio REST: transfer, hangup and placing calls', () => {
  let api: Awaited<ReturnType<typeof fakeTwilioApi>> | undefined;
  let server: TwilioTestServer | undefined;
  afterEach(async () => {
    await server?.close();
    await api?.app.close();
    server = undefined;
    api = undefined;
  });

  async function openCall(callSid: string) {
    api = await fakeTwilioApi();
    server = await startTwilioTestServer({ authToken: TOKEN, rest: new TwilioRestClient({ accountSid: SID, authToken: TOKEN, baseUrl: api.url }) });
    await postWebhook(`${server.baseUrl}/twilio/voice`, voiceParams(callSid), { authToken: TOKEN });
    const client = await TwilioStreamClient.connect(server.streamUrl, TOKEN);
    client.start(callSid);
    return { client, leg: await server.handler.waitForLeg(callSid) };
  }

  it('hangup() completes the call over REST, with Basic auth, and the socket close is the gateway hanging up', async () => {
    const { client, leg } = await openCall('CAhang');
    expect(leg.capabilities.transfer).toBe(true);
    const hangup = new Promise((resolve) => leg.once('hangup', resolve));
    await leg.hangup('bot said goodbye');
    expect(api!.requests).toHaveLength(1);
    expect(api!.requests[0].url).toBe(`/2010-04-01/Accounts/${SID}/Calls/CAhang.json`);
    expect(Object.fromEntries(api!.requests[0].form)).toEqual({ Status: 'completed' });
    expect(api!.requests[0].authorization).toBe(`Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`);
    client.close(); // what Twilio does once the call is gone
    expect(await hangup).toEqual({ cause: 'bot said goodbye', side: 'gateway' });
  });

  it('transfers by giving the call <Dial> TwiML: a number, a SIP URI with its headers, or the operator\'s own TwiML URL', async () => {
    const { leg } = await openCall('CAxfer');
    await leg.transfer({ target: '+14155550199', headers: { 'X-Reason': 'sales' } });
    await leg.transfer({ target: 'sip:agent@pbx.example.com', headers: { 'X-Reason': 'billing dispute', 'X-Queue': '7' } });
    await leg.transfer({ target: 'https://example.com/transfer.xml' });
    const [number, sip, url] = api!.requests.map((r) => Object.fromEntries(r.form));
    expect(xml.parse(number.Twiml).Response.Dial.Number).toBe(14155550199);
    expect(xml.parse(sip.Twiml).Response.Dial.Sip).toBe('sip:agent@pbx.example.com?X-Reason=billing+dispute&X-Queue=7');
    expect(url).toEqual({ Url: 'https://example.com/transfer.xml', Method: 'POST' });
    await server!.logs.waitFor((l) => /SIP headers only to sip: targets/.test(l.msg) && (l.droppedHeaders as string[])[0] === 'X-Reason');
    await expect(leg.transfer({ target: 'drop table' })).rejects.toThrow(/"drop table" is neither a phone number/);
  });

  it('hangup of a call Twilio already ended is not an error', async () => {
    const { leg } = await openCall('CAgone');
    api!.gone.add('CAgone');
    await leg.hangup('late');
    await server!.logs.waitFor((l) => /Twilio reports the call already ended/.test(l.msg));
  });

  it('REST failures name the request and Twilio\'s error code', async () => {
    api = await fakeTwilioApi();
    const rest = new TwilioRestClient({ accountSid: SID, authToken: TOKEN, baseUrl: api.url });
    const err = await rest.createCall({ to: '', from: '+1', url: 'https://x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TwilioApiError);
    expect((err as TwilioApiError).message).toBe(`Twilio API POST /2010-04-01/Accounts/${SID}/Calls.json failed with HTTP 400 (error 21201): No 'To' number is specified`);
    const unconfigured = new TwilioRestClient({ accountSid: '', authToken: '', baseUrl: api.url });
    await expect(unconfigured.hangupCall('CA1')).rejects.toThrow(/no Twilio account SID and auth token configured/);
    const unreachable = new TwilioRestClient({ accountSid: SID, authToken: TOKEN, baseUrl: 'http://127.0.0.1:1', timeoutMs: 2000 });
    await expect(unreachable.hangupCall('CA1')).rejects.toMatchObject({ status: 0 });
  });

  it('places calls with the call id in every webhook URL, all status events, and asynchronous machine detection', async () => {
    api = await fakeTwilioApi();
    const carrier = twilioCarrier.create(
      { accountSid: SID, authToken: TOKEN, apiBaseUrl: api.url },
      { publicUrl: () => 'https://voice.example.com/', logger: silentLogger(), clock: systemClock },
    );
    expect(await carrier.placeCall({ callId: 'vx-9', from: '+14155550100', to: '+14155550111', ringTimeoutSec: 20, machineDetection: 'disconnect' })).toEqual({ carrierRequestId: 'CAnew' });
    const form = api.requests[0].form;
    expect(form.get('Url')).toBe('https://voice.example.com/twilio/voice?callId=vx-9');
    expect(form.get('StatusCallback')).toBe('https://voice.example.com/twilio/status?callId=vx-9');
    expect(form.getAll('StatusCallbackEvent')).toEqual(['initiated', 'ringing', 'answered', 'completed']);
    expect(form.get('Timeout')).toBe('20');
    expect(form.get('MachineDetection')).toBe('Enable');
    expect(form.get('AsyncAmd')).toBe('true');
    expect(form.get('AsyncAmdStatusCallback')).toBe('https://voice.example.com/twilio/amd?callId=vx-9&amd=disconnect');
    expect(carrier.webhookUrls('https://voice.example.com')).toEqual({
      'A call comes in (Webhook, HTTP POST)': 'https://voice.example.com/twilio/voice',
      'Call status changes': 'https://voice.example.com/twilio/status',
    });
  });

  it('maps Twilio\'s reports of unanswered calls to Voxgate\'s reasons', () => {
    const reason = (status: string, sip?: string) => twilioOutboundReason({ cause: twilioCause(status, sip), status });
    expect(reason('busy')).toBe('busy');
    expect(reason('no-answer')).toBe('no-answer');
    expect(reason('busy', '603')).toBe('declined');
    expect(reason('failed', '603')).toBe('declined');
    expect(reason('failed', '480')).toBe('error');
    expect(reason('no-answer', '487')).toBe('no-answer');
    expect(reason('failed', '404')).toBe('error');
    expect(reason('failed')).toBe('error');
    expect(reason('canceled')).toBe('error');
  });
});

describe('Twilio callbacks of calls Voxgate placed', () => {
  let api: Awaited<ReturnType<typeof fakeTwilioApi>> | undefined;
  let server: TwilioTestServer | undefined;
  afterEach(async () => {
    await server?.close();
    await api?.app.close();
  });

  it('ringing, an unanswered end, and a machine verdict reach the handler; a machine with `disconnect` is hung up over REST', async () => {
    api = await fakeTwilioApi();
    const handler = new OutboundRecordingHandler();
    server = await startTwilioTestServer({ authToken: TOKEN, handler, rest: new TwilioRestClient({ accountSid: SID, authToken: TOKEN, baseUrl: api.url }) });
    const status = (callSid: string, params: Record<string, string>) => postWebhook(`${server!.baseUrl}/twilio/status?callId=vx-out`, voiceParams(callSid, { Direction: 'outbound-api', ...params }), { authToken: TOKEN });

    await status('CAo1', { CallStatus: 'initiated' });
    await status('CAo1', { CallStatus: 'ringing' });
    await status('CAo1', { CallStatus: 'busy', SipResponseCode: '486' });
    // A stranger's callback (not a call Voxgate placed) is ignored.
    await postWebhook(`${server.baseUrl}/twilio/status?callId=vx-unknown`, voiceParams('CAo9', { CallStatus: 'busy' }), { authToken: TOKEN });
    expect(handler.events).toEqual([{ ringing: 'vx-out' }, { failed: 'vx-out', failure: { cause: 'Busy (SIP 486)', status: 'busy' }, carrierCallId: 'CAo1' }]);

    const amd = await postWebhook(`${server.baseUrl}/twilio/amd?callId=vx-out&amd=disconnect`, { CallSid: 'CAo2', AccountSid: SID, AnsweredBy: 'machine_start', MachineDetectionDuration: '2400' }, { authToken: TOKEN });
    expect(amd.status).toBe(200);
    expect(handler.events[2]).toEqual({ machine: 'vx-out', isMachine: true });
    await expect.poll(() => api!.requests.map((r) => [r.url, Object.fromEntries(r.form)])).toEqual([[`/2010-04-01/Accounts/${SID}/Calls/CAo2.json`, { Status: 'completed' }]]);

    await postWebhook(`${server.baseUrl}/twilio/amd?callId=vx-out&amd=detect`, { CallSid: 'CAo3', AccountSid: SID, AnsweredBy: 'human' }, { authToken: TOKEN });
    expect(handler.events[3]).toEqual({ machine: 'vx-out', isMachine: false });
    expect(api.requests).toHaveLength(1);

    // The outbound call's own voice webhook answers it under Voxgate's id.
    handler.placed.add('vx-out2');
    const voice = await postWebhook(`${server.baseUrl}/twilio/voice?callId=vx-out2`, voiceParams('CAo4', { Direction: 'outbound-api', CallStatus: 'in-progress' }), { authToken: TOKEN });
    expect(xml.parse(voice.text).Response.Connect.Stream.Parameter).toContainEqual({ '@_name': 'callId', '@_value': 'vx-out2' });
    expect(server.handler.answered.at(-1)).toMatchObject({ callId: 'vx-out2', carrierCallId: 'CAo4', direction: 'outbound' });
  });
});
