/**
 * Twilio's request signature, `X-Twilio-Signature`: base64(HMAC-SHA1(authToken, url + params)), where
 * the full URL (scheme, host, any port, path, query) is followed by every POST parameter, sorted by
 * name, as name+value with no separators. JSON-bodied webhooks sign the URL alone, and the URL's
 * `bodySHA256` query parameter carries the hex SHA-256 of the body. Twilio signs with the URL it was
 * configured with, which may or may not spell the default port, so verification accepts both spellings.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Form parameters: a repeated key has several values. */
export type TwilioSignedParams = Readonly<Record<string, string | readonly string[]>> | URLSearchParams;

function paramEntries(params: TwilioSignedParams): [string, string[]][] {
  const byName = new Map<string, string[]>();
  const add = (name: string, value: string) => {
    const values = byName.get(name);
    if (values) values.push(value);
    else byName.set(name, [value]);
  };
  if (params instanceof URLSearchParams) {
    for (const [name, value] of params) add(name, value);
  } else {
    for (const [name, value] of Object.entries(params)) {
      if (typeof value === 'string') add(name, value);
      else for (const v of value) add(name, v);
    }
  }
  return [...byName.entries()];
}

/**
 * The signature Twilio sends for a request to `url` with form `params` (none for GET requests and
 * JSON bodies). Names sort in code-unit order; a repeated name contributes each distinct value, sorted,
 * as Twilio's helper libraries compute it.
 */
export function computeTwilioSignature(authToken: string, url: string, params: TwilioSignedParams = {}): string {
  let data = url;
  const entries = paramEntries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, values] of entries) {
    for (const value of [...new Set(values)].sort()) data += name + value;
  }
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

export interface VerifyTwilioSignatureArgs {
  authToken: string;
  /** The full URL Twilio requested, query string included. */
  url: string;
  /** Form parameters as parsed; when absent, `body` is parsed as a form (unless the URL carries bodySHA256). */
  params?: TwilioSignedParams;
  /** The raw request body: required for JSON bodies (URL with bodySHA256), optional for forms. */
  body?: string;
  /** The X-Twilio-Signature header (missing fails). */
  signatureHeader: string | string[] | undefined;
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' };

/** `url` with the default port spelled out and without it (the same URL twice for other ports). */
function portVariants(url: string): string[] {
  const match = /^([a-z][a-z0-9+.-]*:)\/\/([^/?#]*)(.*)$/is.exec(url);
  if (!match) return [url];
  const [, scheme, authority, rest] = match;
  const defaultPort = DEFAULT_PORTS[scheme.toLowerCase()];
  if (!defaultPort) return [url];
  const userInfo = authority.slice(0, authority.lastIndexOf('@') + 1);
  const hostPort = authority.slice(userInfo.length);
  const colon = hostPort.indexOf(':', hostPort.lastIndexOf(']') + 1); // an IPv6 literal's colons are not a port
  if (colon < 0) return [url, `${scheme}//${authority}:${defaultPort}${rest}`];
  if (hostPort.slice(colon + 1) === defaultPort) return [url, `${scheme}//${userInfo}${hostPort.slice(0, colon)}${rest}`];
  return [url];
}

function sameSignature(expected: string, received: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(received);
  return a.length === b.length && timingSafeEqual(a, b);
}

function bodySha256(url: string): string | undefined {
  try {
    return new URL(url).searchParams.get('bodySHA256') ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when `signatureHeader` is Twilio's signature of the request. Form requests are checked over the
 * sorted parameters; a URL with `bodySHA256` is a JSON request: the body's hex SHA-256 must match it,
 * and the signature covers the URL alone. Comparisons are constant-time.
 */
export function verifyTwilioSignature(args: VerifyTwilioSignatureArgs): boolean {
  const header = Array.isArray(args.signatureHeader) ? args.signatureHeader[0] : args.signatureHeader;
  if (!header) return false;
  const expectedBodyHash = bodySha256(args.url);
  let params: TwilioSignedParams;
  if (expectedBodyHash !== undefined) {
    if (args.body === undefined) return false;
    const actual = createHash('sha256').update(Buffer.from(args.body, 'utf8')).digest('hex');
    if (!sameSignature(actual, expectedBodyHash.toLowerCase())) return false;
    params = {};
  } else {
    params = args.params ?? (args.body !== undefined ? new URLSearchParams(args.body) : {});
  }
  let valid = false;
  // Every variant is checked (no early exit), so timing does not tell which spelling matched.
  for (const candidate of portVariants(args.url)) {
    if (sameSignature(computeTwilioSignature(args.authToken, candidate, params), header)) valid = true;
  }
  return valid;
}
