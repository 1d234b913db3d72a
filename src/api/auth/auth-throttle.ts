/**
 * Brute-force limits on failed authentications (wrong client secret at /oauth/token, bad bearer
 * token, wrong api.token), checked before any credential is looked at, so a locked-out guesser
 * costs no hash check.
 *
 * Two keys, with different jobs:
 *   - per source address: `source` policy (default 10 failures, then 1 min, doubling to 1 h). It
 *     blocks the address from every authenticated route. A guesser is one source; blocking it
 *     hurts nobody else.
 *   - per client id (token endpoint only): `client` policy (default 5 failures, then 1 s, doubling
 *     to a cap of 30 s). It only slows guesses spread over many addresses against one client id.
 *     Kept short and capped because anyone can send failures for any id: a long lockout here would
 *     let an attacker lock the real client out. Addresses from which the client authenticated in
 *     the last `trustedSourceMs` skip it altogether, so the real client, from where it usually
 *     connects, is never slowed by someone else's guesses (only by its own source's failures).
 * A success resets the source (and the client id it proved). Unknown and known client ids are
 * counted alike, so the answers do not tell which ids exist.
 */
import { createHash } from 'node:crypto';
import { normalizeIP } from '@fastify/rate-limit';
import { z } from 'zod';
import type { Clock } from '../../runtime/clock.js';
import type { FailureLedger, LockoutPolicy } from './failure-ledger.js';

const positiveMs = z.number().int().positive();
const lockoutPolicySchema = (defaults: LockoutPolicy) =>
  z
    .object({
      maxFailures: z.number().int().positive().default(defaults.maxFailures),
      windowMs: positiveMs.default(defaults.windowMs),
      baseLockoutMs: positiveMs.default(defaults.baseLockoutMs),
      maxLockoutMs: positiveMs.default(defaults.maxLockoutMs),
    })
    .strict()
    .refine((p) => p.maxLockoutMs >= p.baseLockoutMs, { message: 'maxLockoutMs must be at least baseLockoutMs', path: ['maxLockoutMs'] })
    .default({});

/** The `api.authLimits` config section. */
export const authLimitsConfigSchema = z
  .object({
    source: lockoutPolicySchema({ maxFailures: 10, windowMs: 15 * 60_000, baseLockoutMs: 60_000, maxLockoutMs: 3_600_000 }),
    client: lockoutPolicySchema({ maxFailures: 5, windowMs: 15 * 60_000, baseLockoutMs: 1000, maxLockoutMs: 30_000 }),
    /** How long an address that authenticated a client skips that client's per-client limit. */
    trustedSourceMs: positiveMs.default(24 * 3_600_000),
    /** Every POST /oauth/token per source address per minute, successful or not (@fastify/rate-limit). */
    tokenRequestsPerMinute: z.number().int().positive().default(60),
    /** Client secret (scrypt) checks running at once; more wait, up to maxQueuedHashChecks, then get 503. */
    maxConcurrentHashChecks: z.number().int().positive().max(64).default(2),
    maxQueuedHashChecks: z.number().int().nonnegative().default(32),
    /** The `auth-failure` alarm: `threshold` failures from one source (or for one client) within `windowMs`; cleared after `quietMs` without one. */
    alarm: z
      .object({ threshold: z.number().int().positive().default(20), windowMs: positiveMs.default(5 * 60_000), quietMs: positiveMs.default(10 * 60_000) })
      .strict()
      .default({}),
  })
  .strict();
export type AuthLimitsConfig = z.infer<typeof authLimitsConfigSchema>;

/** Where an authentication attempt came from and, at the token endpoint, which client it claims. */
export interface AuthAttempt {
  /** The request's address (request.ip). */
  source: string;
  clientId?: string;
}

export type Admission = { allowed: true; dirty: boolean } | { allowed: false; retryAfterMs: number; limitedBy: 'source' | 'client' };

/** A failed authentication, as the auth-failure alarm and logs get it. */
export interface AuthFailure {
  source: string;
  clientId?: string;
  /** The client id names a client in the store (unknown ids are never alarm entities: anyone can invent them). */
  knownClient: boolean;
  reason: string;
  /** Failures counted for the source since its last success. */
  sourceFailures: number;
  /** The lockout this failure started for the source, 0 for none. */
  lockoutMs: number;
}

export class AuthThrottle {
  private readonly listeners = new Set<(failure: AuthFailure) => void>();

  constructor(
    private readonly ledger: FailureLedger,
    readonly limits: AuthLimitsConfig,
    private readonly clock: Clock,
  ) {}

  /** Called for every failed authentication (the auth-failure alarm listens); returns the unsubscribe function. */
  onFailure(listener: (failure: AuthFailure) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Whether the attempt may go on to the credential check; `dirty` tells succeeded() it has something to reset. */
  async admit(attempt: AuthAttempt): Promise<Admission> {
    const now = this.clock.now();
    const source = await this.ledger.peek(sourceKey(attempt.source), now);
    if (source.retryAfterMs > 0) return { allowed: false, retryAfterMs: source.retryAfterMs, limitedBy: 'source' };
    if (attempt.clientId === undefined || (await this.ledger.isMarked(trustKey(attempt.clientId, attempt.source), now))) return { allowed: true, dirty: source.dirty };
    const client = await this.ledger.peek(clientKey(attempt.clientId), now);
    if (client.retryAfterMs > 0) return { allowed: false, retryAfterMs: client.retryAfterMs, limitedBy: 'client' };
    return { allowed: true, dirty: source.dirty || client.dirty };
  }

  async failed(attempt: AuthAttempt & { knownClient?: boolean; reason: string }): Promise<AuthFailure> {
    const now = this.clock.now();
    const source = await this.ledger.fail(sourceKey(attempt.source), this.limits.source, now);
    if (attempt.clientId !== undefined) await this.ledger.fail(clientKey(attempt.clientId), this.limits.client, now);
    const failure: AuthFailure = {
      source: normalizeIP(attempt.source),
      clientId: attempt.clientId,
      knownClient: attempt.knownClient ?? false,
      reason: attempt.reason,
      sourceFailures: source.failures,
      lockoutMs: source.lockoutMs,
    };
    for (const listener of this.listeners) {
      try {
        listener(failure);
      } catch {
        // A listener's bug (the alarm) must not turn a refused guess into a 500; the listener logs its own.
      }
    }
    return failure;
  }

  /** Resets the source's (and the proven client's) failures; the source becomes trusted for that client. */
  async succeeded(attempt: AuthAttempt, admission: Admission | undefined): Promise<void> {
    if (admission?.allowed && admission.dirty) {
      await this.ledger.reset(sourceKey(attempt.source));
      if (attempt.clientId !== undefined) await this.ledger.reset(clientKey(attempt.clientId));
    }
    if (attempt.clientId !== undefined) {
      const now = this.clock.now();
      await this.ledger.mark(trustKey(attempt.clientId, attempt.source), now + this.limits.trustedSourceMs, now);
    }
  }

  close(): Promise<void> {
    return this.ledger.close();
  }
}

// IPv6 addresses count per /64 (what one host usually holds), as @fastify/rate-limit does.
const sourceKey = (ip: string) => `src:${normalizeIP(ip)}`;
const clientKey = (clientId: string) => `client:${boundedId(clientId)}`;
const trustKey = (clientId: string, ip: string) => `trust:${boundedId(clientId)}:${normalizeIP(ip)}`;

/** Real ids are 28 characters; a made-up 8 KB id must not make an 8 KB key. */
function boundedId(clientId: string): string {
  return clientId.length <= 64 ? clientId : `sha256-${createHash('sha256').update(clientId).digest('hex')}`;
}
