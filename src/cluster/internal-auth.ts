/**
 * How an instance proves to a sibling that a request it passes on comes from the cluster: the header
 * `x-voxgate-forwarded-by: <instanceId>;<epoch ms>;<signature>`, an HMAC-SHA256 under `cluster.secret`
 * over the method, the path and query, a digest of the body and the public URL (X-Forwarded-Proto and
 * -Host) the first instance resolved. The receiver trusts those forwarded headers only when this holds,
 * handles the request itself (never forwards it again) and refuses it when the header is forged or
 * older than 30 s. The carrier's own signature still travels with the request and is checked once, by
 * the instance that handles it.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const FORWARDED_BY_HEADER = 'x-voxgate-forwarded-by';

/** How old (or how far ahead, clocks drift) a forward may be. */
export const FORWARD_FRESHNESS_MS = 30_000;

export interface ForwardedRequest {
  method: string;
  /** Path and query, as the request line has them. */
  url: string;
  /** The body as both sides encode it (empty for GET and stream upgrades). */
  body: string;
  /** X-Forwarded-Proto and X-Forwarded-Host: the public URL the request came in on. */
  forwardedProto: string;
  forwardedHost: string;
}

function forwardSignature(secret: string, instanceId: string, at: string, request: ForwardedRequest): string {
  const bodyDigest = createHash('sha256').update(request.body, 'utf8').digest('base64url');
  const signed = ['voxgate-forward-1', instanceId, at, request.method.toUpperCase(), request.url, bodyDigest, request.forwardedProto, request.forwardedHost].join('\n');
  return createHmac('sha256', secret).update(signed, 'utf8').digest('base64url');
}

/** The header value for `request` sent by `instanceId` at `now`. */
export function forwardedByHeader(secret: string, instanceId: string, request: ForwardedRequest, now: number): string {
  const at = String(Math.floor(now));
  return `${instanceId};${at};${forwardSignature(secret, instanceId, at, request)}`;
}

export type ForwardCheck = { instanceId: string } | { problem: string };

/** Which sibling forwarded `request`, or why the header does not prove one did. */
export function checkForwardedBy(secret: string, header: string, request: ForwardedRequest, now: number): ForwardCheck {
  const parts = header.split(';');
  if (parts.length !== 3 || !parts[0] || !/^\d+$/.test(parts[1])) return { problem: `${FORWARDED_BY_HEADER} is not <instanceId>;<epoch ms>;<signature>` };
  const [instanceId, at, signature] = parts;
  const ageMs = now - Number(at);
  if (Math.abs(ageMs) > FORWARD_FRESHNESS_MS) {
    return { problem: `${FORWARDED_BY_HEADER} from ${instanceId} is ${Math.round(Math.abs(ageMs) / 1000)} s ${ageMs < 0 ? 'ahead' : 'old'} (at most ${FORWARD_FRESHNESS_MS / 1000} s)` };
  }
  const expected = Buffer.from(forwardSignature(secret, instanceId, at, request));
  const got = Buffer.from(signature);
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
    return { problem: `${FORWARDED_BY_HEADER} from ${instanceId} is not signed with this cluster's secret over this request` };
  }
  return { instanceId };
}
