/**
 * One bot-api HTTP exchange: auth header, JSON body, a timeout on the clock, retries of the very
 * same body on timeout / network error / 5xx (bots de-duplicate by activity id), and errors that
 * name the URL and what was wrong.
 */
import type { Clock } from '../../runtime/clock.js';
import type { Logger } from '../../logger.js';
import { sharedOAuthTokenCache, type OAuthClientCredentials, type OAuthTokenCache } from './oauth-token-cache.js';

export type BotApiErrorKind = 'auth' | 'conversation-gone' | 'malformed' | 'http' | 'timeout' | 'network';

export class BotApiError extends Error {
  override name = 'BotApiError';
  constructor(
    readonly kind: BotApiErrorKind,
    readonly url: string,
    message: string,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface BotApiAuth {
  /** Static bearer token; empty or absent sends no Authorization header. */
  token?: string;
  oauth?: OAuthClientCredentials;
  /** Token cache for `oauth`; share one per bot. Defaults to a process-wide cache keyed by the credentials. */
  tokenCache?: OAuthTokenCache;
}

export interface BotApiRequestOptions {
  method: 'GET' | 'POST';
  url: string;
  body?: unknown;
  auth: BotApiAuth;
  clock: Clock;
  log: Logger;
  timeoutMs: number;
  retries: number;
  /** Aborts the request and its retries (the call ended). */
  signal?: AbortSignal;
}

/** Returns the parsed JSON answer; an empty 2xx body is `{}`. */
export async function botApiRequest(opts: BotApiRequestOptions): Promise<unknown> {
  let oauthRetried = false;
  for (let attempt = 0; ; attempt++) {
    const token = await authToken(opts.auth, opts.url);
    try {
      return await attemptOnce(opts, token);
    } catch (err) {
      if (!(err instanceof BotApiError) || opts.signal?.aborted) throw err;
      // A rotated or revoked OAuth token: fetch a fresh one once before giving up.
      if (err.kind === 'auth' && opts.auth.oauth && !oauthRetried) {
        oauthRetried = true;
        (opts.auth.tokenCache ?? sharedOAuthTokenCache).invalidate(opts.auth.oauth, token);
        attempt--;
        continue;
      }
      const retryable = err.kind === 'timeout' || err.kind === 'network' || (err.kind === 'http' && (err.status ?? 0) >= 500);
      if (!retryable || attempt >= opts.retries) throw err;
      opts.log.warn({ url: opts.url, attempt: attempt + 1, problem: err.message }, 'bot-api request failed; retrying');
    }
  }
}

async function authToken(auth: BotApiAuth, url: string): Promise<string> {
  if (auth.oauth) {
    try {
      return await (auth.tokenCache ?? sharedOAuthTokenCache).token(auth.oauth);
    } catch (err) {
      throw new BotApiError('auth', url, (err as Error).message, undefined, { cause: err });
    }
  }
  return auth.token ?? '';
}

export function authHeaders(token: string): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function attemptOnce(opts: BotApiRequestOptions, token: string): Promise<unknown> {
  const { url, method } = opts;
  const controller = new AbortController();
  let timedOut = false;
  const timer = opts.clock.setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, opts.timeoutMs);
  const onOuterAbort = () => controller.abort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let status = 0;
  let text: string;
  try {
    const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(token) };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: controller.signal,
    });
    status = res.status;
    text = await res.text();
  } catch (err) {
    if (timedOut) throw new BotApiError('timeout', url, `${method} ${url} got no answer within ${opts.timeoutMs} ms`, undefined, { cause: err });
    if (opts.signal?.aborted) throw new BotApiError('network', url, `${method} ${url} aborted: the conversation ended`, undefined, { cause: err });
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new BotApiError('network', url, `${method} ${url} failed: ${detail}`, undefined, { cause: err });
  } finally {
    timer.cancel();
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
  if (status === 401 || status === 403) {
    throw new BotApiError('auth', url, `${method} ${url} answered ${status}: the bot rejected the ${token ? 'token' : 'request without a token'} (check the bot's token or OAuth settings)`, status);
  }
  if (status === 404) throw new BotApiError('conversation-gone', url, `${method} ${url} answered 404: no such conversation (or wrong URL) on the bot`, status);
  if (status < 200 || status >= 300) {
    throw new BotApiError('http', url, `${method} ${url} answered ${status}${text ? `: ${text.slice(0, 200)}` : ''}`, status);
  }
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BotApiError('malformed', url, `${method} ${url} answered malformed JSON (${(err as Error).message}): ${JSON.stringify(text.slice(0, 80))}`, status);
  }
}
