import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_NOT_BUILT, consoleRoutes, WIDGET_CACHE_CONTROL, WIDGET_PATH } from '../../src/api/console-routes.js';
import { buildConsole } from '../support/browser.js';

async function appFor(distDir: string): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(consoleRoutes, { distDir });
  await app.ready();
  return app;
}

describe('the widget script at /widget/voxgate-widget.js', () => {
  let built: Awaited<ReturnType<typeof buildConsole>>;
  let app: FastifyInstance;
  beforeAll(async () => {
    built = await buildConsole();
    app = await appFor(built.dir);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await built?.remove();
  });

  it('is one self-contained script any website may load, revalidated by ETag', async () => {
    const res = await app.inject({ url: WIDGET_PATH, headers: { origin: 'https://shop.example' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers['access-control-allow-origin']).toBe('*');
    // helmet's default same-origin would make browsers drop the script on every other site.
    expect(res.headers['cross-origin-resource-policy']).toBe('cross-origin');
    expect(res.headers['cache-control']).toBe(WIDGET_CACHE_CONTROL);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    // An IIFE: no import or export a classic <script> could not run, no framework inside.
    expect(res.body).toMatch(/^var VoxgateWidget=\(function/);
    expect(res.body).not.toMatch(/^\s*import\s|\bexport\s*\{/m);
    expect(res.body).not.toContain('preact');
    expect(res.body).toContain('data-voxgate-mounted');

    const again = await app.inject({ url: WIDGET_PATH, headers: { 'if-none-match': String(res.headers.etag) } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('leaves the console build as it was: hashed assets under /console/, and no widget code in them', async () => {
    const page = await app.inject({ url: '/console/' });
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(page.body)?.[1];
    expect(script).toBeDefined();
    const asset = await app.inject({ url: script! });
    expect(asset.statusCode).toBe(200);
    expect(asset.body).not.toContain('data-voxgate-mounted');
  });

  it('answers 503 with the build command when there is no build', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'vg-widget-missing-'));
    const bare = await appFor(join(empty, 'ui'));
    try {
      const res = await bare.inject({ url: WIDGET_PATH });
      expect(res.statusCode).toBe(503);
      expect(res.body).toBe(CONSOLE_NOT_BUILT);
    } finally {
      await bare.close();
      await rm(empty, { recursive: true, force: true });
    }
  });
});
