/**
 * A loopback double of Google's OAuth 2.0 token endpoint for service accounts (JWT bearer grant,
 * RFC 7523): POST /token with form `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`.
 * The assertion's RS256 signature is checked with the account's public key (chosen by `kid`), and its
 * claims as Google checks them: iss a known account, aud the token URL, scope present, exp - iat at
 * most an hour and now inside [iat, exp]. Errors answer Google's `{error, error_description}` shapes.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackDouble, receive, RequestLog } from './fake-vendor-server.js';
import { compactVerify, decodeProtectedHeader } from 'jose';

export interface TestServiceAccount {
  clientEmail: string;
  privateKeyId: string;
  /** PKCS#8 PEM, as in a downloaded key file. */
  privateKey: string;
  publicKey: KeyObject;
}

/** A fresh RSA key pair for a test service account (what "Create key" in the console gives). */
export function makeServiceAccount(clientEmail = 'voxgate-test@voxgate-project.iam.gserviceaccount.com'): TestServiceAccount {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    clientEmail,
    privateKeyId: randomBytes(20).toString('hex'),
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey,
  };
}

/** The key file JSON Google hands out for a service account. */
export function serviceAccountKeyFile(account: TestServiceAccount, tokenUri?: string): string {
  return JSON.stringify({
    type: 'service_account',
    project_id: 'voxgate-project',
    private_key_id: account.privateKeyId,
    private_key: account.privateKey,
    client_email: account.clientEmail,
    client_id: '100000000000000000001',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: tokenUri ?? 'https://oauth2.googleapis.com/token',
  });
}

export interface TokenRequestRecord {
  iss?: string;
  scope?: string;
  aud?: string;
  iat?: number;
  exp?: number;
  kid?: string;
  status: number;
}

export interface IssuedToken {
  clientEmail: string;
  scopes: string[];
  /** Epoch ms. */
  expiresAt: number;
}

export interface GoogleOAuthServerOptions {
  /** Time source for the iat/exp checks and token expiry (a FakeClock's now in tests). */
  now?: () => number;
  /** expires_in of issued tokens. Default 3599, as Google answers. */
  expiresInS?: number;
}

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Google tolerates some clock skew on iat; the exact figure is not documented. */
const SKEW_S = 300;

export class GoogleOAuthServer extends LoopbackDouble {
  private readonly log = new RequestLog<TokenRequestRecord>();
  readonly requests = this.log.entries;
  private readonly accounts = new Map<string, TestServiceAccount>();
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly scripted: { status: number; body: string; contentType?: string }[] = [];
  private readonly held: (() => void)[] = [];
  private holdNext = 0;
  private readonly now: () => number;
  private readonly expiresInS: number;

  constructor(options: GoogleOAuthServerOptions = {}) {
    super();
    this.now = options.now ?? Date.now;
    this.expiresInS = options.expiresInS ?? 3599;
  }

  /** The token URL clients must use as `aud`. */
  get tokenUrl(): string {
    return `${this.url}/token`;
  }

  addAccount(account: TestServiceAccount): void {
    this.accounts.set(account.clientEmail, account);
  }

  /** Deleting the account's key, as in the console: later assertions signed with it fail. */
  removeAccount(clientEmail: string): void {
    this.accounts.delete(clientEmail);
  }

  /** The next token request is answered with this status and JSON body instead of being checked. */
  failNext(status: number, body: unknown): void {
    this.scripted.push({ status, body: typeof body === 'string' ? body : JSON.stringify(body), contentType: typeof body === 'string' ? 'text/html' : 'application/json' });
  }

  /** The next `count` token requests get no answer until release() (slow endpoint, concurrency tests). */
  holdRequests(count = 1): void {
    this.holdNext += count;
  }

  release(): void {
    for (const answer of this.held.splice(0)) answer();
  }

  /** Resolves once `count` token requests have arrived in total. */
  async waitForRequests(count: number): Promise<void> {
    await this.log.atLeast(count);
  }

  /** Whether `token` was issued by this endpoint, is unexpired and carries `scope`. */
  accepts(token: string, scope: string): boolean {
    const issued = this.tokens.get(token);
    return !!issued && issued.expiresAt > this.now() && issued.scopes.includes(scope);
  }

  private record(r: TokenRequestRecord): void {
    this.log.add(r);
  }

  protected override async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { text } = await receive(req);
    const send = (status: number, body: unknown, record: Omit<TokenRequestRecord, 'status'> = {}) => {
      this.record({ ...record, status });
      const answer = () => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache, no-store, max-age=0, must-revalidate' });
        res.end(JSON.stringify(body));
      };
      if (this.holdNext > 0) {
        this.holdNext--;
        this.held.push(answer);
      } else answer();
    };
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== '/token') {
      res.writeHead(404, { 'content-type': 'text/html' }).end('<html><body>Not Found</body></html>');
      return;
    }
    const scripted = this.scripted.shift();
    if (scripted) {
      this.record({ status: scripted.status });
      res.writeHead(scripted.status, { 'content-type': scripted.contentType ?? 'application/json' }).end(scripted.body);
      return;
    }
    if (!/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')) {
      send(400, { error: 'invalid_request', error_description: 'Bad Request' });
      return;
    }
    const form = new URLSearchParams(text);
    const grantType = form.get('grant_type');
    if (grantType !== JWT_BEARER) {
      send(400, { error: 'unsupported_grant_type', error_description: `Invalid grant_type: ${grantType ?? ''}` });
      return;
    }
    const assertion = form.get('assertion') ?? '';
    let header: { alg?: string; kid?: string };
    let claims: { iss?: string; scope?: string; aud?: string; iat?: number; exp?: number };
    try {
      header = decodeProtectedHeader(assertion);
      claims = JSON.parse(Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString('utf8')) as typeof claims;
    } catch {
      send(400, { error: 'invalid_grant', error_description: 'Invalid JWT: Unable to parse' });
      return;
    }
    const seen = { iss: claims.iss, scope: claims.scope, aud: claims.aud, iat: claims.iat, exp: claims.exp, kid: header.kid };
    const account = claims.iss ? this.accounts.get(claims.iss) : undefined;
    if (!account) {
      send(400, { error: 'invalid_grant', error_description: 'Invalid grant: account not found' }, seen);
      return;
    }
    if (header.alg !== 'RS256' || (header.kid !== undefined && header.kid !== account.privateKeyId)) {
      send(400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' }, seen);
      return;
    }
    try {
      await compactVerify(assertion, account.publicKey, { algorithms: ['RS256'] });
    } catch {
      send(400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' }, seen);
      return;
    }
    if (claims.aud !== this.tokenUrl) {
      send(400, { error: 'invalid_grant', error_description: `Invalid JWT: Failed audience check. The expected value was ${this.tokenUrl}` }, seen);
      return;
    }
    const nowS = Math.floor(this.now() / 1000);
    const { iat, exp } = claims;
    if (typeof iat !== 'number' || typeof exp !== 'number' || exp - iat > 3600 || exp <= iat || iat > nowS + SKEW_S || exp < nowS) {
      send(400, { error: 'invalid_grant', error_description: 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.' }, seen);
      return;
    }
    if (typeof claims.scope !== 'string' || !claims.scope.trim()) {
      send(400, { error: 'invalid_scope', error_description: 'Invalid OAuth scope or ID token audience provided.' }, seen);
      return;
    }
    const token = `ya29.c.${randomBytes(24).toString('base64url')}`;
    this.tokens.set(token, { clientEmail: account.clientEmail, scopes: claims.scope.split(' '), expiresAt: this.now() + this.expiresInS * 1000 });
    send(200, { access_token: token, expires_in: this.expiresInS, token_type: 'Bearer' }, seen);
  }
}
