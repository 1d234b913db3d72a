/**
 * OAuth 2.0 client-credentials tokens (RFC 6749 section 4.4) for bot-api requests. One cache is
 * shared by every connector of a bot, so a thousand concurrent calls fetch one token, not a thousand;
 * the token is renewed on first use once it is within its renewal margin of `expires_in`.
 */
import { systemClock, type Clock } from '../../runtime/clock.js';
import { silentLogger, type Logger } from '../../logger.js';

export interface OAuthClientCredentials {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
  /** Where the client credentials go: HTTP Basic (RFC 6749 default) or form body fields. Default 'basic'. */
  credentialsIn?: 'basic' | 'body';
}

export class OAuthTokenError extends Error {
  override name = 'OAuthTokenError';
}

interface CachedToken {
  accessToken: string;
  renewAt: number;
}

/** Tokens without `expires_in` are treated as living this long. */
const DEFAULT_LIFETIME_S = 3600;
/** Renew this long before expiry, capped at a fifth of the lifetime for short-lived tokens. */
const RENEW_MARGIN_MS = 60_000;

export interface OAuthTokenCacheOptions {
  clock?: Clock;
  logger?: Logger;
  requestTimeoutMs?: number;
}

export class OAuthTokenCache {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly requestTimeoutMs: number;
  private readonly tokens = new Map<string, CachedToken>();
  /** One in-flight token request per configuration: concurrent callers share it. */
  private readonly pending = new Map<string, Promise<string>>();

  constructor(options: OAuthTokenCacheOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger();
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
  }

  /** A valid access token for `creds`, fetched or renewed when needed. */
  async token(creds: OAuthClientCredentials): Promise<string> {
    const key = cacheKey(creds);
    const cached = this.tokens.get(key);
    if (cached && this.clock.now() < cached.renewAt) return cached.accessToken;
    let request = this.pending.get(key);
    if (!request) {
      request = this.fetchToken(creds, key).finally(() => this.pending.delete(key));
      this.pending.set(key, request);
    }
    return request;
  }

  /** Drops the cached token (the bot rejected it), so the next call fetches a new one. */
  invalidate(creds: OAuthClientCredentials, rejectedToken?: string): void {
    const key = cacheKey(creds);
    const cached = this.tokens.get(key);
    if (cached && (rejectedToken === undefined || cached.accessToken === rejectedToken)) this.tokens.delete(key);
  }

  private async fetchToken(creds: OAuthClientCredentials, key: string): Promise<string> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (creds.scope) form.set('scope', creds.scope);
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if ((creds.credentialsIn ?? 'basic') === 'basic') {
      // RFC 6749 2.3.1: form-urlencode id and secret before base64.
      const user = encodeURIComponent(creds.clientId);
      const pass = encodeURIComponent(creds.clientSecret);
      headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    } else {
      form.set('client_id', creds.clientId);
      form.set('client_secret', creds.clientSecret);
    }
    const requestedAt = this.clock.now();
    let res: Response;
    try {
      res = await fetch(creds.tokenUrl, {
        method: 'POST',
        headers,
        body: form.toString(),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
    } catch (err) {
      throw new OAuthTokenError(`OAuth token request to ${creds.tokenUrl} failed: ${(err as Error).message}`, { cause: err });
    }
    const text = await res.text();
    if (!res.ok) {
      throw new OAuthTokenError(
        `OAuth token endpoint ${creds.tokenUrl} answered ${res.status}${text ? `: ${text.slice(0, 200)}` : ''} (check clientId/clientSecret/scope)`,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new OAuthTokenError(`OAuth token endpoint ${creds.tokenUrl} answered malformed JSON: ${text.slice(0, 100)}`);
    }
    const accessToken = (body as { access_token?: unknown }).access_token;
    if (typeof accessToken !== 'string' || accessToken === '') {
      throw new OAuthTokenError(`OAuth token endpoint ${creds.tokenUrl} answered without a string "access_token"`);
    }
    const expiresIn = Number((body as { expires_in?: unknown }).expires_in);
    const lifetimeMs = (Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : DEFAULT_LIFETIME_S) * 1000;
    // Measured from the request, not the answer, so a slow token endpoint cannot make us overstay.
    const renewAt = requestedAt + lifetimeMs - Math.min(RENEW_MARGIN_MS, lifetimeMs / 5);
    this.tokens.set(key, { accessToken, renewAt });
    this.log.debug({ tokenUrl: creds.tokenUrl, clientId: creds.clientId, expiresInS: lifetimeMs / 1000 }, 'OAuth token obtained');
    return accessToken;
  }
}

function cacheKey(c: OAuthClientCredentials): string {
  return JSON.stringify([c.tokenUrl, c.clientId, c.clientSecret, c.scope ?? '', c.credentialsIn ?? 'basic']);
}

/** The default cache shared by connectors that are not handed one, keyed by the full credentials. */
export const sharedOAuthTokenCache = new OAuthTokenCache();
