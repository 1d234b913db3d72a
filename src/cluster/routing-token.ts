/**
 * The routing token: `vxr=<instanceId>.<sig>` in every URL Voxgate gives a carrier, so a load balancer
 * can send a call's later requests (its stream, its callbacks) to the instance that owns the call, and
 * an instance that gets one anyway knows where to forward it. The signature (HMAC-SHA256 of the id
 * under `cluster.secret`, base64url, cut to 22 characters) keeps a caller from steering requests to an
 * instance of its choosing. Instance ids are [A-Za-z0-9._:-] and the signature has no dot, so the id is
 * everything before the last dot: a load balancer matches on the `<id>.` prefix alone.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The query parameter's name (load-balancer rules match on it: keep it). */
export const ROUTING_PARAM = 'vxr';

const SIGNATURE_LENGTH = 22;

function tokenSignature(secret: string, instanceId: string): string {
  return createHmac('sha256', secret).update(instanceId).digest('base64url').slice(0, SIGNATURE_LENGTH);
}

/** The token naming `instanceId`. */
export function routingToken(secret: string, instanceId: string): string {
  return `${instanceId}.${tokenSignature(secret, instanceId)}`;
}

export type RoutingTokenCheck = { instanceId: string } | { problem: string };

/** The instance a token names, or why the token is not one this cluster signed. */
export function readRoutingToken(secret: string, token: string): RoutingTokenCheck {
  const dot = token.lastIndexOf('.');
  if (dot <= 0) return { problem: `routing token ${JSON.stringify(token.slice(0, 80))} is not <instanceId>.<signature>` };
  const instanceId = token.slice(0, dot);
  const got = Buffer.from(token.slice(dot + 1));
  const expected = Buffer.from(tokenSignature(secret, instanceId));
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
    return { problem: `routing token for instance ${JSON.stringify(instanceId.slice(0, 80))} is not signed with this cluster's secret` };
  }
  return { instanceId };
}

/**
 * `url` with the token added to its query (before any fragment); `url` unchanged without a token. The
 * token is not percent-encoded: its characters are all legal in a query, and load balancers match the
 * raw parameter (`host:8080.sig`, not `host%3A8080.sig`).
 */
export function withRoutingToken(url: string, token: string | undefined): string {
  if (!token) return url;
  const hash = url.indexOf('#');
  const main = hash < 0 ? url : url.slice(0, hash);
  const fragment = hash < 0 ? '' : url.slice(hash);
  const separator = !main.includes('?') ? '?' : main.endsWith('?') || main.endsWith('&') ? '' : '&';
  return `${main}${separator}${ROUTING_PARAM}=${token}${fragment}`;
}
