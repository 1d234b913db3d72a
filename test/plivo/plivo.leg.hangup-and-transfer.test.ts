import { afterEach, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { XMLParser } from 'fast-xml-parser';
import { PlivoRestClient } from '../../src/carriers/plivo/rest-client.js';
import type { CarrierLeg } from '../../src/carriers/leg.js';
import { PlivoStreamClient, answerParams, connectStream, postCallback, startPlivoTestServer, type PlivoTestServer } from '../support/plivo-harness.js';

const AUTH_ID = 'MATESTACCOUNT';
const TOKEN = 'leg-token';
const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_' });

/** A loopback stand-in for api.plivo.com that records the live-call requests it gets. */
async function fakePlivoApi(): Promise<{ app: FastifyInstance; url: string; requests: Array<{ method: string; url: string; body: unknown }> }> {
  const requests: Array<{ method: string; url: string; body: unknown }> = [];
  const app = Fastify();
  app.addHook('preHandler', async (req) => {
    requests.push({ method: req.method, url: req.url, body: req.body });
  });
  app.delete('/v1/Account/:id/Call/:uuid/', async (_req, reply) => reply.code(204).send());
  app.post('/v1/Account/:id/Call/:uuid/', async (_req, reply) => reply.code(202).send({ api_id: 'a', message: 'call transferred' }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return { app, url: `http://127.0.0.1:${address.port}`, requests };
}

async function openCall(server: PlivoTestServer, callUuid: string): Promise<{ client: PlivoStreamClient; leg: CarrierLeg }> {
  await postCallback(`${server.baseUrl}/plivo/answer`, answerParams(callUuid), { authToken: TOKEN });
  const client = await connectStream(server, callUuid, TOKEN);
  client.start(callUuid);
  return { client, leg: await server.handler.waitForLeg(callUuid) };
}

describe('Plivo leg hangup and transfer', () => {
  let server: PlivoTestServer | undefined;
  let api: Awaited<ReturnType<typeof fakePlivoApi>> | undefined;
  afterEach(async () => {
    await server?.close();
    await api?.app.close();
    server = undefined;
    api = undefined;
  });

  it('hangup() asks the REST API to end the call, and the stream close is reported as the gateway hanging up', async () => {
    api = await fakePlivoApi();
    server = await startPlivoTestServer({ authToken: TOKEN, rest: new PlivoRestClient({ authId: AUTH_ID, authToken: TOKEN, baseUrl: api.url }) });
    const { client, leg } = await openCall(server, 'c-hang');
    expect(leg.capabilities.transfer).toBe(true);
    const hangup = new Promise((resolve) => leg.once('hangup', resolve));
    await leg.hangup('bot said goodbye');
    expect(api.requests).toEqual([{ method: 'DELETE', url: `/v1/Account/${AUTH_ID}/Call/c-hang/`, body: undefined }]);
    client.close(); // what Plivo does once the call is gone
    expect(await hangup).toEqual({ cause: 'bot said goodbye', side: 'gateway' });
  });

  it('hangup() without a REST client closes the stream, which ends a keepCallAlive call', async () => {
    server = await startPlivoTestServer({ authToken: TOKEN });
    const { client, leg } = await openCall(server, 'c-close');
    expect(leg.capabilities.transfer).toBe(false);
    const hangup = new Promise((resolve) => leg.once('hangup', resolve));
    await leg.hangup('done');
    expect(await client.closed).toEqual({ code: 1000, reason: 'done' });
    expect(await hangup).toEqual({ cause: 'done', side: 'gateway' });
    await expect(leg.transfer({ target: '+14155551234' })).rejects.toThrow(/no Plivo REST client configured/);
  });

  it('transfer() to a number redirects the call to signed <Dial> XML served by the routes', async () => {
    api = await fakePlivoApi();
    server = await startPlivoTestServer({ authToken: TOKEN, rest: new PlivoRestClient({ authId: AUTH_ID, authToken: TOKEN, baseUrl: api.url }) });
    const { leg } = await openCall(server, 'c-xfer');
    await leg.transfer({ target: '+14155551234', headers: { 'X-PH-Reason': 'agent' } });
    expect(api.requests).toHaveLength(1);
    const request = api.requests[0];
    expect(request.url).toBe(`/v1/Account/${AUTH_ID}/Call/c-xfer/`);
    const body = request.body as { legs: string; aleg_url: string; aleg_method: string };
    expect(body.legs).toBe('aleg');
    expect(body.aleg_method).toBe('POST');
    expect(body.aleg_url.startsWith(`${server.baseUrl}/plivo/dial?`)).toBe(true);

    // Plivo then fetches that URL (signed, with the call's params) and runs the Dial.
    const dial = await postCallback(body.aleg_url, answerParams('c-xfer', { Event: 'Transfer' }), { authToken: TOKEN });
    expect(dial.status).toBe(200);
    const parsed = xml.parse(dial.text).Response.Dial;
    expect(parsed.Number).toBe(14155551234);
    expect(parsed['@_sipHeaders']).toBe('X-PH-Reason=agent');

    // Unsigned fetches of the dial URL are refused like every other callback.
    expect((await postCallback(body.aleg_url, answerParams('c-xfer'))).status).toBe(403);
  });

  it('transfer() to a URL points the call straight at it; a bad target is refused by the dial route', async () => {
    api = await fakePlivoApi();
    server = await startPlivoTestServer({ authToken: TOKEN, rest: new PlivoRestClient({ authId: AUTH_ID, authToken: TOKEN, baseUrl: api.url }) });
    const { leg } = await openCall(server, 'c-url');
    await leg.transfer({ target: 'https://ivr.example.com/next.xml' });
    expect((api.requests[0].body as { aleg_url: string }).aleg_url).toBe('https://ivr.example.com/next.xml');
    const badUrl = `${server.baseUrl}/plivo/dial?target=drop%20table`;
    const bad = await postCallback(badUrl, answerParams('c-url'), { authToken: TOKEN });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error).toMatch(/"drop table" is neither a phone number/);
  });
});
