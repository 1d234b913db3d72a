/**
 * Google OAuth 2.0 access tokens for a service account ("Using OAuth 2.0 for Server to Server
 * Applications", the JWT bearer grant of RFC 7523): a JWT {iss, scope, aud, iat, exp} signed RS256
 * with the account's private key is POSTed to the token URI and exchanged for a Bearer token that
 * lives about an hour. Every Google adapter (Dialogflow CX, Speech-to-Text, Text-to-Speech) asks a
 * GoogleAccessTokenSource through `getAccessToken: () => Promise<string>`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { importPKCS8, SignJWT } from 'jose';
import { z } from 'zod';
import { systemClock, type Clock } from '../runtime/clock.js';
import { ConfigError } from '../runtime/config-error.js';
import { resolveSecret, secretSchema } from '../runtime/secrets.js';
import { silentLogger, type Logger } from '../logger.js';

export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/**
 * Service-account credentials in config, three ways: the downloaded key file, the same JSON in a
 * secret (e.g. an environment variable), or its fields inline (the private key as a secret).
 */
export const googleCredentialsSchema = z.union([
  z.object({ keyFile: z.string().min(1) }).strict(),
  z.object({ json: secretSchema }).strict(),
  z
    .object({
      client_email: z.string().email(),
      private_key: secretSchema,
      private_key_id: z.string().min(1).optional(),
      token_uri: z.string().url().optional(),
    })
    .strict(),
]);
export type GoogleCredentialsConfig = z.infer<typeof googleCredentialsSchema>;

/** The fields of a service-account key that the JWT bearer grant needs. */
export interface ServiceAccountKey {
  clientEmail: string;
  /** PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), as in the key file. */
  privateKey: string;
  /** Sent as the JWT header `kid`, so Google picks the right public key of the account. */
  privateKeyId?: string;
  tokenUri?: string;
}

/**
 * The key from a validated config section; a missing file, bad JSON or missing field is a
 * ConfigError naming `key` (e.g. `bots.support.dialogflowCx.credentials`).
 */
export function resolveGoogleCredentials(config: GoogleCredentialsConfig, key: string, env: NodeJS.ProcessEnv): ServiceAccountKey {
  if ('keyFile' in config) {
    let text: string;
    try {
      text = readFileSync(config.keyFile, 'utf8');
    } catch (err) {
      throw new ConfigError(`invalid configuration: ${key}.keyFile: cannot read Google service-account key file ${config.keyFile}: ${(err as Error).message}`);
    }
    return parseServiceAccountJson(text, `${key}.keyFile (${config.keyFile})`);
  }
  if ('json' in config) return parseServiceAccountJson(resolveSecret(config.json, `${key}.json`, env)!, `${key}.json`);
  return {
    clientEmail: config.client_email,
    privateKey: normalizePem(resolveSecret(config.private_key, `${key}.private_key`, env)!),
    privateKeyId: config.private_key_id,
    tokenUri: config.token_uri,
  };
}

/** A service-account key file's JSON (`{"type":"service_account","client_email","private_key",...}`). */
export function parseServiceAccountJson(text: string, source: string): ServiceAccountKey {
  const bad = (problem: string) => new ConfigError(`invalid configuration: ${source}: not a Google service-account key: ${problem}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw bad(`not JSON (${(err as Error).message})`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('expected a JSON object');
  const o = body as Record<string, unknown>;
  // Authorized-user and external-account files have other fields and a different grant.
  if (o.type !== undefined && o.type !== 'service_account') throw bad(`"type" is ${JSON.stringify(o.type)}, expected "service_account"`);
  if (typeof o.client_email !== 'string' || !o.client_email) throw bad('"client_email" is missing');
  if (typeof o.private_key !== 'string' || !o.private_key) throw bad('"private_key" is missing');
  return {
    clientEmail: o.client_email,
    privateKey: normalizePem(o.private_key),
    privateKeyId: typeof o.private_key_id === 'string' && o.private_key_id ? o.private_key_id : undefined,
    tokenUri: typeof o.token_uri === 'string' && o.token_uri ? o.token_uri : undefined,
  };
}

/** Keys pasted into environment variables often carry literal `\n` instead of line breaks. */
function normalizePem(pem: string): string {
  return pem.includes('\\n') ? pem.replace(/\\n/g, '\n') : pem;
}

/** A token could not be obtained: the message names the token URL, the account and Google's error text. */
export class GoogleAuthError extends Error {
  override name = 'GoogleAuthError';
  constructor(
    message: string,
    /** HTTP status of the token endpoint, when it answered. */
    readonly status?: number,
    /** OAuth `error` code, e.g. invalid_grant, unauthorized_client. */
    readonly code?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface GoogleAccessTokenSourceOptions {
  credentials: ServiceAccountKey;
  /** OAuth scopes, e.g. ['https://www.googleapis.com/auth/cloud-platform']; joined by spaces. */
  scopes: string[];
  /** Overrides the key's token_uri and the default https://oauth2.googleapis.com/token (tests, proxies). */
  tokenUrl?: string;
  /** Per token request. Default 10000. */
  requestTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/** Google tokens live 3600 s; an assertion may not ask for more than an hour either. */
const ASSERTION_LIFETIME_S = 3600;
/** Renew this long before expiry (at most a fifth of the lifetime), so a request never leaves with a dying token. */
const RENEW_MARGIN_MS = 5 * 60_000;
const DEFAULT_TIMEOUT_MS = 10_000;

export class GoogleAccessTokenSource {
  readonly tokenUrl: string;
  readonly clientEmail: string;
  private readonly credentials: ServiceAccountKey;
  private readonly scope: string;
  private readonly timeoutMs: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private signingKey?: Promise<CryptoKey>;
  private cached?: { accessToken: string; renewAt: number };
  /** The token request in flight: concurrent callers share it. */
  private pending?: Promise<string>;

  constructor(options: GoogleAccessTokenSourceOptions) {
    if (!options.scopes.length) throw new Error(`Google service account ${options.credentials.clientEmail}: no OAuth scopes given`);
    this.credentials = options.credentials;
    this.clientEmail = options.credentials.clientEmail;
    this.tokenUrl = options.tokenUrl ?? options.credentials.tokenUri ?? GOOGLE_TOKEN_URL;
    this.scope = options.scopes.join(' ');
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger()).child({ googleServiceAccount: this.clientEmail });
  }

  /** The same as token(), as a callback for adapters that only need a Bearer token. */
  readonly getAccessToken = (): Promise<string> => this.token();

  /** A valid access token, fetched when none is cached or the cached one is about to expire. */
  token(): Promise<string> {
    if (this.cached && this.clock.now() < this.cached.renewAt) return Promise.resolve(this.cached.accessToken);
    // A failed request rejects its waiters and is forgotten: the next call tries again.
    this.pending ??= this.fetchToken().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** Forgets the cached token (an API answered 401 to it), so the next token() fetches a fresh one. */
  invalidate(rejectedToken?: string): void {
    if (this.cached && (rejectedToken === undefined || this.cached.accessToken === rejectedToken)) this.cached = undefined;
  }

  private async fetchToken(): Promise<string> {
    const issuedAt = this.clock.now();
    const assertion = await this.signAssertion(Math.floor(issuedAt / 1000));
    const what = `Google OAuth token endpoint ${this.tokenUrl} (service account ${this.clientEmail})`;
    const controller = new AbortController();
    let timedOut = false;
    const timer = this.clock.setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    let status: number;
    let text: string;
    try {
      const res = await fetch(this.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion }).toString(),
        signal: controller.signal,
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      if (timedOut) throw new GoogleAuthError(`${what} gave no token within ${this.timeoutMs} ms`, undefined, undefined, { cause: err });
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new GoogleAuthError(`${what} could not be reached: ${cause?.code ?? cause?.message ?? (err as Error).message}`, undefined, undefined, { cause: err });
    } finally {
      timer.cancel();
    }
    if (status < 200 || status >= 300) throw tokenError(what, status, text);
    const accessToken = parseTokenAnswer(what, status, text);
    this.cached = { accessToken: accessToken.token, renewAt: issuedAt + accessToken.lifetimeMs - Math.min(RENEW_MARGIN_MS, accessToken.lifetimeMs / 5) };
    this.log.debug({ tokenUrl: this.tokenUrl, expiresInS: accessToken.lifetimeMs / 1000 }, 'Google access token obtained');
    return accessToken.token;
  }

  private async signAssertion(iat: number): Promise<string> {
    this.signingKey ??= importPKCS8(this.credentials.privateKey, 'RS256').catch((err: unknown) => {
      this.signingKey = undefined;
      throw new GoogleAuthError(
        `Google service account ${this.clientEmail}: private_key is not a PKCS#8 PEM RSA key ("-----BEGIN PRIVATE KEY-----"): ${(err as Error).message}`,
        undefined,
        undefined,
        { cause: err },
      );
    });
    const key = await this.signingKey;
    const header: { alg: 'RS256'; typ: 'JWT'; kid?: string } = { alg: 'RS256', typ: 'JWT' };
    if (this.credentials.privateKeyId) header.kid = this.credentials.privateKeyId;
    return new SignJWT({ scope: this.scope })
      .setProtectedHeader(header)
      .setIssuer(this.clientEmail)
      .setAudience(this.tokenUrl)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ASSERTION_LIFETIME_S)
      .sign(key);
  }
}

/** Google answers `{error, error_description}` (RFC 6749 5.2); proxies may answer anything. */
function tokenError(what: string, status: number, text: string): GoogleAuthError {
  let code: string | undefined;
  let description: string | undefined;
  try {
    const body = JSON.parse(text) as { error?: unknown; error_description?: unknown };
    if (typeof body?.error === 'string') code = body.error;
    if (typeof body?.error_description === 'string') description = body.error_description;
  } catch {
    // not JSON
  }
  const detail = code || description ? [code, description].filter(Boolean).join(': ') : text.trim().slice(0, 200) || '(empty body)';
  const hint =
    code === 'invalid_grant'
      ? ' (check the service-account key, that it is not deleted or disabled, and the machine clock)'
      : status === 401 || code === 'unauthorized_client' || code === 'invalid_client'
        ? ' (the service account or key is not accepted)'
        : '';
  return new GoogleAuthError(`${what} answered ${status}: ${detail}${hint}`, status, code);
}

function parseTokenAnswer(what: string, status: number, text: string): { token: string; lifetimeMs: number } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new GoogleAuthError(`${what} answered ${status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 80))}`, status);
  }
  const o = (typeof body === 'object' && body !== null ? body : {}) as { access_token?: unknown; expires_in?: unknown; token_type?: unknown };
  if (typeof o.access_token !== 'string' || !o.access_token) throw new GoogleAuthError(`${what} answered ${status} without a string "access_token"`, status);
  if (o.token_type !== undefined && typeof o.token_type === 'string' && o.token_type.toLowerCase() !== 'bearer') {
    throw new GoogleAuthError(`${what} answered token_type ${JSON.stringify(o.token_type)}, expected "Bearer"`, status);
  }
  const expiresIn = Number(o.expires_in);
  const lifetimeS = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : ASSERTION_LIFETIME_S;
  return { token: o.access_token, lifetimeMs: lifetimeS * 1000 };
}

/**
 * One source per service account, scope set and token URL for the whole process, so every call of
 * every Google adapter using the same account shares one token instead of fetching its own.
 */
const sharedSources = new Map<string, GoogleAccessTokenSource>();

export function sharedGoogleAccessTokenSource(options: GoogleAccessTokenSourceOptions): GoogleAccessTokenSource {
  const keyHash = createHash('sha256').update(options.credentials.privateKey).digest('hex');
  const key = JSON.stringify([options.credentials.clientEmail, keyHash, [...options.scopes].sort(), options.tokenUrl ?? options.credentials.tokenUri ?? GOOGLE_TOKEN_URL]);
  let source = sharedSources.get(key);
  if (!source) {
    source = new GoogleAccessTokenSource(options);
    sharedSources.set(key, source);
  }
  return source;
}
