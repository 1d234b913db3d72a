/**
 * Plivo Signature V3 (headers X-Plivo-Signature-V3 and X-Plivo-Signature-V3-Nonce), as in
 * docs/protocols/plivo.md. The same function signs (simulator) and verifies (adapter).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type PlivoSignatureParams = Record<string, string | string[]>;

export interface V3SignatureInput {
  method: 'GET' | 'POST';
  url: string;
  params: PlivoSignatureParams;
  nonce: string;
  authToken: string;
}

export const SIGNATURE_V3_HEADER = 'x-plivo-signature-v3';
export const SIGNATURE_V3_NONCE_HEADER = 'x-plivo-signature-v3-nonce';

type MultiMap = Map<string, string[]>;

function addParam(map: MultiMap, key: string, value: string | string[]): void {
  const values = Array.isArray(value) ? value : [value];
  const existing = map.get(key);
  if (existing) existing.push(...values);
  else map.set(key, [...values]);
}

/** Splits a URL into its verbatim base (scheme://host[:port]/path, trailing slash kept) and its decoded query. */
function splitUrl(url: string): { base: string; query: MultiMap } {
  const noFragment = url.split('#', 1)[0];
  const q = noFragment.indexOf('?');
  const base = q < 0 ? noFragment : noFragment.slice(0, q);
  const query: MultiMap = new Map();
  if (q >= 0) {
    for (const [k, v] of new URLSearchParams(noFragment.slice(q + 1))) addParam(query, k, v);
  }
  return { base, query };
}

function sortedKeys(map: MultiMap): string[] {
  return [...map.keys()].sort();
}

/** `k=v&k=v2` over sorted keys and sorted values, deliberately not URL-encoded (Plivo signs raw values). */
function sortedQueryString(map: MultiMap): string {
  const parts: string[] = [];
  for (const key of sortedKeys(map)) {
    for (const value of [...(map.get(key) ?? [])].sort()) parts.push(`${key}=${value}`);
  }
  return parts.join('&');
}

/** The exact string Plivo feeds to the HMAC before `.nonce` is appended. */
export function v3SignedString(method: 'GET' | 'POST', url: string, params: PlivoSignatureParams): string {
  const { base, query } = splitUrl(url);
  if (method === 'GET') {
    for (const [k, v] of Object.entries(params)) addParam(query, k, v);
    const qs = sortedQueryString(query);
    return qs ? `${base}?${qs}` : base;
  }
  const qs = sortedQueryString(query);
  const body: MultiMap = new Map();
  for (const [k, v] of Object.entries(params)) addParam(body, k, v);
  if (body.size === 0) return qs ? `${base}?${qs}` : base;
  let concatenated = '';
  for (const key of sortedKeys(body)) {
    for (const value of [...(body.get(key) ?? [])].sort()) concatenated += key + value;
  }
  return `${base}?${qs}${qs ? '.' : ''}${concatenated}`;
}

export function computeV3Signature(args: V3SignatureInput): string {
  const signed = `${v3SignedString(args.method, args.url, args.params)}.${args.nonce}`;
  return createHmac('sha256', args.authToken).update(signed, 'utf8').digest('base64');
}

/** True when any of the comma-separated signatures in the header matches (compared in constant time). */
export function verifyV3Signature(args: V3SignatureInput & { signatureHeader: string }): boolean {
  if (!args.signatureHeader) return false;
  const expected = Buffer.from(computeV3Signature(args), 'utf8');
  let matched = false;
  for (const candidate of args.signatureHeader.split(',')) {
    const got = Buffer.from(candidate.trim(), 'utf8');
    // Length differences leak nothing useful (all valid signatures have the same length); contents are compared in constant time.
    if (got.length === expected.length && timingSafeEqual(got, expected)) matched = true;
  }
  return matched;
}
