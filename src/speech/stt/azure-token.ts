/**
 * Azure Speech access tokens (`POST {tokenBase}/sts/v1.0/issueToken` with the resource key): a JWT,
 * valid for 10 minutes, sent as `Authorization: Bearer` instead of the key on every request.
 * One token is shared by every session of a provider and renewed a minute before it expires.
 */
import type { Clock } from '../../runtime/clock.js';
import { AzureSttError } from './azure-stt-error.js';
import { snippet } from './quoted-snippet.js';

/** Tokens live 10 minutes; renewing after 9 leaves a margin for clock skew and slow requests. */
const TOKEN_REUSE_MS = 9 * 60_000;
const MAX_TOKEN_CHARS = 16_384;

export class AzureTokenSource {
  private cached: { token: string; until: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    readonly issueTokenUrl: string,
    private readonly key: string,
    private readonly timeoutMs: number,
    private readonly clock: Clock,
  ) {}

  /** A valid token: the cached one, the one already being fetched, or a new one. */
  token(): Promise<string> {
    if (this.cached && this.clock.now() < this.cached.until) return Promise.resolve(this.cached.token);
    if (!this.pending) {
      this.pending = this.issue().finally(() => (this.pending = undefined));
    }
    return this.pending;
  }

  /** Drops the cached token (Azure refused it early, e.g. after a key rotation), so the next request gets a new one. */
  invalidate(): void {
    this.cached = undefined;
  }

  private async issue(): Promise<string> {
    const controller = new AbortController();
    const deadline = this.clock.setTimeout(() => controller.abort(), this.timeoutMs);
    let response: Response;
    let body: string;
    try {
      response = await fetch(this.issueTokenUrl, {
        method: 'POST',
        // The STS endpoint wants an empty form POST (Content-Length: 0) carrying only the key.
        headers: { 'Ocp-Apim-Subscription-Key': this.key, 'content-type': 'application/x-www-form-urlencoded' },
        body: '',
        signal: controller.signal,
      });
      body = await response.text();
    } catch (err) {
      if (controller.signal.aborted) {
        throw new AzureSttError(`Azure STT: no access token from ${this.issueTokenUrl} within ${this.timeoutMs} ms (requestTimeoutMs)`);
      }
      const code = (err as { cause?: { code?: string } }).cause?.code;
      throw new AzureSttError(`Azure STT: token request to ${this.issueTokenUrl} failed${code ? ` (${code})` : ''}: ${(err as Error).message}`);
    } finally {
      deadline.cancel();
    }
    if (!response.ok) {
      const hint = response.status === 401 ? ' (wrong key, or a key of another region)' : '';
      throw new AzureSttError(
        `Azure STT: token request rejected with HTTP ${response.status}${hint}: ${errorDetail(body)}`,
        response.status,
        response.status === 401 || response.status === 403,
      );
    }
    const token = body.trim();
    // A JWT is three base64url parts; anything else (an HTML page, JSON) is not a token.
    if (token === '' || token.length > MAX_TOKEN_CHARS || !/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) {
      throw new AzureSttError(`Azure STT: token endpoint answered something that is not a token: ${snippet(body)}`);
    }
    this.cached = { token, until: this.clock.now() + TOKEN_REUSE_MS };
    return token;
  }
}

/** The message of Azure's `{error:{code,message}}` envelope, else the raw body. */
export function errorDetail(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown }; message?: unknown };
    if (typeof parsed.error?.message === 'string') return `${parsed.error.code !== undefined ? `${String(parsed.error.code)}: ` : ''}${parsed.error.message}`;
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // Not JSON: quote it.
  }
  return body.trim() === '' ? '(empty body)' : `body: ${snippet(body)}`;
}
