import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { QueryExecutorProvider } from 'kysely';
import { healthRoutes } from '../../src/api/health-routes.js';
import { openDatabase } from '../../src/store/database.js';
import { FakeClock } from '../support/fake-clock.js';
import { makeTempDir, type TempDir } from '../support/store-fixtures.js';

describe('/healthz and /readyz', () => {
  let app: FastifyInstance | undefined;
  let dir: TempDir | undefined;
  afterEach(async () => {
    await app?.close();
    await dir?.remove();
    app = dir = undefined;
  });

  it('is live and ready with an open store; /readyz is 503 with the reason once the store is closed', async () => {
    dir = await makeTempDir();
    const store = await openDatabase({ dataDir: dir.path });
    app = Fastify();
    await app.register(healthRoutes, { db: store.db });

    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });

    await store.close();
    const notReady = await app.inject('/readyz');
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json().reason).toMatch(/^store: /);
    expect((await app.inject('/healthz')).statusCode).toBe(200);
  });

  it('is 503 when the store does not answer within the timeout', async () => {
    const clock = new FakeClock();
    let started!: () => void;
    const queryStarted = new Promise<void>((resolve) => (started = resolve));
    // A store whose query never comes back (a PostgreSQL server that stopped answering).
    const hung = { getExecutor: () => ({ transformQuery: (q: unknown) => q, compileQuery: (q: unknown) => ({ sql: 'select 1', parameters: [], query: q }), executeQuery: () => { started(); return new Promise(() => undefined); } }) } as unknown as QueryExecutorProvider;
    app = Fastify();
    await app.register(healthRoutes, { db: hung, readyTimeoutMs: 1500, clock });
    const pending = app.inject('/readyz');
    await queryStarted;
    clock.advance(1500);
    const res = await pending;
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'not ready', reason: 'store: no answer to a test query within 1500 ms' });
  });

  it('reports a failing extra check as the reason', async () => {
    dir = await makeTempDir();
    const store = await openDatabase({ dataDir: dir.path });
    app = Fastify();
    await app.register(healthRoutes, { db: store.db, extraChecks: [() => 'shutting down'] });
    const res = await app.inject('/readyz');
    await store.close();
    expect(res.statusCode).toBe(503);
    expect(res.json().reason).toBe('shutting down');
  });
});
