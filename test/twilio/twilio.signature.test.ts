import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { computeTwilioSignature, verifyTwilioSignature } from '../../src/carriers/twilio/signature.js';

const { getExpectedTwilioSignature, validateRequest, validateRequestWithBody } = twilio;

// The worked example of Twilio's security documentation (and of the protocol notes).
const DOC_TOKEN = '12345';
const DOC_URL = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const DOC_PARAMS = { CallSid: 'CA1234567890ABCDE', Caller: '+14158675309', Digits: '1234', From: '+14158675309', To: '+18005551212' };
const DOC_SIGNATURE = 'RSOYDt4T1cUTdK1PDd93/VVr8B8=';

/** A deterministic pseudo-random generator, so generated cases are the same on every run. */
function generator(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

const ALPHABET = 'abcXYZ019 +&=%/?é😀_-.~';
function text(rand: () => number, max: number): string {
  let out = '';
  const n = 1 + Math.floor(rand() * max);
  for (let i = 0; i < n; i++) out += [...ALPHABET][Math.floor(rand() * [...ALPHABET].length)];
  return out;
}

describe('Twilio request signature (X-Twilio-Signature)', () => {
  it('reproduces the worked example of Twilio\'s documentation', () => {
    expect(computeTwilioSignature(DOC_TOKEN, DOC_URL, DOC_PARAMS)).toBe(DOC_SIGNATURE);
    expect(verifyTwilioSignature({ authToken: DOC_TOKEN, url: DOC_URL, params: DOC_PARAMS, signatureHeader: DOC_SIGNATURE })).toBe(true);
  });

  it('reads the parameters from a form body when they are not given parsed', () => {
    const body = new URLSearchParams(DOC_PARAMS).toString();
    expect(verifyTwilioSignature({ authToken: DOC_TOKEN, url: DOC_URL, body, signatureHeader: DOC_SIGNATURE })).toBe(true);
  });

  it('rejects a changed parameter, URL, token, a missing header and a truncated signature', () => {
    const base = { authToken: DOC_TOKEN, url: DOC_URL, params: DOC_PARAMS, signatureHeader: DOC_SIGNATURE };
    expect(verifyTwilioSignature({ ...base, params: { ...DOC_PARAMS, Digits: '1235' } })).toBe(false);
    expect(verifyTwilioSignature({ ...base, params: { ...DOC_PARAMS, Extra: '' } })).toBe(false);
    expect(verifyTwilioSignature({ ...base, url: DOC_URL.replace('foo=1', 'foo=2') })).toBe(false);
    expect(verifyTwilioSignature({ ...base, authToken: '12346' })).toBe(false);
    expect(verifyTwilioSignature({ ...base, signatureHeader: undefined })).toBe(false);
    expect(verifyTwilioSignature({ ...base, signatureHeader: '' })).toBe(false);
    expect(verifyTwilioSignature({ ...base, signatureHeader: DOC_SIGNATURE.slice(0, -2) })).toBe(false);
  });

  it('accepts the URL with and without the default port, whichever Twilio signed', () => {
    const withPort = 'https://mycompany.com:443/myapp.php?foo=1&bar=2';
    const signedWithPort = computeTwilioSignature(DOC_TOKEN, withPort, DOC_PARAMS);
    expect(verifyTwilioSignature({ authToken: DOC_TOKEN, url: DOC_URL, params: DOC_PARAMS, signatureHeader: signedWithPort })).toBe(true);
    expect(verifyTwilioSignature({ authToken: DOC_TOKEN, url: withPort, params: DOC_PARAMS, signatureHeader: DOC_SIGNATURE })).toBe(true);
    const http = 'http://user:pw@example.com/voice';
    expect(verifyTwilioSignature({ authToken: DOC_TOKEN, url: http, params: {}, signatureHeader: computeTwilioSignature(DOC_TOKEN, 'http://user:pw@example.com:80/voice') })).toBe(true);
    // Another port is part of the URL: signed without it, the request to port 8443 does not verify.
    const other = 'https://mycompany.com:8443/myapp.php';
    expect(verifyTwilioSignature({ authToken: DOC_TOKEN, url: other, params: {}, signatureHeader: computeTwilioSignature(DOC_TOKEN, 'https://mycompany.com/myapp.php') })).toBe(false);
  });

  it('JSON bodies: checks the body against bodySHA256 and signs the URL alone', () => {
    const body = JSON.stringify({ CallSid: 'CA1', event: 'x', nested: { a: [1, 2] } });
    const hash = createHash('sha256').update(body).digest('hex');
    const url = `https://mycompany.com/myapp.php?bodySHA256=${hash}`;
    const signature = computeTwilioSignature(DOC_TOKEN, url);
    expect(verifyTwilioSignature({ authToken: DOC_TOKEN, url, body, signatureHeader: signature })).toBe(true);
    expect(verifyTwilioSignature({ authToken: DOC_TOKEN, url, body: body.replace('x', 'y'), signatureHeader: signature })).toBe(false);
    expect(verifyTwilioSignature({ authToken: DOC_TOKEN, url, signatureHeader: signature })).toBe(false);
    // The same cases through the twilio package.
    expect(validateRequestWithBody(DOC_TOKEN, signature, url, body)).toBe(true);
    expect(validateRequestWithBody(DOC_TOKEN, signature, url, body.replace('x', 'y'))).toBe(false);
  });

  it('repeated keys: each distinct value is appended in sorted order, as Twilio\'s helper libraries sign them', () => {
    const params = { StatusCallbackEvent: ['ringing', 'answered', 'initiated'], To: '+15005550006' };
    const url = 'https://example.com/status';
    const expected = getExpectedTwilioSignature(DOC_TOKEN, url, params);
    expect(computeTwilioSignature(DOC_TOKEN, url, params)).toBe(expected);
    const form = new URLSearchParams('To=%2B15005550006&StatusCallbackEvent=ringing&StatusCallbackEvent=answered&StatusCallbackEvent=initiated');
    expect(verifyTwilioSignature({ authToken: DOC_TOKEN, url, params: form, signatureHeader: expected })).toBe(true);
    expect(verifyTwilioSignature({ authToken: DOC_TOKEN, url, body: form.toString(), signatureHeader: expected })).toBe(true);
  });

  it('agrees with the twilio package on generated requests (getExpectedTwilioSignature, validateRequest, validateRequestWithBody)', () => {
    const rand = generator(20_240_501);
    for (let n = 0; n < 200; n++) {
      const token = randomBytes(16).toString('hex');
      const params: Record<string, string> = {};
      const count = Math.floor(rand() * 6);
      for (let i = 0; i < count; i++) params[text(rand, 8).replace(/\s/g, '') || `k${i}`] = text(rand, 12);
      const query = rand() < 0.5 ? `?${new URLSearchParams({ a: text(rand, 5), b: String(n) }).toString()}` : '';
      const port = rand() < 0.3 ? ':443' : '';
      const url = `https://hooks.example.com${port}/twilio/${n}${query}`;

      const ours = computeTwilioSignature(token, url, params);
      expect(ours).toBe(getExpectedTwilioSignature(token, url, params));
      expect(validateRequest(token, ours, url, params)).toBe(true);
      expect(verifyTwilioSignature({ authToken: token, url, params, signatureHeader: ours })).toBe(true);
      // Each side rejects what the other rejects.
      const forged = getExpectedTwilioSignature(token, url, { ...params, injected: '1' });
      expect(validateRequest(token, forged, url, params)).toBe(false);
      expect(verifyTwilioSignature({ authToken: token, url, params, signatureHeader: forged })).toBe(false);

      const body = JSON.stringify(params);
      const jsonUrl = `https://hooks.example.com${port}/json/${n}?bodySHA256=${createHash('sha256').update(body).digest('hex')}`;
      const jsonSignature = computeTwilioSignature(token, jsonUrl);
      expect(validateRequestWithBody(token, jsonSignature, jsonUrl, body)).toBe(true);
      expect(verifyTwilioSignature({ authToken: token, url: jsonUrl, body, signatureHeader: jsonSignature })).toBe(true);
    }
  });
});
