import { afterEach, describe, expect, it } from 'vitest';
import { XMLParser } from 'fast-xml-parser';
import { formatStreamExtraHeaders, parseExtraHeaders, streamXml } from '../../src/carriers/plivo/answer-xml.js';
import { parsePlivoStreamMessage } from '../../src/carriers/plivo/stream-protocol.js';
import { parseConfig } from '../../src/config/load.js';
import { answerParams, postCallback, startPlivoTestServer, type PlivoTestServer } from '../support/plivo-harness.js';

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseAttributeValue: false, parseTagValue: false });

describe('Plivo <Stream extraHeaders> keep Plivo\'s rule (letters and digits, at most 512 bytes)', () => {
  let server: PlivoTestServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('the answer XML carries no extraHeaders by default, so a call id with hyphens never reaches the attribute', async () => {
    server = await startPlivoTestServer({ newCallId: () => '6f1c2a4e-94b1-4c55-8f3e-0a1b2c3d4e5f' });
    const answer = await postCallback(`${server.baseUrl}/plivo/answer`, answerParams('call-with-uuid'));
    expect(answer.status).toBe(200);
    const stream = xml.parse(answer.text).Response.Stream as Record<string, string>;
    expect(stream['@_extraHeaders']).toBeUndefined();
  });

  it('configured extra headers are sent as k=v pairs', async () => {
    server = await startPlivoTestServer({ streamExtraHeaders: { tenant: 'acme', tier: '2' } });
    const answer = await postCallback(`${server.baseUrl}/plivo/answer`, answerParams('call-2'));
    expect(xml.parse(answer.text).Response.Stream['@_extraHeaders']).toBe('tenant=acme,tier=2');
  });

  it('refuses a key or value outside [A-Za-z0-9], naming it and the rule', () => {
    expect(() => formatStreamExtraHeaders({ voxgateCallId: '6f1c2a4e-94b1' })).toThrow(/value "6f1c2a4e-94b1" of "voxgateCallId" breaks Plivo's extraHeaders rule: keys and values of letters and digits only/);
    expect(() => formatStreamExtraHeaders({ 'X-Tenant': 'acme' })).toThrow(/key "X-Tenant" breaks/);
    expect(() => formatStreamExtraHeaders({ a: '' })).toThrow(/value "" of "a"/);
    expect(() => streamXml({ streamUrl: 'wss://h/s', contentType: 'audio/x-mulaw;rate=8000', extraHeaders: { id: 'a_b' } })).toThrow(/Plivo <Stream> value "a_b"/);
  });

  it('refuses more than 512 bytes and accepts exactly 512', () => {
    expect(formatStreamExtraHeaders({ k: 'v'.repeat(510) })).toHaveLength(512);
    expect(() => formatStreamExtraHeaders({ k: 'v'.repeat(511) })).toThrow(/513 bytes, over Plivo's limit/);
  });

  it('a configuration with bad streamExtraHeaders fails at load with the key and the rule', () => {
    expect(() => parseConfig({ carriers: { plivo: { streamExtraHeaders: { tenant: 'acme corp' } } } })).toThrow(/streamExtraHeaders[\s\S]*value "acme corp" of "tenant" breaks Plivo's extraHeaders rule/);
    expect(parseConfig({ carriers: { plivo: { streamExtraHeaders: { tenant: 'acme' } } } }).carriers.plivo?.streamExtraHeaders).toEqual({ tenant: 'acme' });
  });

  it('the routes refuse to start with headers that break the rule', async () => {
    await expect(startPlivoTestServer({ streamExtraHeaders: { 'bad-key': '1' } })).rejects.toThrow(/Plivo streamExtraHeaders: key "bad-key"/);
  });
});

describe('extra_headers on Plivo stream messages', () => {
  it('media and dtmf are parsed with and without the top-level extra_headers Plivo sends', () => {
    const media = { event: 'media', sequenceNumber: 2, streamId: 's', media: { track: 'inbound', timestamp: '1', chunk: 1, payload: 'AAAA' } };
    expect(parsePlivoStreamMessage(JSON.stringify(media))).toMatchObject({ event: 'media', media: { payload: 'AAAA' } });
    expect(parsePlivoStreamMessage(JSON.stringify({ ...media, extra_headers: '{}' }))).toMatchObject({ event: 'media', media: { payload: 'AAAA' } });
    const dtmf = { event: 'dtmf', sequenceNumber: 3, streamId: 's', dtmf: { track: 'inbound', digit: '7', timestamp: '2' } };
    expect(parsePlivoStreamMessage(JSON.stringify(dtmf))).toMatchObject({ event: 'dtmf', digit: '7' });
    expect(parsePlivoStreamMessage(JSON.stringify({ ...dtmf, extra_headers: 'tenant=acme' }))).toMatchObject({ event: 'dtmf', digit: '7' });
  });

  it('reads every shape Plivo uses for the headers', () => {
    expect(parseExtraHeaders('a=1,b=2')).toEqual({ a: '1', b: '2' });
    expect(parseExtraHeaders('a=1;b=2')).toEqual({ a: '1', b: '2' });
    expect(parseExtraHeaders('{}')).toEqual({});
    expect(parseExtraHeaders('{X-PH-key1: value1, b: 2}')).toEqual({ 'X-PH-key1': 'value1', b: '2' });
    expect(parseExtraHeaders('{"a":"1","n":2}')).toEqual({ a: '1', n: '2' });
  });
});
