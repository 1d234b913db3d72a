import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { PlivoApiError, PlivoRestClient } from '../../src/carriers/plivo/rest-client.js';

const AUTH_ID = 'MAXXXXXXXXXXXXXXXXXX';
const AUTH_TOKEN = 'secret-token';

interface Seen {
  method: string;
  url: string;
  body: unknown;
}

describe('PlivoRestClient against a loopback Plivo API', () => {
  let app: FastifyInstance;
  let baseUrl: string;
  const seen: Seen[] = [];
  const ended = new Set<string>();

  beforeAll(async () => {
    app = Fastify();
    app.addHook('onRequest', async (req, reply) => {
      const expected = `Basic ${Buffer.from(`${AUTH_ID}:${AUTH_TOKEN}`).toString('base64')}`;
      if (req.headers.authorization !== expected) return reply.code(401).send({ api_id: 'x', error: 'authentication failed' });
    });
    app.addHook('preHandler', async (req) => {
      seen.push({ method: req.method, url: req.url, body: req.body });
    });
    const base = `/v1/Account/${AUTH_ID}`;
    app.post(`${base}/Call/`, async (req, reply) => {
      const body = req.body as Record<string, unknown>;
      if (!body.answer_url) return reply.code(400).send({ api_id: 'x', error: 'answer_url is required' });
      const count = String(body.to).split('<').length;
      return reply.code(201).send({ api_id: 'a1', message: 'call fired', request_uuid: count > 1 ? ['r1', 'r2'] : 'r1' });
    });
    app.delete(`${base}/Call/:uuid/`, async (req, reply) => {
      const { uuid } = req.params as { uuid: string };
      if (ended.has(uuid)) return reply.code(404).send({ api_id: 'x', error: 'not found' });
      ended.add(uuid);
      return reply.code(204).send();
    });
    app.post(`${base}/Call/:uuid/`, async () => ({ api_id: 'x', message: 'call transferred' }));
    app.post(`${base}/Call/:uuid/Play/`, async (_req, reply) => reply.code(202).send({ api_id: 'x', message: 'play started' }));
    app.post(`${base}/Call/:uuid/Speak/`, async (_req, reply) => reply.code(202).send({ api_id: 'x', message: 'speak started' }));
    app.post(`${base}/Call/:uuid/DTMF/`, async (_req, reply) => reply.code(202).send({ api_id: 'x', message: 'digits sent' }));
    app.post(`${base}/Call/:uuid/Stream/`, async (_req, reply) => reply.code(202).send({ api_id: 'x', message: 'stream started', stream_id: 'st-1' }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('no address');
    baseUrl = `http://127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    await app.close();
  });

  const client = () => new PlivoRestClient({ authId: AUTH_ID, authToken: AUTH_TOKEN, baseUrl });

  it('places a call with snake_case JSON and returns the request uuid', async () => {
    seen.length = 0;
    const result = await client().makeCall({
      from: '14155550000',
      to: '14155551234',
      answerUrl: 'https://gw.example.com/plivo/answer',
      hangupUrl: 'https://gw.example.com/plivo/hangup',
      ringTimeout: 30,
      machineDetection: 'true',
      sipHeaders: { tenant: 'acme', campaign: 'c7' },
    });
    expect(result).toEqual({ requestUuid: 'r1', requestUuids: ['r1'], message: 'call fired', apiId: 'a1' });
    expect(seen[0].method).toBe('POST');
    expect(seen[0].url).toBe(`/v1/Account/${AUTH_ID}/Call/`);
    expect(seen[0].body).toEqual({
      from: '14155550000',
      to: '14155551234',
      answer_url: 'https://gw.example.com/plivo/answer',
      answer_method: 'POST',
      hangup_url: 'https://gw.example.com/plivo/hangup',
      ring_timeout: 30,
      machine_detection: 'true',
      sip_headers: 'tenant=acme,campaign=c7',
    });
  });

  it('joins several destinations with "<" and returns every request uuid', async () => {
    seen.length = 0;
    const result = await client().makeCall({ from: '1', to: ['2', '3'], answerUrl: 'https://x/a' });
    expect((seen[0].body as { to: string }).to).toBe('2<3');
    expect(result.requestUuids).toEqual(['r1', 'r2']);
  });

  it('hangs up with DELETE and treats 404 as already ended', async () => {
    seen.length = 0;
    expect(await client().hangupCall('call-1')).toBe(true);
    expect(await client().hangupCall('call-1')).toBe(false);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      `DELETE /v1/Account/${AUTH_ID}/Call/call-1/`,
      `DELETE /v1/Account/${AUTH_ID}/Call/call-1/`,
    ]);
  });

  it('transfers, plays, speaks, sends DTMF and starts a stream on the documented paths', async () => {
    seen.length = 0;
    const c = client();
    await c.transferCall('u1', { alegUrl: 'https://gw/plivo/dial?target=%2B1', alegMethod: 'GET' });
    await c.play('u1', { urls: ['https://a/1.mp3', 'https://a/2.mp3'], legs: 'aleg', loop: false, mix: true });
    await c.speak('u1', { text: 'Hello there', voice: 'WOMAN', language: 'en-US' });
    await c.sendDtmf('u1', '12#');
    expect(await c.startStream('u1', { serviceUrl: 'wss://gw/plivo/stream', bidirectional: true, contentType: 'audio/x-l16;rate=16000', extraHeaders: { a: '1' } })).toEqual({ streamId: 'st-1' });
    const p = `/v1/Account/${AUTH_ID}/Call/u1`;
    expect(seen.map((s) => [s.url, s.body])).toEqual([
      [`${p}/`, { legs: 'aleg', aleg_url: 'https://gw/plivo/dial?target=%2B1', aleg_method: 'GET' }],
      [`${p}/Play/`, { urls: 'https://a/1.mp3,https://a/2.mp3', legs: 'aleg', loop: false, mix: true }],
      [`${p}/Speak/`, { text: 'Hello there', voice: 'WOMAN', language: 'en-US' }],
      [`${p}/DTMF/`, { digits: '12#' }],
      [`${p}/Stream/`, { service_url: 'wss://gw/plivo/stream', bidirectional: true, content_type: 'audio/x-l16;rate=16000', extra_headers: 'a=1' }],
    ]);
  });

  it('reports API errors with status and Plivo message', async () => {
    const err = await client()
      .makeCall({ from: '1', to: '2', answerUrl: '' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlivoApiError);
    expect((err as PlivoApiError).status).toBe(400);
    expect((err as PlivoApiError).message).toMatch(/POST \/v1\/Account\/.*\/Call\/ failed with HTTP 400: answer_url is required/);
  });

  it('reports wrong credentials as 401', async () => {
    const bad = new PlivoRestClient({ authId: AUTH_ID, authToken: 'wrong', baseUrl });
    await expect(bad.hangupCall('x')).rejects.toMatchObject({ status: 401, apiMessage: 'authentication failed' });
  });

  it('reports an unreachable API as status 0 naming the request', async () => {
    const down = new PlivoRestClient({ authId: AUTH_ID, authToken: AUTH_TOKEN, baseUrl: 'http://127.0.0.1:1' });
    const err = (await down.hangupCall('x').catch((e: unknown) => e)) as PlivoApiError;
    expect(err).toBeInstanceOf(PlivoApiError);
    expect(err.status).toBe(0);
    expect(err.message).toMatch(/DELETE \/v1\/Account\/.*\/Call\/x\/ failed/);
  });

  it('refuses invalid DTMF digits before calling the API', async () => {
    await expect(client().sendDtmf('u1', '12;DROP')).rejects.toThrow(/"12;DROP" are invalid/);
  });
});
