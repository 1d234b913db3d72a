import { describe, expect, it } from 'vitest';
import { readRoutingToken, routingToken, withRoutingToken } from '../../src/cluster/routing-token.js';
import { checkForwardedBy, forwardedByHeader } from '../../src/cluster/internal-auth.js';
import { parseForm } from '../../src/carriers/callback-params.js';
import { formEncode, signatureBases } from '../../src/carriers/public-urls.js';
import { computeV3Signature, verifyV3Signature } from '../../src/carriers/plivo/signature.js';
import { computeTwilioSignature, verifyTwilioSignature } from '../../src/carriers/twilio/signature.js';

const SECRET = 'routing-token-test-secret-0123456789abcdef';

describe('the routing token', () => {
  it('names its instance (everything before the last dot) and carries a 22-character signature a balancer can match on', () => {
    const token = routingToken(SECRET, 'host-1.example:8080');
    expect(token).toMatch(/^host-1\.example:8080\.[A-Za-z0-9_-]{22}$/);
    expect(readRoutingToken(SECRET, token)).toEqual({ instanceId: 'host-1.example:8080' });
  });

  it('is refused when signed with another secret, altered, or not a token at all', () => {
    const token = routingToken('another-secret-another-secret-another', 'vg-a');
    expect(readRoutingToken(SECRET, token)).toEqual({ problem: `routing token for instance "vg-a" is not signed with this cluster's secret` });
    expect(readRoutingToken(SECRET, routingToken(SECRET, 'vg-a').replace('vg-a', 'vg-b'))).toMatchObject({ problem: expect.stringContaining('"vg-b"') });
    expect(readRoutingToken(SECRET, 'nodot')).toEqual({ problem: 'routing token "nodot" is not <instanceId>.<signature>' });
  });

  it('goes into a URL unencoded, after any query, before any fragment; no token leaves the URL as it was', () => {
    const token = routingToken(SECRET, 'h:1');
    expect(withRoutingToken('https://v.example.com/plivo/answer?callId=x', token)).toBe(`https://v.example.com/plivo/answer?callId=x&vxr=${token}`);
    expect(withRoutingToken('https://v.example.com/dial', token)).toBe(`https://v.example.com/dial?vxr=${token}`);
    expect(withRoutingToken('https://v.example.com/a?b=1#f', token)).toBe(`https://v.example.com/a?b=1&vxr=${token}#f`);
    expect(withRoutingToken('https://v.example.com/a?b=1', undefined)).toBe('https://v.example.com/a?b=1');
  });
});

describe('a forwarded request', () => {
  const request = { method: 'POST', url: '/plivo/hangup?vxr=x', body: 'CallUUID=1', forwardedProto: 'https', forwardedHost: 'v.example.com' };

  it('is proved by its header for 30 s, over its method, URL, body and public URL', () => {
    const header = forwardedByHeader(SECRET, 'vg-b', request, 1_000_000);
    expect(checkForwardedBy(SECRET, header, request, 1_029_000)).toEqual({ instanceId: 'vg-b' });
    expect(checkForwardedBy(SECRET, header, request, 1_031_000)).toMatchObject({ problem: expect.stringContaining('31 s old') });
    for (const changed of [{ body: 'CallUUID=2' }, { url: '/plivo/answer?vxr=x' }, { forwardedHost: 'evil.example.com' }, { method: 'GET' }]) {
      expect(checkForwardedBy(SECRET, header, { ...request, ...changed }, 1_000_000)).toMatchObject({ problem: expect.stringContaining('not signed') });
    }
  });

  it('keeps a carrier signature valid once its form body is parsed and encoded again (repeated keys, odd characters, any order)', () => {
    const original = 'To=%2B14155550100&From=%2B1%20415&Digits=1&Digits=2&Note=a%26b%3Dc+%C3%A9&1=first&Empty=';
    const reEncoded = parseForm(formEncode(parseForm(original)));
    const url = 'https://v.example.com/plivo/hangup?vxr=vg-a.sig';
    const plivo = computeV3Signature({ method: 'POST', url, params: parseForm(original), nonce: '123', authToken: 'tok' });
    expect(verifyV3Signature({ method: 'POST', url, params: reEncoded, nonce: '123', authToken: 'tok', signatureHeader: plivo })).toBe(true);
    const twilio = computeTwilioSignature('tok', url, new URLSearchParams(original));
    expect(verifyTwilioSignature({ authToken: 'tok', url, params: reEncoded, signatureHeader: twilio })).toBe(true);
  });
});

describe('the public URLs a signature is checked against', () => {
  const configured = ['https://own-a.internal:8443/', 'https://voice.example.com', 'wss://voice.example.com/base'];

  it('are the configured ones only, the one the request came in on first', () => {
    expect(signatureBases(configured, { proto: 'https', host: 'VOICE.example.com:443' })).toEqual(['https://voice.example.com', 'https://voice.example.com/base', 'https://own-a.internal:8443']);
    expect(signatureBases(configured, { proto: 'http', host: '10.0.0.5:8080' })).toEqual(['https://own-a.internal:8443', 'https://voice.example.com', 'https://voice.example.com/base']);
  });
});
