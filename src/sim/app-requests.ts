/**
 * HTTP requests from a simulated carrier to the application (answer/voice URLs, actions, callbacks),
 * form-encoded and signed the carrier's way over the exact URL requested. GET requests carry the
 * parameters in the query string instead, and then the signature covers that URL with no parameters,
 * as both Plivo and Twilio sign them.
 */
import type { Logger } from '../logger.js';
import type { Clock } from '../runtime/clock.js';

export type HttpMethod = 'GET' | 'POST';

/** The carrier's signature headers for one request (`params` is empty for GET). */
export type RequestSigner = (method: HttpMethod, url: string, params: Record<string, string>) => Record<string, string>;

export interface AppRequesterOptions {
  /** Names the carrier in error messages ("Plivo's limit is 100 KB"). */
  carrier: string;
  sign: RequestSigner;
  userAgent: string;
  /** Largest document (XML/TwiML) the carrier accepts. */
  maxDocumentBytes: number;
  /** Timeout of each request. */
  timeoutMs: number;
  clock: Clock;
  logger: Logger;
  /** Delay before the answer URL's 2nd attempt (the 3rd waits twice as long). */
  retryDelayMs: number;
}

export class AppRequestError extends Error {
  constructor(
    message: string,
    /** HTTP status when the server answered; undefined for network errors and timeouts. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Why `value` is not an absolute http(s) URL (a sentence naming `field`), or undefined when it is one. */
export function httpUrlProblem(value: string, field: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${field} must be an absolute URL, got ${JSON.stringify(value)}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `${field} must be an http(s) URL, got ${JSON.stringify(value)}`;
  return undefined;
}

export function parseMethod(value: string | undefined, fallback: HttpMethod, field: string): HttpMethod {
  if (value === undefined || value === '') return fallback;
  const m = value.toUpperCase();
  if (m !== 'GET' && m !== 'POST') throw new AppRequestError(`${field} must be GET or POST, got ${JSON.stringify(value)}`);
  return m;
}

export class AppRequester {
  constructor(private readonly opts: AppRequesterOptions) {}

  /** One signed request; resolves with status and body text, throws AppRequestError on network errors/timeouts. */
  async send(url: string, method: HttpMethod, params: Record<string, string>): Promise<{ status: number; body: string }> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      throw new AppRequestError(`callback URL ${JSON.stringify(url)} is not a valid absolute URL`);
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new AppRequestError(`callback URL ${url} must be http(s)`);
    let requestUrl = url;
    let body: string | undefined;
    if (method === 'GET') {
      const extra = new URLSearchParams(params).toString();
      // The parameters are appended to the URL's own query; the signature covers both (GET rule).
      if (extra) requestUrl = url + (target.search ? '&' : '?') + extra;
    } else {
      body = new URLSearchParams(params).toString();
    }
    const headers: Record<string, string> = {
      ...this.opts.sign(method, requestUrl, method === 'GET' ? {} : params),
      'User-Agent': this.opts.userAgent,
    };
    if (body !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded';
    try {
      const res = await fetch(requestUrl, { method, headers, body, signal: AbortSignal.timeout(this.opts.timeoutMs), redirect: 'follow' });
      return { status: res.status, body: await res.text() };
    } catch (err) {
      throw new AppRequestError(`${method} ${url} failed: ${(err as Error).message}`);
    }
  }

  /** Fetches a document (XML, TwiML); non-2xx or oversized answers are errors. */
  async fetchDocument(url: string, method: HttpMethod, params: Record<string, string>): Promise<string> {
    const { status, body } = await this.send(url, method, params);
    if (status < 200 || status >= 300) throw new AppRequestError(`${method} ${url} answered HTTP ${status}`, status);
    const bytes = Buffer.byteLength(body);
    const limit = this.opts.maxDocumentBytes;
    if (bytes > limit) throw new AppRequestError(`${method} ${url} returned ${bytes} bytes of XML (${this.opts.carrier}'s limit is ${limit / 1024} KB)`, status);
    return body;
  }

  /**
   * The rule for a call's first document (Plivo answer URL, Twilio voice URL): retry on network errors
   * and 5xx (3 attempts), then try the fallback URL the same way. 4xx answers are not retried (the
   * application said no).
   */
  async fetchFirstDocument(
    primary: { url: string; method: HttpMethod },
    fallback: { url: string; method: HttpMethod } | undefined,
    params: Record<string, string>,
    signal: AbortSignal,
  ): Promise<string> {
    let lastError: AppRequestError | undefined;
    for (const target of fallback ? [primary, fallback] : [primary]) {
      for (let attempt = 1; attempt <= 3; attempt++) {
        if (signal.aborted) throw new AppRequestError('call ended while fetching XML');
        try {
          return await this.fetchDocument(target.url, target.method, params);
        } catch (err) {
          lastError = err as AppRequestError;
          const retryable = lastError.status === undefined || lastError.status >= 500;
          this.opts.logger.warn({ url: target.url, attempt, err: lastError.message }, 'answer URL request failed');
          if (!retryable) break;
          if (attempt < 3) await new Promise<void>((resolve) => this.opts.clock.setTimeout(resolve, this.opts.retryDelayMs * attempt));
        }
      }
    }
    throw lastError ?? new AppRequestError('answer URL failed');
  }

  /** Fire-and-report request whose answer is ignored (hangup, ring, Dial callbacks); failures are logged, never thrown. */
  async notify(url: string, method: HttpMethod, params: Record<string, string>): Promise<boolean> {
    try {
      const { status } = await this.send(url, method, params);
      if (status >= 400) this.opts.logger.warn({ url, status }, 'callback answered with an error status');
      return status < 400;
    } catch (err) {
      this.opts.logger.warn({ url, err: (err as Error).message }, 'callback failed');
      return false;
    }
  }
}
