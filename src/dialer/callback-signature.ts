/**
 * Signing of Voxgate's status callbacks (Stripe/GitHub style), and the check receivers run.
 *
 * Every callback POST carries:
 *   X-Voxgate-Timestamp: <unix seconds when this attempt was sent>
 *   X-Voxgate-Signature: sha256=<lowercase hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 *   Idempotency-Key:     <same on every redelivery of one notification>
 *
 * To verify (any language): take the raw request body bytes exactly as received (before any JSON
 * parsing), build "<X-Voxgate-Timestamp>.<body>", HMAC-SHA256 it with the shared secret, hex
 * encode, compare with the part after "sha256=" in constant time, and reject timestamps more than
 * a few minutes from your clock (replay protection). Then de-duplicate by Idempotency-Key: the
 * same notification may arrive more than once (delivery is at-least-once).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const TIMESTAMP_HEADER = 'X-Voxgate-Timestamp';
export const SIGNATURE_HEADER = 'X-Voxgate-Signature';
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
const SCHEME = 'sha256=';
/** How far a signed timestamp may be from the receiver's clock by default (Stripe uses the same 5 minutes). */
export const DEFAULT_SIGNATURE_TOLERANCE_SEC = 300;

/** The X-Voxgate-Signature value for `body` sent at `timestamp` (unix seconds). */
export function signVoxgateCallback(secret: string, timestamp: number | string, body: string): string {
  return SCHEME + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/**
 * True when `header` (the X-Voxgate-Signature value) signs `timestamp` + `body` with `secret`, and
 * the timestamp is within `toleranceSec` of `nowMs` (pass Infinity to skip the age check). `body`
 * must be the raw body text as received. Never throws: anything malformed is simply not valid.
 */
export function verifyVoxgateSignature(
  secret: string,
  timestamp: string | number | undefined,
  body: string | Buffer,
  header: string | undefined,
  toleranceSec: number = DEFAULT_SIGNATURE_TOLERANCE_SEC,
  nowMs: number = Date.now(),
): boolean {
  if (typeof secret !== 'string' || secret.length === 0) return false;
  if (typeof header !== 'string' || !header.startsWith(SCHEME)) return false;
  const ts = typeof timestamp === 'number' ? String(timestamp) : timestamp;
  if (typeof ts !== 'string' || !/^\d{1,15}$/.test(ts)) return false;
  if (Number.isFinite(toleranceSec) && Math.abs(nowMs / 1000 - Number(ts)) > toleranceSec) return false;
  const given = header.slice(SCHEME.length).trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(given)) return false;
  const expected = createHmac('sha256', secret).update(`${ts}.`).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}
