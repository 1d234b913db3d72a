import { describe, expect, it } from 'vitest';
import { parseSipMessage, SipParseError } from '../../../src/carriers/sip/message/parser.js';
import { parseCSeq, parseNameAddr, parseUri, parseVia, unescapeUser } from '../../../src/carriers/sip/message/headers.js';
import type { SipMessage, SipRequest, SipResponse } from '../../../src/carriers/sip/message/sip-message.js';
import { tortureMessage, tortureNames } from './fixtures/messages.js';

// RFC 4475 describes every message as arriving over UDP.
const parse = (name: string): SipMessage => parseSipMessage(tortureMessage(name), { datagram: true });
const request = (name: string): SipRequest => parse(name) as SipRequest;
const response = (name: string): SipResponse => parse(name) as SipResponse;

function rejection(name: string): SipParseError {
  try {
    parse(name);
  } catch (err) {
    expect(err).toBeInstanceOf(SipParseError);
    return err as SipParseError;
  }
  throw new Error(`${name} parsed, but RFC 4475 calls it invalid`);
}

/** Messages RFC 4475 says are syntactically valid (3.1.1, 3.2, 3.3 apart from those with errors, 3.4). */
const VALID = [
  'wsinv', 'intmeth', 'esc01', 'escnull', 'esc02', 'lwsdisp', 'longreq', 'dblreq', 'semiuri', 'transports', 'mpart01',
  'unreason', 'noreason', 'badbranch', 'unkscm', 'novelsc', 'unksm2', 'bext01', 'invut', 'regaut01', 'bcast', 'zeromf',
  'cparam01', 'cparam02', 'regescrt', 'sdp01', 'inv2543',
];

/** Invalid messages and what the error must say. */
const INVALID: Record<string, RegExp> = {
  badinv01: /malformed Via .*empty parameter/,
  clerr: /Content-Length 9999 exceeds the 154-byte body/,
  ncl: /malformed Content-Length '-999'/,
  scalar02: /CSeq number '36893488147419103232' does not fit in 32 bits/,
  scalarlg: /CSeq number '9292394834772304023312' does not fit in 32 bits/,
  quotbal: /malformed To: unterminated quoted string/,
  ltgtruri: /malformed Request-URI '<sip:user@example.com>'/,
  lwsruri: /malformed request line .*single spaces/,
  lwsstart: /malformed request line .*single spaces/,
  trws: /malformed request line .*single spaces/,
  escruri: /Request-URI .* carries headers/,
  baddate: /malformed Date 'Fri, 01 Jan 2010 16:00:00 EST'/,
  regbadct: /malformed Contact: a URI with '\?' must be enclosed in <>/,
  badaspec: /malformed To: spaces inside <> around the URI/,
  baddn: /malformed From: display name 'Bell, Alexander' must be quoted/,
  badvers: /unsupported SIP version 'SIP\/7.0'/,
  mismatch01: /CSeq method 'INVITE' does not match the request method 'OPTIONS'/,
  mismatch02: /CSeq method 'INVITE' does not match the request method 'NEWMETHOD'/,
  bigcode: /malformed status code '4294967301'/,
  insuf: /missing From, To and Call-ID headers/,
  multi01: /multiple Call-ID headers/,
  mcl01: /multiple Content-Length headers/,
};

describe('RFC 4475 torture messages', () => {
  it('covers every message of the RFC exactly once', () => {
    expect([...VALID, ...Object.keys(INVALID)].sort()).toEqual(tortureNames());
  });

  for (const name of VALID) {
    it(`parses the valid ${name}`, () => {
      const message = parse(name);
      expect(['request', 'response']).toContain(message.kind);
      for (const via of message.headers.getAll('Via')) expect(() => parseVia(via)).not.toThrow();
    });
  }

  for (const [name, reason] of Object.entries(INVALID)) {
    it(`rejects the invalid ${name}, saying why`, () => {
      expect(rejection(name).message).toMatch(reason);
    });
  }

  it('wsinv: folded lines, odd spacing, mixed compact and long names, escaped quotes, leading zeros', () => {
    const invite = request('wsinv');
    expect(invite.method).toBe('INVITE');
    expect(invite.uri).toBe('sip:vivekg@chair-dnrc.example.com;unknownparam');
    expect(parseNameAddr(invite.headers.get('From')!)).toMatchObject({ displayName: 'J Rosenberg \\"', uri: 'sip:jdrosen@example.com' });
    expect(parseNameAddr(invite.headers.get('From')!).params.get('tag')).toBe('98asjd8');
    expect(parseNameAddr(invite.headers.get('To')!).params.get('tag')).toBe('1918181833n');
    expect(invite.headers.get('Max-Forwards')).toBe('0068');
    expect(parseCSeq(invite.headers.get('CSeq')!)).toEqual({ seq: 9, method: 'INVITE' });
    expect(invite.headers.get('Subject')).toBe('');
    expect(invite.headers.get('NewFangledHeader')).toBe('newfangled value continued newfangled value');
    expect(invite.headers.get('UnknownHeaderWithUnusualValue')).toBe(';;,,;;,;');
    const vias = invite.headers.getAll('Via').map(parseVia);
    expect(vias.map((v) => [v.transport, v.host, v.params.get('branch')])).toEqual([
      ['UDP', '192.0.2.2', '390skdjuw'],
      ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
      ['UDP', '192.168.255.111', 'z9hG4bK30239'],
    ]);
    const contact = parseNameAddr(invite.headers.get('Contact')!);
    expect(contact.displayName).toBe('Quoted string ""');
    expect([...contact.params]).toEqual([
      ['newparam', 'newvalue'],
      ['secondparam', null],
      ['q', '0.33'],
    ]);
    expect(parseNameAddr(invite.headers.get('Route')!).uri).toBe('sip:services.example.com;lr;unknownwith=value;unknown-no-value');
    expect(invite.body.length).toBe(150);
  });

  it('intmeth: every token character in a method, URI user and password, and escaped control characters in a quoted string', () => {
    const req = request('intmeth');
    expect(req.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
    const uri = parseUri(req.uri);
    expect(uri.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(uri.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    expect(uri.host).toBe('example.com');
    expect(parseNameAddr(req.headers.get('To')!).displayName).toBe('BEL:\x07 NUL:\x00 DEL:\x7f');
    expect(req.headers.get('Call-ID')).toBe('intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
    expect(req.headers.get("extensionHeader-!.%*+_`'~")).toBe('\uFEFF大停電');
    const from = parseNameAddr(req.headers.get('From')!);
    expect(from.displayName).toBe("token1~` token2'+_ token3*%!.-");
    expect(from.params.get("fromparam''~+*_!.-%")).toBe('"работающий"');
    expect(from.params.get('tag')).toBe("_token~1'+`*%!-.");
  });

  it('esc01 and escnull: escapes stay as written in the URI and resolve with unescapeUser', () => {
    const esc = request('esc01');
    expect(parseUri(esc.uri).user).toBe('sips%3Auser%40example.com');
    expect(unescapeUser(parseUri(esc.uri).user!)).toBe('sips:user@example.com');
    expect(unescapeUser(parseUri(parseNameAddr(esc.headers.get('To')!).uri).user!)).toBe('user');
    expect(esc.headers.get('Content-Type')).toBe('application/sdp');
    const contact = parseUri(parseNameAddr(esc.headers.get('Contact')!).uri);
    expect([...contact.params]).toEqual([
      ['%6c%72', null],
      ['n%61me', 'v%61lue%25%34%31'],
    ]);
    const nul = request('escnull');
    expect(nul.headers.getAll('Contact')).toEqual(['<sip:%00@host5.example.com>', '<sip:%00%00@host5.example.com>']);
    expect(unescapeUser(parseUri(parseNameAddr(nul.headers.get('To')!).uri).user!)).toBe('null-\x00-null');
  });

  it('esc02: a % that is not an escape is fine where the grammar allows it, and C%6Fntact is not Contact', () => {
    const req = request('esc02');
    expect(req.method).toBe('RE%47IST%45R');
    expect(parseNameAddr(req.headers.get('To')!).displayName).toBe('%Z%45');
    expect(req.headers.getAll('Contact')).toEqual(['<sip:alias1@host1.example.com>', '<sip:alias3@host3.example.com>']);
    expect(req.headers.get('C%6Fntact')).toBe('<sip:alias2@host2.example.com>');
  });

  it('lwsdisp, semiuri, transports, longreq: display names without space, ; in the user part, unknown transports, 34 Vias', () => {
    expect(parseNameAddr(request('lwsdisp').headers.get('From')!).displayName).toBe('caller');
    expect(parseUri(request('semiuri').uri).user).toBe('user;par=u%40example.net');
    expect(request('semiuri').headers.getAll('Accept')).toHaveLength(6);
    expect(request('transports').headers.getAll('Via').map((v) => parseVia(v).transport)).toEqual(['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
    const long = request('longreq');
    expect(long.headers.getAll('Via')).toHaveLength(34);
    expect(parseVia(long.headers.getAll('Via')[33]).params.get('received')).toBe('192.0.2.5');
  });

  it('dblreq: over UDP, bytes after the Content-Length body are ignored; on a stream they are an error', () => {
    const req = request('dblreq');
    expect(req.method).toBe('REGISTER');
    expect(req.body.length).toBe(0);
    expect(() => parseSipMessage(tortureMessage('dblreq'))).toThrow(/bytes follow the 0-byte body/);
  });

  it('inv2543: RFC 2543 style without branch or tags and, over UDP, without Content-Length', () => {
    const req = request('inv2543');
    expect(parseVia(req.headers.get('Via')!).params.has('branch')).toBe(false);
    expect(req.headers.has('Content-Length')).toBe(false);
    expect(req.body.toString()).toMatch(/^v=0\r\n/);
    expect(parseNameAddr(req.headers.get('To')!).params.get('user')).toBe('phone');
  });

  it('unreason, noreason: UTF-8 and empty reason phrases', () => {
    expect(response('unreason').reason).toBe('= 2**3 * 5**2 но сто девяносто девять - простое');
    expect(response('unreason').status).toBe(200);
    expect(response('noreason')).toMatchObject({ status: 100, reason: '' });
  });

  it('unkscm, novelsc, unksm2: URIs of schemes it does not know are accepted as URIs', () => {
    expect(request('unkscm').uri).toBe('nobodyKnowsThisScheme:totallyopaquecontent');
    expect(request('novelsc').uri).toBe('soap.beep://192.0.2.103:3002');
    const req = request('unksm2');
    expect(parseNameAddr(req.headers.get('To')!).uri).toBe('isbn:2983792873');
    expect(parseNameAddr(req.headers.get('From')!).uri).toBe('http://www.example.com');
  });

  it('cparam01 and regescrt: parameters after an addr-spec belong to the header; headers in <> belong to the URI', () => {
    const addrSpec = parseNameAddr(request('cparam01').headers.get('Contact')!);
    expect(addrSpec.uri).toBe('sip:+19725552222@gw1.example.net');
    expect(addrSpec.params.has('unknownparam')).toBe(true);
    const inBrackets = parseNameAddr(request('cparam02').headers.get('Contact')!);
    expect(parseUri(inBrackets.uri).params.has('unknownparam')).toBe(true);
    const escaped = parseUri(parseNameAddr(request('regescrt').headers.get('Contact')!).uri);
    expect(escaped.headers.get('Route')).toBe('%3Csip:sip.example.com%3E');
  });

  it('badvers asks for 505 and still carries the request to answer it', () => {
    const err = rejection('badvers');
    expect(err.status).toBe(505);
    expect(err.partial?.method).toBe('OPTIONS');
    expect(err.partial?.headers.get('Call-ID')).toBe('badvers.31417@c.example.com');
  });

  it('carries the request for a 400 when its Via, From, To, Call-ID and CSeq parsed, and not otherwise', () => {
    for (const name of ['clerr', 'ncl', 'mismatch01', 'mismatch02', 'baddate', 'escruri', 'ltgtruri', 'regbadct', 'mcl01', 'scalar02']) {
      const err = rejection(name);
      expect(err.status, name).toBe(400);
      expect(err.partial?.kind, name).toBe('request');
    }
    for (const name of ['insuf', 'multi01', 'quotbal', 'badaspec', 'baddn', 'lwsruri', 'bigcode', 'scalarlg']) {
      expect(rejection(name).partial, name).toBeUndefined();
    }
  });
});
