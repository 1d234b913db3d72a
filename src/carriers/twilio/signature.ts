/**
 * X-Twilio-Signature (docs/protocols/twilio.md): base64(HMAC-SHA1(authToken, url + sorted key+value)).
 * Provisional: replaced by the simulator work's fuller module (JSON bodies, port variants).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const TWILIO_SIGNATURE_HEADER = 'x-twilio-signature';

export function computeTwilioSignature(authToken: string, url: string, params: Record<string, string | string[]> = {}): string {
  let data = url;
  for (const key of Object.keys(params).sort()) {
    const value = params[key];
    for (const v of Array.isArray(value) ? [...value].sort() : [value]) data += key + v;
  }
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

export function verifyTwilioSignature(input: { authToken: string; url: string; params?: Record<string, string | string[]>; body?: string; signatureHeader: string }): boolean {
  const expected = Buffer.from(computeTwilioSignature(input.authToken, input.url, input.params ?? {}));
  const got = Buffer.from(input.signatureHeader);
  return expected.length === got.length && timingSafeEqual(expected, got);
}
