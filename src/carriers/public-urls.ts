/** The public URLs Voxgate gives a carrier (webhooks, media sockets), derived from one configured base. */

export function trimBase(url: string): string {
  return url.replace(/\/+$/, '');
}

/** The http(s) form of a ws(s) URL (signatures over a socket's URL use it, for carriers that sign so). */
export function httpForm(url: string): string {
  return url.replace(/^ws(s?):\/\//i, 'http$1://');
}

/** The ws(s) form of an http(s) URL: where a carrier opens its media socket. */
export function wsForm(url: string): string {
  return url.replace(/^http(s?):\/\//i, 'ws$1://');
}

/** Where a request came in, as the carrier addressed it: scheme (http, https) and host[:port]. */
export interface PublicOrigin {
  proto: string;
  host: string;
}

const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443', ws: '80', wss: '443' };

/** `host` lower-cased, without the scheme's default port (as URL.host spells it). */
function normalHost(proto: string, host: string): string {
  const lower = host.toLowerCase();
  const port = DEFAULT_PORTS[proto];
  return port && lower.endsWith(`:${port}`) && !lower.endsWith(']') ? lower.slice(0, -(port.length + 1)) : lower;
}

/**
 * The public base URLs a carrier may have signed a request with: every configured one (server.publicUrl
 * and server.publicUrls, in their http(s) form), the one whose scheme and host the request came in on
 * first. `cameIn` is only ever a hint for the order: a URL that is not configured is never used, so a
 * request cannot make Voxgate verify against an address of its choosing (an instance's private one).
 */
export function signatureBases(configured: readonly string[], cameIn?: PublicOrigin): string[] {
  const bases = [...new Set(configured.map((b) => trimBase(httpForm(b))))];
  if (!cameIn) return bases;
  const proto = httpForm(`${cameIn.proto.toLowerCase()}://`).slice(0, -3);
  const host = normalHost(proto, cameIn.host);
  const matches = (base: string) => {
    try {
      const url = new URL(base);
      return url.protocol === `${proto}:` && url.host === host;
    } catch {
      return false;
    }
  };
  return [...bases.filter(matches), ...bases.filter((b) => !matches(b))];
}

/**
 * The scheme and host a request came in on: X-Forwarded-Proto/-Host when it came through a trusted proxy
 * (`server.trustProxy`; Fastify honours it), its own socket and Host header otherwise.
 */
export function requestOrigin(request: { protocol: string; host: string }): PublicOrigin {
  return { proto: request.protocol, host: request.host };
}

/** Form-encodes parsed form parameters again (signatures sort parameters, so the order does not matter). */
export function formEncode(params: Record<string, string | readonly string[]>): string {
  const out = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (typeof value === 'string') out.append(key, value);
    else for (const v of value) out.append(key, v);
  }
  return out.toString();
}

/** The scheme and host of a base URL (what a forwarded request names as the public URL it came in on). */
export function baseOrigin(base: string | undefined): PublicOrigin | undefined {
  if (!base) return undefined;
  try {
    const url = new URL(base);
    return { proto: url.protocol.slice(0, -1), host: url.host };
  } catch {
    return undefined;
  }
}
