/**
 * Checks of a fixed bearer token (the metrics scrape token, the conversation service's reply token)
 * behind the same brute-force limits as the API: a source guessing one is locked out of all, and a
 * source the API locked out cannot guess here either. The comparison is constant-time.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthThrottle } from './auth-throttle.js';

export type StaticBearerThrottle = Pick<AuthThrottle, 'admit' | 'failed' | 'succeeded'>;

export type StaticBearerOutcome = { ok: true } | { ok: false; reason: 'missing' | 'invalid' } | { ok: false; reason: 'throttled'; retryAfterMs: number };

function matches(header: string, expected: Buffer): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header);
  if (!m) return false;
  const given = Buffer.from(m[1]!.trim());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function checkStaticBearer(request: FastifyRequest, expected: Buffer, throttle: StaticBearerThrottle | undefined, what: string): Promise<StaticBearerOutcome> {
  const header = request.headers.authorization ?? '';
  // No credential at all is not a guess: it is not counted.
  if (!header) return { ok: false, reason: 'missing' };
  const attempt = { source: request.ip };
  const admission = await throttle?.admit(attempt);
  if (admission && !admission.allowed) return { ok: false, reason: 'throttled', retryAfterMs: admission.retryAfterMs };
  if (!matches(header, expected)) {
    await throttle?.failed({ ...attempt, reason: `invalid ${what} bearer token` });
    return { ok: false, reason: 'invalid' };
  }
  await throttle?.succeeded(attempt, admission);
  return { ok: true };
}

/** Answers a failed check: 429 with Retry-After when locked out, else 401 with the challenge. */
export function refuseStaticBearer(reply: FastifyReply, outcome: Exclude<StaticBearerOutcome, { ok: true }>, what: string, realm: string): FastifyReply {
  if (outcome.reason === 'throttled') {
    const retryAfterSec = Math.ceil(outcome.retryAfterMs / 1000);
    return reply.code(429).header('retry-after', String(retryAfterSec)).send({ error: `${what}: too many failed authentications; retry in ${retryAfterSec} s` });
  }
  return reply.code(401).header('www-authenticate', `Bearer realm="${realm}"`).send({ error: `${what}: missing or invalid bearer token` });
}
