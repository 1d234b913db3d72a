/**
 * Who is calling the management API: an OAuth client holding an access token from /oauth/token,
 * or the operator with the static `api.token` (a bootstrap credential holding every scope).
 * One ApiAuth per process, shared by the token endpoint, the enforcement plugin and the
 * client-management routes.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Clock } from '../../runtime/clock.js';
import { systemClock } from '../../runtime/clock.js';
import { resolveSecret, secretSchema, type SecretRef } from '../../runtime/secrets.js';
import type { VoxgateDatabase } from '../../store/schema.js';
import { redisConnectionOptions } from '../../dialer/campaign-queue.js';
import { silentLogger, type Logger } from '../../logger.js';
import { AccessTokens, DEFAULT_ISSUER, DEFAULT_TOKEN_TTL_SECONDS } from './access-tokens.js';
import { authLimitsConfigSchema, AuthThrottle } from './auth-throttle.js';
import { OAuthClientRepository, type OAuthClientInfo } from './client-repository.js';
import { MemoryFailureLedger, RedisFailureLedger, type FailureLedger } from './failure-ledger.js';
import { scopesBeyond, type Scope } from './scopes.js';
import { SecretVerifier, type VerifySecretFn } from './secret-verifier.js';
import { loadOrCreateSigningKey, signingKeyFromSecret } from './signing-key.js';

/** The `api.oauth` config section. */
export const apiOAuthConfigSchema = z
  .object({
    /** HS256 key (at least 32 characters); without it a key is generated and kept in the store. */
    signingKey: secretSchema.optional(),
    tokenTtlSeconds: z.number().int().min(60).max(86_400).default(DEFAULT_TOKEN_TTL_SECONDS),
    issuer: z.string().min(1).default(DEFAULT_ISSUER),
  })
  .strict();
export type ApiOAuthConfig = z.infer<typeof apiOAuthConfigSchema>;

/**
 * The composition root's one line: the `api` config section (token, oauth) with its secrets
 * resolved from `env`, and the store's query builder.
 */
export async function createApiAuth(
  api: { token?: SecretRef; oauth?: z.input<typeof apiOAuthConfigSchema>; authLimits?: z.input<typeof authLimitsConfigSchema> },
  db: Kysely<VoxgateDatabase>,
  env: NodeJS.ProcessEnv = process.env,
  clock?: Clock,
  deps: { redisUrl?: string; logger?: Logger } = {},
): Promise<ApiAuth> {
  const oauth = apiOAuthConfigSchema.parse(api.oauth ?? {});
  return ApiAuth.create({
    db,
    staticToken: resolveSecret(api.token, 'api.token', env),
    signingKey: resolveSecret(oauth.signingKey, 'api.oauth.signingKey', env),
    tokenTtlSeconds: oauth.tokenTtlSeconds,
    issuer: oauth.issuer,
    limits: api.authLimits,
    redisUrl: deps.redisUrl,
    logger: deps.logger,
    clock,
  });
}

/** The authenticated caller of an /api request. */
export interface Principal {
  /** The OAuth client id, or STATIC_TOKEN_PRINCIPAL for the configured api.token. */
  clientId: string;
  scopes: Scope[];
}

export const STATIC_TOKEN_PRINCIPAL = 'static-api-token';
/** How long a client's revocation state is trusted before the store is asked again. */
export const DEFAULT_REVOCATION_CACHE_MS = 5000;

export interface ApiAuthOptions {
  /** `store.db`. */
  db: Kysely<VoxgateDatabase>;
  /** The resolved `api.token`: accepted as a Bearer token holding every scope. */
  staticToken?: string;
  /** The resolved `api.oauth.signingKey`; without it the key in the store's settings is used (generated once). */
  signingKey?: string;
  tokenTtlSeconds?: number;
  issuer?: string;
  revocationCacheMs?: number;
  /** `api.authLimits`: brute-force limits, hash-check bounds, the auth-failure alarm. */
  limits?: z.input<typeof authLimitsConfigSchema>;
  /** With it, failure counters live in Redis, shared by every process (REDIS_URL). */
  redisUrl?: string;
  /** Where the failure counters live; default Redis with redisUrl, else this process's memory. */
  ledger?: FailureLedger;
  /** The client secret check (tests count its calls); default scrypt. */
  verifySecret?: VerifySecretFn;
  logger?: Logger;
  clock?: Clock;
}

/** The result of authenticating a request: who, or why not. */
export type AuthOutcome =
  | { ok: true; principal: Principal }
  | { ok: false; reason: 'missing' | 'invalid' }
  | { ok: false; reason: 'throttled'; retryAfterMs: number };

/** A client-management action on a client holding scopes the caller lacks; `missing` names them. */
export class ClientScopeError extends Error {
  constructor(
    readonly action: string,
    readonly clientId: string,
    readonly missing: Scope[],
  ) {
    super(`cannot ${action} client ${clientId}: it holds ${missing.join(', ')}, which the caller does not`);
    this.name = 'ClientScopeError';
  }
}

export class ApiAuth {
  private readonly revocations = new Map<string, { revoked: boolean; checkedAt: number }>();
  private readonly revokedListeners = new Set<(clientId: string) => void>();

  private constructor(
    readonly clients: OAuthClientRepository,
    readonly tokens: AccessTokens,
    /** Failed-authentication limits, shared by the token endpoint and the bearer checks. */
    readonly throttle: AuthThrottle,
    /** Bounded client secret checks. */
    readonly verifier: SecretVerifier,
    /** The failure counters in Redis, when configured: the token endpoint's request cap shares their connection and prefix. */
    readonly redis: Pick<RedisFailureLedger, 'client' | 'prefix'> | undefined,
    private readonly staticToken: Buffer | undefined,
    private readonly clock: Clock,
    private readonly revocationCacheMs: number,
  ) {}

  static async create(opts: ApiAuthOptions): Promise<ApiAuth> {
    const clock = opts.clock ?? systemClock;
    const limits = authLimitsConfigSchema.parse(opts.limits ?? {});
    const key = opts.signingKey ? signingKeyFromSecret(opts.signingKey) : await loadOrCreateSigningKey(opts.db, clock.now());
    const tokens = new AccessTokens({ key, issuer: opts.issuer, ttlSeconds: opts.tokenTtlSeconds, clock });
    const staticToken = opts.staticToken ? Buffer.from(opts.staticToken) : undefined;
    const verifier = new SecretVerifier({ maxConcurrent: limits.maxConcurrentHashChecks, maxQueued: limits.maxQueuedHashChecks, verify: opts.verifySecret });
    await verifier.warm();
    const ledger = opts.ledger ?? (opts.redisUrl ? new RedisFailureLedger({ connection: redisConnectionOptions(opts.redisUrl), logger: opts.logger ?? silentLogger() }) : new MemoryFailureLedger());
    const throttle = new AuthThrottle(ledger, limits, clock);
    const redis = ledger instanceof RedisFailureLedger ? ledger : undefined;
    return new ApiAuth(new OAuthClientRepository(opts.db, clock), tokens, throttle, verifier, redis, staticToken, clock, opts.revocationCacheMs ?? DEFAULT_REVOCATION_CACHE_MS);
  }

  /**
   * authenticate() behind the brute-force limits: a source locked out gets `throttled` before its
   * credential is looked at; a presented credential that proves nothing counts as a failure.
   */
  async authenticateRequest(authorization: string | undefined, source: string): Promise<AuthOutcome> {
    if (!authorization) return { ok: false, reason: 'missing' };
    const attempt = { source };
    const admission = await this.throttle.admit(attempt);
    if (!admission.allowed) return { ok: false, reason: 'throttled', retryAfterMs: admission.retryAfterMs };
    const principal = await this.authenticate(authorization);
    if (!principal) {
      await this.throttle.failed({ ...attempt, reason: 'invalid bearer token' });
      return { ok: false, reason: 'invalid' };
    }
    await this.throttle.succeeded(attempt, admission);
    return { ok: true, principal };
  }


  /** The caller behind an Authorization header, or undefined when it proves nothing. */
  async authenticate(authorization: string | undefined): Promise<Principal | undefined> {
    const presented = presentedCredential(authorization);
    if (!presented) return undefined;
    if (this.isStaticToken(presented.value)) return { clientId: STATIC_TOKEN_PRINCIPAL, scopes: ['admin'] };
    if (presented.scheme !== 'bearer') return undefined;
    const verified = await this.tokens.verify(presented.value);
    if (!verified || (await this.isRevoked(verified.clientId))) return undefined;
    return { clientId: verified.clientId, scopes: verified.scopes };
  }

  /**
   * Revokes the client and forgets its cached state here at once (other processes notice within
   * the cache time, or at once when a cluster relays `onRevoked` to their `forgetRevocationState`).
   * With `by`, the caller must hold every scope the client holds (the rule creation follows), else
   * ClientScopeError: clients:write alone is no way to revoke an admin.
   */
  async revokeClient(clientId: string, by?: Pick<Principal, 'scopes'>): Promise<OAuthClientInfo | undefined> {
    if (by) {
      const target = await this.clients.get(clientId);
      if (!target) return undefined;
      const missing = scopesBeyond(by.scopes, target.scopes);
      if (missing.length > 0) throw new ClientScopeError('revoke', clientId, missing);
    }
    const client = await this.clients.revoke(clientId);
    this.revocations.delete(clientId);
    if (client) {
      for (const listener of this.revokedListeners) listener(clientId);
    }
    return client;
  }

  /** Called after a client was revoked through this process (the cluster tells the other instances). */
  onRevoked(listener: (clientId: string) => void): () => void {
    this.revokedListeners.add(listener);
    return () => void this.revokedListeners.delete(listener);
  }

  /** Another process revoked the client: its cached state here is stale, the next request asks the store. */
  forgetRevocationState(clientId: string): void {
    this.revocations.delete(clientId);
  }

  /** Closes the failure counters' Redis connection, if any. */
  async close(): Promise<void> {
    await this.throttle.close();
  }

  private isStaticToken(presented: string): boolean {
    if (!this.staticToken) return false;
    const given = Buffer.from(presented);
    return given.length === this.staticToken.length && timingSafeEqual(given, this.staticToken);
  }

  private async isRevoked(clientId: string): Promise<boolean> {
    const now = this.clock.now();
    const cached = this.revocations.get(clientId);
    if (cached && now - cached.checkedAt < this.revocationCacheMs) return cached.revoked;
    const client = await this.clients.get(clientId);
    // A deleted client row counts as revoked.
    const revoked = !client || client.revokedAt !== null;
    this.revocations.set(clientId, { revoked, checkedAt: now });
    return revoked;
  }
}

/**
 * The Bearer token; or the password of Basic credentials, which the earlier static-token check
 * accepted, so existing callers of the outbound API keep working with api.token (static token only).
 */
function presentedCredential(authorization: string | undefined): { scheme: 'bearer' | 'basic'; value: string } | undefined {
  if (!authorization) return undefined;
  const [scheme, value] = authorization.trim().split(/\s+/, 2);
  if (!value) return undefined;
  if (scheme.toLowerCase() === 'bearer') return { scheme: 'bearer', value };
  if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const password = colon >= 0 ? decoded.slice(colon + 1) : '';
    return password ? { scheme: 'basic', value: password } : undefined;
  }
  return undefined;
}
