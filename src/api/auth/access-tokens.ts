/**
 * Access tokens: JWTs (RFC 9068 profile, `typ: at+jwt`) signed HS256 with the server key.
 * Claims: iss, sub (= client_id), client_id, scope (space-separated), iat, exp, jti.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import type { Clock } from '../../runtime/clock.js';
import { systemClock } from '../../runtime/clock.js';
import { isScope, type Scope } from './scopes.js';

export const DEFAULT_TOKEN_TTL_SECONDS = 3600;
export const DEFAULT_ISSUER = 'voxgate';
const TOKEN_TYPE = 'at+jwt';

export interface AccessTokenOptions {
  key: Uint8Array;
  issuer?: string;
  ttlSeconds?: number;
  clock?: Clock;
}

export interface VerifiedAccessToken {
  clientId: string;
  scopes: Scope[];
  jti: string;
  expiresAt: number;
}

export class AccessTokens {
  private readonly issuer: string;
  readonly ttlSeconds: number;
  private readonly clock: Clock;

  constructor(private readonly opts: AccessTokenOptions) {
    this.issuer = opts.issuer ?? DEFAULT_ISSUER;
    this.ttlSeconds = opts.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
    this.clock = opts.clock ?? systemClock;
  }

  async issue(clientId: string, scopes: readonly Scope[]): Promise<string> {
    const iat = Math.floor(this.clock.now() / 1000);
    return new SignJWT({ scope: scopes.join(' '), client_id: clientId })
      .setProtectedHeader({ alg: 'HS256', typ: TOKEN_TYPE })
      .setIssuer(this.issuer)
      .setSubject(clientId)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttlSeconds)
      .setJti(randomUUID())
      .sign(this.opts.key);
  }

  /** The token's claims, or undefined for a bad signature, another algorithm or issuer, an expired or malformed token. */
  async verify(token: string): Promise<VerifiedAccessToken | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.opts.key, {
        algorithms: ['HS256'],
        issuer: this.issuer,
        typ: TOKEN_TYPE,
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
        currentDate: new Date(this.clock.now()),
        clockTolerance: 0,
      });
      if (typeof payload.scope !== 'string' || typeof payload.sub !== 'string' || typeof payload.jti !== 'string' || typeof payload.exp !== 'number') return undefined;
      const scopes = payload.scope.split(' ').filter(isScope);
      return { clientId: payload.sub, scopes, jti: payload.jti, expiresAt: payload.exp * 1000 };
    } catch {
      return undefined;
    }
  }
}
