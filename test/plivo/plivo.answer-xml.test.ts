import { describe, expect, it } from 'vitest';
import plivo from 'plivo';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import {
  dialXml,
  formatExtraHeaders,
  hangupXml,
  parseExtraHeaders,
  parsePlivoContentType,
  streamXml,
} from '../../src/carriers/plivo/answer-xml.js';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', ignoreDeclaration: true, parseAttributeValue: false, parseTagValue: false });

function parse(xml: string): unknown {
  expect(XMLValidator.validate(xml)).toBe(true);
  return parser.parse(xml);
}

describe('Plivo answer XML', () => {
  it('produces the same document as the plivo package builder for a bidirectional stream', () => {
    const url = 'wss://voice.example.com/plivo/stream?tenant=a&b="x"';
    const ours = streamXml({
      streamUrl: url,
      contentType: 'audio/x-mulaw;rate=8000',
      extraHeaders: { callId: 'c1', tenant: 'acme' },
      statusCallbackUrl: 'https://voice.example.com/plivo/stream-status?a=1&b=2',
    });
    const theirs = plivo.Response();
    theirs.addStream(url, {
      bidirectional: 'true',
      keepCallAlive: 'true',
      contentType: 'audio/x-mulaw;rate=8000',
      extraHeaders: 'callId=c1,tenant=acme',
      statusCallbackUrl: 'https://voice.example.com/plivo/stream-status?a=1&b=2',
      statusCallbackMethod: 'POST',
    });
    expect(parse(ours)).toEqual(parse(theirs.toXML()));
    const stream = (parse(ours) as { Response: { Stream: Record<string, string> } }).Response.Stream;
    expect(stream['#text']).toBe(url);
    expect(stream['@_contentType']).toBe('audio/x-mulaw;rate=8000');
  });

  for (const contentType of ['audio/x-l16;rate=8000', 'audio/x-l16;rate=16000'] as const) {
    it(`states contentType ${contentType} explicitly`, () => {
      const ours = streamXml({ streamUrl: 'ws://127.0.0.1:8080/plivo/stream', contentType });
      const theirs = plivo.Response();
      theirs.addStream('ws://127.0.0.1:8080/plivo/stream', { bidirectional: 'true', keepCallAlive: 'true', contentType });
      expect(parse(ours)).toEqual(parse(theirs.toXML()));
    });
  }

  it('escapes markup in the URL and attributes', () => {
    const xml = streamXml({ streamUrl: 'wss://h/s?a=<b>&c=\'d\'', contentType: 'audio/x-mulaw;rate=8000', statusCallbackUrl: 'https://h/"q"' });
    expect(xml).not.toMatch(/<b>/);
    const stream = (parse(xml) as { Response: { Stream: Record<string, string> } }).Response.Stream;
    expect(stream['#text']).toBe("wss://h/s?a=<b>&c='d'");
  });

  it('refuses a non-websocket URL and extra headers that would corrupt the list', () => {
    expect(() => streamXml({ streamUrl: 'https://h/s', contentType: 'audio/x-mulaw;rate=8000' })).toThrow(/wss:\/\//);
    expect(() => formatExtraHeaders({ a: 'x,y' })).toThrow(/separators/);
    expect(() => formatExtraHeaders({ 'a b': 'x' })).toThrow(/key "a b"/);
  });

  it('builds a hangup the plivo package agrees with', () => {
    const theirs = plivo.Response();
    theirs.addHangup({ reason: 'busy' });
    expect(parse(hangupXml('busy'))).toEqual(parse(theirs.toXML()));
    const plain = plivo.Response();
    plain.addHangup({});
    expect(parse(hangupXml())).toEqual(parse(plain.toXML()));
  });

  it('parses content types and names the accepted ones on bad input', () => {
    expect(parsePlivoContentType('audio/x-mulaw;rate=8000')).toEqual({ encoding: 'audio/x-mulaw', sampleRate: 8000 });
    expect(parsePlivoContentType('audio/x-l16; rate=16000')).toEqual({ encoding: 'audio/x-l16', sampleRate: 16000 });
    expect(() => parsePlivoContentType('audio/x-l16;rate=44100')).toThrow(/audio\/x-l16;rate=16000/);
    expect(() => parsePlivoContentType('audio/wav')).toThrow(/Unsupported Plivo contentType "audio\/wav"/);
  });

  it('parses extra headers in both separator shapes', () => {
    expect(parseExtraHeaders('a=1,b=2')).toEqual({ a: '1', b: '2' });
    expect(parseExtraHeaders('a=1;b=2')).toEqual({ a: '1', b: '2' });
    expect(parseExtraHeaders(undefined)).toEqual({});
  });

  it('builds transfer <Dial> XML the plivo package agrees with', () => {
    const theirs = plivo.Response();
    theirs.addDial({ sipHeaders: 'reason=agent' }).addNumber('14155551234');
    expect(parse(dialXml('+14155551234', { sipHeaders: { reason: 'agent' } }))).toEqual(parse(theirs.toXML()));
    const sip = plivo.Response();
    sip.addDial({}).addUser('sip:agent@pbx.example.com', { sipHeaders: 'a=1' });
    expect(parse(dialXml('sip:agent@pbx.example.com', { sipHeaders: { a: '1' } }))).toEqual(parse(sip.toXML()));
    expect(() => dialXml('12; rm -rf')).toThrow(/neither a phone number/);
  });
});
