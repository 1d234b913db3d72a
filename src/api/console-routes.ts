/**
 * The operator console (the Vite build of src/ui in dist/ui), as a Fastify plugin:
 *   GET /            -> 302 /console/
 *   GET /console/*   the built files (index.html at /console/)
 * Without a build every console path answers 503 "console not built: run npm run build". The
 * console is public files only: the data comes from /api with the token the operator logs in with.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from '../logger.js';
import { registerConsoleSecurityHeaders } from './security-headers.js';

export const CONSOLE_PATH = '/console/';
export const CONSOLE_NOT_BUILT = 'console not built: run npm run build';

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
