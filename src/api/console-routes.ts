/**
 * The operator console (the Vite build of src/ui in dist/ui), as a Fastify plugin:
 *   GET /            -> 302 /console/
 *   GET /console/*   the built files (index.html at /console/)
 *   GET /widget/voxgate-widget.js  the embeddable widget, for any website (CORS *, cross-origin resource policy)
 * Without a build every console path answers 503 "console not built: run npm run build". The
 * console is public files only: the data comes from /api with the token the operator logs in with.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from '../logger.js';
import { registerConsoleSecurityHeaders } from './security-headers.js';

export const CONSOLE_PATH = '/console/';
export const CONSOLE_NOT_BUILT = 'console not built: run npm run build';
export const WIDGET_PATH = '/widget/voxgate-widget.js';
/** The widget's name has no hash (websites link it by URL): caches re-check it after 5 minutes, by ETag. */
export const WIDGET_CACHE_CONTROL = 'public, max-age=300';

export interface ConsoleRoutesOptions {
  /** The Vite output directory. Default: dist/ui at the package root (the same from src/api and dist/api). */
  distDir?: string;
  logger?: Logger;
}

export function defaultConsoleDir(): string {
  return fileURLToPath(new URL('../../dist/ui', import.meta.url));
}

export async function consoleRoutes(app: FastifyInstance, opts: ConsoleRoutesOptions = {}): Promise<void> {
  const root = opts.distDir ?? defaultConsoleDir();
  // Strict CSP (no inline script), no framing, no Referer: markup in a caller id or transcript can never run here.
  await registerConsoleSecurityHeaders(app);
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect(CONSOLE_PATH));
  serveWidget(app, join(root, 'widget', 'voxgate-widget.js'));

  if (!existsSync(join(root, 'index.html'))) {
    opts.logger?.warn({ dir: root }, CONSOLE_NOT_BUILT);
    const notBuilt = async (_request: unknown, reply: FastifyReply) => reply.code(503).type('text/plain; charset=utf-8').send(CONSOLE_NOT_BUILT);
    app.get('/console', { schema: { hide: true } }, notBuilt);
    app.get('/console/*', { schema: { hide: true } }, notBuilt);
    return;
  }

  // /console -> /console/, so the page's relative URLs resolve under the prefix.
  app.get('/console', { schema: { hide: true } }, async (_request, reply) => reply.redirect(CONSOLE_PATH, 301));
  await app.register(fastifyStatic, {
    root,
    prefix: CONSOLE_PATH,
    decorateReply: false,
    index: ['index.html'],
    cacheControl: false,
    setHeaders(reply, path) {
      // Vite puts a content hash in asset names: those never change; index.html must be re-read to find new ones.
      reply.header('cache-control', /[\\/]assets[\\/]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
      reply.header('x-content-type-options', 'nosniff');
    },
  });
}

/**
 * The embeddable widget, loaded by <script src> from other websites: CORS * and
 * Cross-Origin-Resource-Policy cross-origin (helmet's default same-origin would make browsers refuse
 * it on any other site). It holds no secret: the key is in the host page's tag. Read per request,
 * so a rebuild is served without a restart.
 */
function serveWidget(app: FastifyInstance, file: string): void {
  app.get(WIDGET_PATH, { schema: { hide: true } }, async (request, reply) => {
    reply.header('access-control-allow-origin', '*').header('cross-origin-resource-policy', 'cross-origin');
    const info = await stat(file).catch(() => undefined);
    if (!info) return reply.code(503).type('text/plain; charset=utf-8').send(CONSOLE_NOT_BUILT);
    const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    reply.header('cache-control', WIDGET_CACHE_CONTROL).header('etag', etag).header('x-content-type-options', 'nosniff');
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('text/javascript; charset=utf-8').send(await readFile(file));
  });
}
