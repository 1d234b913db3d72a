import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_NOT_BUILT, consoleRoutes } from '../../src/api/console-routes.js';
import { buildConsole } from '../support/browser.js';

async function appFor(distDir: string): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(consoleRoutes, { distDir });
  await app.ready();
  return app;
}

describe('console routes', () => {
  let built: Awaited<ReturnType<typeof buildConsole>>;
  let app: FastifyInstance;
  beforeAll(async () => {
    built = await buildConsole();
    app = await appFor(built.dir);
  });
  afterAll(async () => {
    await app?.close();
    await built?.remove();
  });

  it('sends / to /console/, where the built page and its assets load', async () => {
    const root = await app.inject({ url: '/' });
    expect(root.statusCode).toBe(302);
    expect(root.headers.location).toBe('/console/');

    const page = await app.inject({ url: '/console/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.body).toContain('<title>Voxgate console</title>');

    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(page.body)?.[1];
    expect(script).toBeDefined();
    const asset = await app.inject({ url: script! });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.headers['cache-control']).toContain('immutable');

    const bare = await app.inject({ url: '/console' });
    expect(bare.statusCode).toBe(301);
    expect(bare.headers.location).toBe('/console/');
    expect((await app.inject({ url: '/console/nope.js' })).statusCode).toBe(404);
  });

  it('answers 503 with the build command when dist/ui is missing', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'vg-console-missing-'));
    const bare = await appFor(join(empty, 'ui'));
    try {
      for (const url of ['/console/', '/console', '/console/assets/index.js']) {
        const res = await bare.inject({ url });
        expect(res.statusCode, url).toBe(503);
        expect(res.body).toBe(CONSOLE_NOT_BUILT);
      }
      expect((await bare.inject({ url: '/' })).headers.location).toBe('/console/');
    } finally {
      await bare.close();
      await rm(empty, { recursive: true, force: true });
    }
  });
});
