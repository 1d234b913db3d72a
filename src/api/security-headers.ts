/**
 * Browser-facing response headers (@fastify/helmet) for everything the server answers:
 *   - API JSON, webhooks, health: `default-src 'none'` (nothing in a response may load or run), nosniff.
 *   - the console (console-routes): scripts, styles, fetches and WebSockets from its own origin only;
 *     no inline script, no eval, no plugins; recordings play from blob: URLs.
 *   - Swagger UI (/docs, openapi.ts): the same, except the inline styles its bundle writes.
 * Everywhere: no framing (frame-ancestors 'none' + X-Frame-Options DENY), no Referer, and HSTS only
 * when the request came over TLS (the server's own, or X-Forwarded-Proto from a trusted proxy,
 * server.trustProxy), since a Strict-Transport-Security header on plain HTTP is ignored by browsers
 * and would only be wrong for a gateway reached by its IP.
 */
import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

type Directives = Record<string, string[]>;

const NO_FRAMING: Directives = { 'frame-ancestors': ["'none'"], 'base-uri': ["'none'"] };

export const API_CSP: Directives = { 'default-src': ["'none'"], 'form-action': ["'none'"], ...NO_FRAMING };

export const CONSOLE_CSP: Directives = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'media-src': ["'self'", 'blob:'],
  // 'self' covers ws:/wss: to the same host and port (the live calls stream).
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'form-action': ["'self'"],
  ...NO_FRAMING,
};

/** Swagger UI's bundle sets inline styles; its scripts are files, so script-src stays 'self'. */
export const DOCS_CSP: Directives = { ...CONSOLE_CSP, 'style-src': ["'self'", "'unsafe-inline'"], 'media-src': ["'none'"] };

/** A policy as the header value (for plugins that set it themselves, like Swagger UI's staticCSP). */
export function cspHeader(directives: Directives): string {
  return Object.entries(directives)
    .map(([name, values]) => `${name} ${values.join(' ')}`)
    .join('; ');
}

export const HSTS_HEADER = 'max-age=31536000; includeSubDomains';

function helmetOptions(csp: Directives): FastifyHelmetOptions {
  return {
    // useDefaults off: helmet's defaults add upgrade-insecure-requests, which breaks a console served over plain HTTP.
    contentSecurityPolicy: { useDefaults: false, directives: csp },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: false,
  };
}

/** Registers the headers for the whole server (register first, before any route). */
export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, helmetOptions(API_CSP));
  app.addHook('onRequest', async (request, reply) => {
    // request.protocol is "https" for a TLS socket, or for X-Forwarded-Proto only when trustProxy allows it.
    if (request.protocol === 'https') reply.header('strict-transport-security', HSTS_HEADER);
  });
}

/** The console's policy, for its encapsulated plugin; it works alone too (tests mount console-routes on a bare server). */
export async function registerConsoleSecurityHeaders(scope: FastifyInstance): Promise<void> {
  await scope.register(helmet, helmetOptions(CONSOLE_CSP));
}
