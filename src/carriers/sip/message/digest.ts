/**
 * HTTP Digest authentication as SIP uses it (RFC 3261 22, RFC 2617, RFC 7616; RFC 8760 for SHA-256),
 * with qop=auth. The client side answers a 401/407 challenge from a trunk or registrar; the server
 * side challenges peers that call in. Server nonces are stateless (issue time, random bits and an
 * HMAC over both with a secret), so any number can be issued without memory; what needs memory is
 * replay protection, which keeps a bounded window of used nonce counts per nonce and answers "stale"
 * (forcing a fresh nonce) whenever it cannot prove a request is not a replay.
 */
import { createHash, createHmac, getHashes, randomBytes, timingSafeEqual } from 'node:crypto';
import { describe, isToken, quoteString, readQuotedString, skipLws } from './lexical.js';
import { SipParseError } from './sip-parse-error.js';

export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque?: string;
  /** MD5 when the challenge names none. */
  algorithm: string;
  qop?: string[];
  stale?: boolean;
}

export interface DigestCredentials {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm?: string;
  cnonce?: string;
  nc?: string;
  qop?: string;
  opaque?: string;
}

const HASHES: Record<string, string> = { MD5: 'md5', 'SHA-256': 'sha256', 'SHA-512-256': 'sha512-256' };

function hashOf(algorithm: string): { hash: string; session: boolean } {
  const upper = algorithm.toUpperCase();
  const session = upper.endsWith('-SESS');
  const hash = HASHES[session ? upper.slice(0, -5) : upper];
  if (!hash || !getHashes().includes(hash)) throw new SipParseError(`unsupported digest algorithm ${describe(algorithm)}`);
  return { hash, session };
}

function digestHex(hash: string, text: string): string {
  return createHash(hash).update(text, 'utf8').digest('hex');
}

/** RFC 7616 3.4.1 response, qop "auth" or none. */
function computeResponse(input: {
  algorithm: string;
  username: string;
  realm: string;
  password: string;
  nonce: string;
  method: string;
  uri: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
}): string {
  const { hash, session } = hashOf(input.algorithm);
  let ha1 = digestHex(hash, `${input.username}:${input.realm}:${input.password}`);
  if (session) ha1 = digestHex(hash, `${ha1}:${input.nonce}:${input.cnonce ?? ''}`);
  const ha2 = digestHex(hash, `${input.method}:${input.uri}`);
  if (input.qop === undefined) return digestHex(hash, `${ha1}:${input.nonce}:${ha2}`);
  return digestHex(hash, `${ha1}:${input.nonce}:${input.nc}:${input.cnonce}:${input.qop}:${ha2}`);
}

/** "Digest a=b, c="d"": the scheme and its parameters, names lower-cased, quoted values unescaped. */
function parseAuthParams(headerValue: string, what: string): Map<string, string> {
  const text = headerValue;
  let i = skipLws(text, 0);
  const schemeStart = i;
  while (i < text.length && text.charCodeAt(i) !== 0x20 && text.charCodeAt(i) !== 0x09) i++;
  const scheme = text.slice(schemeStart, i);
  if (scheme.toLowerCase() !== 'digest') throw new SipParseError(`unsupported ${what} scheme ${describe(scheme)}: only Digest`);
  const params = new Map<string, string>();
  i = skipLws(text, i);
  while (i < text.length) {
    const nameStart = i;
    while (i < text.length && text.charCodeAt(i) !== 0x3d && text.charCodeAt(i) !== 0x20 && text.charCodeAt(i) !== 0x09) i++;
    const name = text.slice(nameStart, i);
    if (!isToken(name)) throw new SipParseError(`malformed ${what}: expected a parameter name at ${describe(text.slice(nameStart))}`);
    i = skipLws(text, i);
    if (text.charCodeAt(i) !== 0x3d) throw new SipParseError(`malformed ${what}: parameter ${describe(name)} has no value`);
    i = skipLws(text, i + 1);
    let value: string;
    if (text.charCodeAt(i) === 0x22) {
      const quoted = readQuotedString(text, i, what);
      value = quoted.value;
      i = quoted.end;
    } else {
      // token, but some servers send base64 nonces unquoted: everything up to the next separator
      const valueStart = i;
      while (i < text.length && text.charCodeAt(i) !== 0x2c && text.charCodeAt(i) !== 0x20 && text.charCodeAt(i) !== 0x09) i++;
      value = text.slice(valueStart, i);
      if (value.length === 0) throw new SipParseError(`malformed ${what}: parameter ${describe(name)} has no value`);
    }
    const key = name.toLowerCase();
    if (params.has(key)) throw new SipParseError(`malformed ${what}: duplicate parameter ${describe(key)}`);
    params.set(key, value);
    i = skipLws(text, i);
    if (i < text.length) {
      if (text.charCodeAt(i) !== 0x2c) throw new SipParseError(`malformed ${what}: expected ',' at ${describe(text.slice(i))}`);
      i = skipLws(text, i + 1);
    }
  }
  return params;
}

function required(params: Map<string, string>, name: string, what: string): string {
  const value = params.get(name);
  if (value === undefined) throw new SipParseError(`${what} without ${name}`);
  return value;
}

/** A WWW-Authenticate or Proxy-Authenticate value. */
export function parseChallenge(headerValue: string): DigestChallenge {
  const what = 'digest challenge';
  const params = parseAuthParams(headerValue, what);
  const challenge: DigestChallenge = {
    realm: required(params, 'realm', what),
    nonce: required(params, 'nonce', what),
    algorithm: params.get('algorithm') ?? 'MD5',
  };
  const opaque = params.get('opaque');
  if (opaque !== undefined) challenge.opaque = opaque;
  const qop = params.get('qop');
  if (qop !== undefined) challenge.qop = qop.split(',').map((q) => q.trim()).filter((q) => q.length > 0);
  const stale = params.get('stale');
  if (stale !== undefined) challenge.stale = stale.toLowerCase() === 'true';
  return challenge;
}

export function formatChallenge(c: DigestChallenge): string {
  if (!isToken(c.algorithm)) throw new TypeError(`invalid digest algorithm ${JSON.stringify(c.algorithm)}`);
  const parts = [`realm=${quoteString(c.realm)}`, `nonce=${quoteString(c.nonce)}`];
  if (c.opaque !== undefined) parts.push(`opaque=${quoteString(c.opaque)}`);
  parts.push(`algorithm=${c.algorithm}`);
  if (c.qop && c.qop.length > 0) parts.push(`qop=${quoteString(c.qop.join(','))}`);
  if (c.stale) parts.push('stale=TRUE');
  return `Digest ${parts.join(', ')}`;
}

/**
 * The Authorization (401) or Proxy-Authorization (407) value answering `challenge` for a request with
 * this method and Request-URI. Uses qop=auth when offered; a challenge offering only auth-int is refused.
 */
export function buildAuthorization(input: {
  challenge: DigestChallenge;
  method: string;
  uri: string;
  username: string;
  password: string;
  cnonce?: string;
  nc?: number;
}): string {
  const { challenge } = input;
  let qop: string | undefined;
  if (challenge.qop && challenge.qop.length > 0) {
    if (!challenge.qop.some((q) => q.toLowerCase() === 'auth')) {
      throw new SipParseError(`the challenge offers qop ${describe(challenge.qop.join(','))}, not auth`);
    }
    qop = 'auth';
  }
  const count = input.nc ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > 0xffffffff) throw new TypeError(`invalid nonce count ${count}`);
  const nc = count.toString(16).padStart(8, '0');
  const cnonce = input.cnonce ?? randomBytes(12).toString('hex');
  const response = computeResponse({ ...input, algorithm: challenge.algorithm, realm: challenge.realm, nonce: challenge.nonce, qop, nc, cnonce });
  const parts = [
    `username=${quoteString(input.username)}`,
    `realm=${quoteString(challenge.realm)}`,
    `nonce=${quoteString(challenge.nonce)}`,
    `uri=${quoteString(input.uri)}`,
    `response="${response}"`,
    `algorithm=${challenge.algorithm}`,
  ];
  if (qop !== undefined || hashOf(challenge.algorithm).session) parts.push(`cnonce=${quoteString(cnonce)}`);
  if (qop !== undefined) parts.push(`qop=${qop}`, `nc=${nc}`);
  if (challenge.opaque !== undefined) parts.push(`opaque=${quoteString(challenge.opaque)}`);
  return `Digest ${parts.join(', ')}`;
}

/** An Authorization or Proxy-Authorization value. */
export function parseAuthorization(headerValue: string): DigestCredentials {
  const what = 'digest credentials';
  const params = parseAuthParams(headerValue, what);
  const credentials: DigestCredentials = {
    username: required(params, 'username', what),
    realm: required(params, 'realm', what),
    nonce: required(params, 'nonce', what),
    uri: required(params, 'uri', what),
    response: required(params, 'response', what),
  };
  for (const name of ['algorithm', 'cnonce', 'nc', 'qop', 'opaque'] as const) {
    const value = params.get(name);
    if (value !== undefined) credentials[name] = value;
  }
  return credentials;
}

export interface DigestVerifierOptions {
  realm: string;
  /** Signs nonces. Default: random per verifier, so nonces die with the process. Share one to accept nonces across processes. */
  secret?: Buffer;
  /** After this a correct response gets 'stale' and the peer retries with a fresh nonce. Default 5 minutes. */
  nonceLifetimeMs?: number;
  now?: () => number;
  /** Offered in challenges and required in responses. Default MD5, the one every SIP device supports. */
  algorithm?: 'MD5' | 'SHA-256';
  /** Nonces whose counts are remembered. Default 10,000. */
  maxTrackedNonces?: number;
}

interface NonceUse {
  issued: number;
  /** Highest nonce count accepted. */
  high: number;
  /** Bit k set: count high - k was accepted. */
  window: number;
}

const NONCE_BYTES = 32; // 8 issue time, 8 random, 16 HMAC
const WINDOW = 32;

/**
 * Server side: issues challenges and checks responses. The caller looks the password up by
 * credentials.username and should check credentials.uri against the Request-URI (RFC 2617 3.2.2.5).
 * Replay protection is per instance.
 */
export class DigestVerifier {
  private readonly realm: string;
  private readonly secret: Buffer;
  private readonly lifetime: number;
  private readonly now: () => number;
  private readonly algorithm: 'MD5' | 'SHA-256';
  private readonly maxTracked: number;
  private readonly uses = new Map<string, NonceUse>();
  /** A valid nonce issued at or before this time that is not in `uses` may have been used already: answer stale. */
  private unknownIssuedUpTo: number;

  constructor(options: DigestVerifierOptions) {
    this.realm = options.realm;
    this.secret = options.secret ?? randomBytes(32);
    this.lifetime = options.nonceLifetimeMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
    this.algorithm = options.algorithm ?? 'MD5';
    this.maxTracked = options.maxTrackedNonces ?? 10_000;
    // nonces from before this instance (a restart with the same secret) have counts it never saw
    this.unknownIssuedUpTo = this.now() - 1;
  }

  challenge(stale = false): DigestChallenge {
    const nonceBytes = Buffer.alloc(NONCE_BYTES);
    nonceBytes.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(this.now()))), 0);
    randomBytes(8).copy(nonceBytes, 8);
    this.sign(nonceBytes).copy(nonceBytes, 16);
    const challenge: DigestChallenge = { realm: this.realm, nonce: nonceBytes.toString('base64url'), algorithm: this.algorithm, qop: ['auth'] };
    if (stale) challenge.stale = true;
    return challenge;
  }

  verify(method: string, credentials: DigestCredentials, password: string): 'ok' | 'stale' | 'invalid' {
    if (credentials.realm !== this.realm) return 'invalid';
    const issued = this.issuedAt(credentials.nonce);
    if (issued === undefined) return 'invalid';
    if ((credentials.algorithm ?? 'MD5').toUpperCase() !== this.algorithm) return 'invalid';
    // we always offer qop=auth; without it nothing distinguishes a replay within the nonce lifetime
    const { qop, nc, cnonce } = credentials;
    if (qop?.toLowerCase() !== 'auth' || cnonce === undefined || nc === undefined || !/^[0-9a-fA-F]{8}$/.test(nc)) return 'invalid';
    const count = parseInt(nc, 16);
    if (count === 0) return 'invalid';
    const expected = computeResponse({
      algorithm: this.algorithm,
      username: credentials.username,
      realm: this.realm,
      password,
      nonce: credentials.nonce,
      method,
      uri: credentials.uri,
      qop: 'auth',
      nc,
      cnonce,
    });
    const given = Buffer.from(credentials.response.toLowerCase());
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) return 'invalid';
    const now = this.now();
    if (now - issued > this.lifetime) return 'stale';
    return this.recordCount(credentials.nonce, issued, count, now);
  }

  private sign(nonceBytes: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(this.realm).update(nonceBytes.subarray(0, 16)).digest().subarray(0, 16);
  }

  private issuedAt(nonce: string): number | undefined {
    const bytes = Buffer.from(nonce, 'base64url');
    if (bytes.length !== NONCE_BYTES || bytes.toString('base64url') !== nonce) return undefined;
    if (!timingSafeEqual(this.sign(bytes), bytes.subarray(16))) return undefined;
    return Number(bytes.readBigUInt64BE(0));
  }

  private recordCount(nonce: string, issued: number, count: number, now: number): 'ok' | 'stale' | 'invalid' {
    const use = this.uses.get(nonce);
    if (!use) {
      if (issued <= this.unknownIssuedUpTo) return 'stale';
      this.forgetExpired(now);
      this.uses.set(nonce, { issued, high: count, window: 1 });
      if (this.uses.size > this.maxTracked) {
        const [oldest, entry] = this.uses.entries().next().value as [string, NonceUse];
        this.uses.delete(oldest);
        this.unknownIssuedUpTo = Math.max(this.unknownIssuedUpTo, entry.issued);
      }
      return 'ok';
    }
    if (count > use.high) {
      const shift = count - use.high;
      use.window = shift >= WINDOW ? 1 : ((use.window << shift) | 1) >>> 0;
      use.high = count;
      return 'ok';
    }
    const back = use.high - count;
    if (back >= WINDOW) return 'stale';
    if ((use.window & (1 << back)) !== 0) return 'invalid';
    use.window = (use.window | (1 << back)) >>> 0;
    return 'ok';
  }

  /** Drops expired nonces from the front of the map; they are answered 'stale' from their issue time alone. */
  private forgetExpired(now: number): void {
    for (const [nonce, use] of this.uses) {
      if (now - use.issued <= this.lifetime) break;
      this.uses.delete(nonce);
    }
  }
}
