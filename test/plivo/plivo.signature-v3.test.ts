import { describe, expect, it } from 'vitest';
import plivo from 'plivo';
import { computeV3Signature, v3SignedString, verifyV3Signature } from '../../src/carriers/plivo/signature.js';

const token = 'my_auth_token';

describe('Plivo Signature V3', () => {
  it('matches the worked example in the protocol doc', () => {
    const params = { CallUUID: 'abc', From: '14155551234', To: '14155550000' };
    expect(v3SignedString('POST', 'https://example.com/answer/', params)).toBe(
      'https://example.com/answer/?CallUUIDabcFrom14155551234To14155550000',
    );
    const sig = computeV3Signature({ method: 'POST', url: 'https://example.com/answer/', params, nonce: '12345', authToken: token });
    expect(sig).toBe('xPInS6JzZcPXRcoL9GxHmfxXY3JGXrni4dCK0SIzwGk=');
  });

  const cases: Array<{ name: string; method: 'GET' | 'POST'; url: string; params: Record<string, string | string[]> }> = [
    { name: 'GET with query and params', method: 'GET', url: 'https://voice.example.com:8443/plivo/answer?b=2&a=1', params: { CallUUID: 'u-1', From: '+14155551234' } },
    { name: 'GET without params', method: 'GET', url: 'http://127.0.0.1:8080/plivo/answer', params: {} },
    { name: 'GET where query and params share a key', method: 'GET', url: 'https://example.com/x?k=z', params: { k: 'a' } },
    { name: 'POST with query', method: 'POST', url: 'https://example.com/plivo/hangup?tenant=t1&z=9', params: { CallUUID: 'u-2', HangupCause: 'NORMAL_CLEARING', Duration: '12' } },
    { name: 'POST without query', method: 'POST', url: 'https://example.com/plivo/hangup', params: { CallUUID: 'u-3', To: '14155550000' } },
    { name: 'POST with query and no params', method: 'POST', url: 'https://example.com/plivo/hangup?x=1', params: {} },
    { name: 'POST with no query and no params', method: 'POST', url: 'https://example.com/plivo/hangup/', params: {} },
    { name: 'multi-valued params', method: 'POST', url: 'https://example.com/cb', params: { Digits: ['9', '1', '5'], A: 'x' } },
    { name: 'multi-valued GET params', method: 'GET', url: 'https://example.com/cb?Digits=7', params: { Digits: ['9', '1'] } },
    { name: 'trailing slash', method: 'POST', url: 'https://example.com/plivo/answer/', params: { CallUUID: 'u-4' } },
    { name: 'non-ASCII values', method: 'POST', url: 'https://example.com/plivo/answer', params: { CallerName: 'Zoë Ångström', Speech: 'こんにちは' } },
    { name: 'non-ASCII GET values', method: 'GET', url: 'https://example.com/plivo/answer', params: { CallerName: 'José' } },
    { name: 'values with URL-special characters', method: 'POST', url: 'https://example.com/a?q=a%20b', params: { From: '+1 415', Extra: 'a=b&c' } },
  ];

  for (const c of cases) {
    it(`agrees with the plivo package: ${c.name}`, () => {
      const signature = computeV3Signature({ method: c.method, url: c.url, params: c.params, nonce: '98765', authToken: token });
      // plivo's validator sorts arrays in place: give it copies.
      const theirParams = Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, Array.isArray(v) ? [...v] : v]));
      expect(plivo.validateV3Signature(c.method, c.url, '98765', token, signature, theirParams)).toBe(true);
      expect(verifyV3Signature({ method: c.method, url: c.url, params: c.params, nonce: '98765', authToken: token, signatureHeader: signature })).toBe(true);
    });
  }

  it('accepts any of several comma-separated signatures', () => {
    const args = { method: 'POST' as const, url: 'https://example.com/a', params: { CallUUID: 'x' }, nonce: '1', authToken: token };
    const good = computeV3Signature(args);
    expect(verifyV3Signature({ ...args, signatureHeader: `bm90LWl0,${good}` })).toBe(true);
    expect(verifyV3Signature({ ...args, signatureHeader: `${good},bm90LWl0` })).toBe(true);
  });

  it('rejects a wrong token, a changed param, a changed nonce, or an empty header', () => {
    const args = { method: 'POST' as const, url: 'https://example.com/a', params: { CallUUID: 'x' }, nonce: '1', authToken: token };
    const good = computeV3Signature(args);
    expect(verifyV3Signature({ ...args, authToken: 'other', signatureHeader: good })).toBe(false);
    expect(verifyV3Signature({ ...args, params: { CallUUID: 'y' }, signatureHeader: good })).toBe(false);
    expect(verifyV3Signature({ ...args, nonce: '2', signatureHeader: good })).toBe(false);
    expect(verifyV3Signature({ ...args, signatureHeader: '' })).toBe(false);
    expect(verifyV3Signature({ ...args, signatureHeader: 'short' })).toBe(false);
  });
});
