import { afterEach, describe, expect, it } from 'vitest';
import { XMLParser } from 'fast-xml-parser';
import { hangupSide } from '../../src/carriers/plivo/routes.js';
import { answerParams, postCallback, signedHeaders, startPlivoTestServer, type PlivoTestServer } from '../support/plivo-harness.js';

const TOKEN = 'cb-token';
const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_' });

describe('Plivo answer and hangup callbacks', () => {
  let server: PlivoTestServer;
  afterEach(async () => {
    await server.close();
  });

  it('accepts a signed GET answer with the params in the query', async () => {
    server = await startPlivoTestServer({ authToken: TOKEN });
    const url = `${server.baseUrl}/plivo/answer?${new URLSearchParams(answerParams('g-1', { Direction: 'outbound', ALegRequestUUID: 'req-9' }))}`;
    const res = await fetch(url, { headers: signedHeaders('GET', url, {}, TOKEN) });
    expect(res.status).toBe(200);
    expect(xml.parse(await res.text()).Response.Stream['@_contentType']).toBe('audio/x-mulaw;rate=8000');
    expect(server.handler.answered[0]).toMatchObject({ carrierCallId: 'g-1', direction: 'outbound', extra: { ALegRequestUUID: 'req-9' } });
    const forged = await fetch(url, { headers: signedHeaders('GET', url.replace('g-1', 'g-2'), {}, TOKEN) });
    expect(forged.status).toBe(403);
  });

  it('verifies repeated form keys as Plivo signs them', async () => {
    server = await startPlivoTestServer({ authToken: TOKEN });
    const res = await postCallback(`${server.baseUrl}/plivo/answer`, { ...answerParams('m-1'), 'X-PH-Tag': ['b', 'a'] }, { authToken: TOKEN });
    expect(res.status).toBe(200);
    expect(server.handler.answered[0].extra?.['X-PH-Tag']).toBe('b');
  });

  it('a retried answer URL does not start a second call', async () => {
    server = await startPlivoTestServer({ authToken: TOKEN });
    const first = await postCallback(`${server.baseUrl}/plivo/answer`, answerParams('r-1'), { authToken: TOKEN });
    const second = await postCallback(`${server.baseUrl}/plivo/answer`, answerParams('r-1', { Event: 'Redirect' }), { authToken: TOKEN });
    expect(second.text).toBe(first.text);
    expect(server.handler.answered).toHaveLength(1);
  });

  it('reports who hung up and for how long, and refuses to re-answer an ended call', async () => {
    server = await startPlivoTestServer({ authToken: TOKEN });
    await postCallback(`${server.baseUrl}/plivo/answer`, answerParams('h-1', { Direction: 'outbound' }), { authToken: TOKEN });
    await postCallback(`${server.baseUrl}/plivo/hangup`, { CallUUID: 'h-1', HangupCause: 'NORMAL_CLEARING', HangupSource: 'Callee', Duration: '7' }, { authToken: TOKEN });
    expect(server.handler.ended).toEqual([{ callId: 'vx-1', end: { cause: 'NORMAL_CLEARING', side: 'caller', durationSec: 7 } }]);
    const again = await postCallback(`${server.baseUrl}/plivo/answer`, answerParams('h-1'), { authToken: TOKEN });
    expect(xml.parse(again.text).Response).toHaveProperty('Hangup');
    expect(server.handler.answered).toHaveLength(1);
  });

  it('maps HangupSource to the side that ended the call', () => {
    expect(hangupSide('Caller', 'inbound')).toBe('caller');
    expect(hangupSide('Callee', 'outbound')).toBe('caller');
    expect(hangupSide('Caller', 'outbound')).toBe('gateway');
    expect(hangupSide('API Request', 'inbound')).toBe('gateway');
    expect(hangupSide('Answer XML', 'inbound')).toBe('gateway');
    expect(hangupSide('Plivo', 'inbound')).toBe('carrier');
    expect(hangupSide('Error', 'inbound')).toBe('carrier');
    expect(hangupSide(undefined, 'inbound')).toBe('carrier');
  });
});
