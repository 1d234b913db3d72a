/**
 * HTTP requests from the simulated Plivo to the application (answer, action, hangup URLs), form-encoded
 * and signed with V3 headers over the exact URL, as Plivo sends them.
 */
import { randomInt } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { Clock } from '../runtime/clock.js';
import { computeV3Signature } from '../carriers/plivo/signature.js';

export type HttpMethod = 'GET' | 'POST';
export const MAX_XML_BYTES = 100 * 1024;

export class AppRequestError extends Error {
  constructor(
    message: string,
    /** HTTP status when the server answered; undefined for network errors and timeouts. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export function parseMethod(value: string | undefined, fallback: HttpMethod, field: string): HttpMethod {
  if (value === undefined || value === '') return fallback;
  const m = value.toUpperCase();
  if (m !== 'GET' && m !== 'POST') throw new AppRequestError(`${field} must be GET or POST, got ${JSON.stringify(value)}`);
  return m;
}

/** A nonce Plivo-style: random decimal digits. */
export function newNonce(): string {
  let s = '';
  for (let i = 0; i < 20; i++) s += String(randomInt(10));
  return s;
}

export function signedHeaders(method: HttpMethod, url: string, params: Record<string, string>, authToken: string): Record<string, string> {
  const nonce = newNonce();
  return {
    'X-Plivo-Signature-V3': computeV3Signature({ method, url, params, nonce, authToken }),
    'X-Plivo-Signature-V3-Nonce': nonce,
  };
}

export class AppRequester {
  constructor(
    private readonly authToken: string,
    private readonly timeoutMs: number,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly retryDelayMs = 250,
  ) {}

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
      // Plivo appends the parameters to the URL's own query; the signature covers both (GET rule).
      if (extra) requestUrl = url + (target.search ? '&' : '?') + extra;
    } else {
      body = new URLSearchParams(params).toString();
    }
    const headers: Record<string, string> = {
      ...signedHeaders(method, requestUrl, method === 'GET' ? {} : params, this.authToken),
      'User-Agent': 'PlivoHTTP/voxgate-sim',
    };
    if (body !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded';
    try {
      const res = await fetch(requestUrl, { method, headers, body, signal: AbortSignal.timeout(this.timeoutMs), redirect: 'follow' });
      return { status: res.status, body: await res.text() };
    } catch (err) {
      throw new AppRequestError(`${method} ${url} failed: ${(err as Error).message}`);
    }
  }

  /** Fetches an XML document; non-2xx, empty or oversized answers are errors. */
  async fetchXml(url: string, method: HttpMethod, params: Record<string, string>): Promise<string> {
    const { status, body } = await this.send(url, method, params);
    if (status < 200 || status >= 300) throw new AppRequestError(`${method} ${url} answered HTTP ${status}`, status);
    if (Buffer.byteLength(body) > MAX_XML_BYTES) throw new AppRequestError(`${method} ${url} returned ${Buffer.byteLength(body)} bytes of XML (Plivo's limit is 100 KB)`, status);
    return body;
  }

  /**
   * The answer URL rule: retry on network errors and 5xx (3 attempts), then try `fallbackUrl` the same way.
   * 4xx answers are not retried (the application said no).
   */
  async fetchAnswerXml(
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
          return await this.fetchXml(target.url, target.method, params);
        } catch (err) {
          lastError = err as AppRequestError;
          const retryable = lastError.status === undefined || lastError.status >= 500;
          this.logger.warn({ url: target.url, attempt, err: lastError.message }, 'answer URL request failed');
          if (!retryable) break;
          if (attempt < 3) await new Promise<void>((resolve) => this.clock.setTimeout(resolve, this.retryDelayMs * attempt));
        }
      }
    }
    throw lastError ?? new AppRequestError('answer URL failed');
  }

  /** Fire-and-report request whose answer is ignored (hangup, ring, Dial callbacks); failures are logged, never thrown. */
  async notify(url: string, method: HttpMethod, params: Record<string, string>): Promise<boolean> {
    try {
      const { status } = await this.send(url, method, params);
      if (status >= 400) this.logger.warn({ url, status }, 'callback answered with an error status');
      return status < 400;
    } catch (err) {
      this.logger.warn({ url, err: (err as Error).message }, 'callback failed');
      return false;
    }
  }
}
