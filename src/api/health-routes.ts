/**
 * Liveness and readiness for orchestrators (Kubernetes probes, load balancers):
 *   GET /healthz  200 while the process serves HTTP at all
 *   GET /readyz   200 when the record store takes call record writes and answers a cheap query in time;
 *                 503 with the reason otherwise
 *
 * A store that answers `select 1` may still refuse every write (a full disk): the record writer's
 * own health is checked first, so a gateway losing records is taken out of rotation.
 */
import type { FastifyInstance } from 'fastify';
// Types only: @fastify/swagger's `hide`, keeping operational endpoints out of the API document.
import type {} from '@fastify/swagger';
import { sql, type QueryExecutorProvider } from 'kysely';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import { systemClock } from '../runtime/clock.js';
import { silentLogger, type Logger } from '../logger.js';

export interface HealthRoutesOptions {
  /** The store's query builder (`store.db`); readiness runs `select 1` on it. */
  db: QueryExecutorProvider;
  /** The record writer (`gateway.records`): while its writes fail, /readyz is 503 naming the error and the writes waiting. */
  recordWrites?: { health(): { failing: boolean; waiting: number; failingSince: number | null; lastError: string | null } };
  /** A store query slower than this makes /readyz fail. Default 2000 ms. */
  readyTimeoutMs?: number;
  /** Extra readiness checks (e.g. "not shutting down"); a string return is the reason for a 503. */
  extraChecks?: (() => Promise<string | undefined> | string | undefined)[];
  clock?: Clock;
  logger?: Logger;
}

export async function healthRoutes(app: FastifyInstance, opts: HealthRoutesOptions): Promise<void> {
  const timeoutMs = opts.readyTimeoutMs ?? 2000;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new RangeError(`health routes: readyTimeoutMs must be a positive integer, got ${String(timeoutMs)}`);
  const clock = opts.clock ?? systemClock;
  const logger = (opts.logger ?? silentLogger()).child({ component: 'health' });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const problem = recordWritesProblem(opts.recordWrites) ?? (await storeProblem(opts.db, timeoutMs, clock)) ?? (await extraProblem(opts.extraChecks ?? []));
    if (problem) {
      logger.warn({ reason: problem }, 'not ready');
      return reply.code(503).send({ status: 'not ready', reason: problem });
    }
    return { status: 'ready' };
  });
}

function recordWritesProblem(records: HealthRoutesOptions['recordWrites']): string | undefined {
  const health = records?.health();
  if (!health?.failing) return undefined;
  const since = health.failingSince === null ? '' : ` since ${new Date(health.failingSince).toISOString()}`;
  return `store: call record writes failing${since} (${health.lastError ?? 'unknown error'}); ${health.waiting} writes waiting`;
}

async function storeProblem(db: QueryExecutorProvider, timeoutMs: number, clock: Clock): Promise<string | undefined> {
  let timer: TimerHandle | undefined;
  const timedOut = new Promise<string>((resolve) => (timer = clock.setTimeout(() => resolve(`store: no answer to a test query within ${timeoutMs} ms`), timeoutMs)));
  try {
    const query = sql`select 1 as ok`.execute(db).then(
      () => undefined,
      (err: unknown) => `store: ${err instanceof Error ? err.message || err.name : String(err)}`,
    );
    return await Promise.race([query, timedOut]);
  } finally {
    timer?.cancel();
  }
}

async function extraProblem(checks: NonNullable<HealthRoutesOptions['extraChecks']>): Promise<string | undefined> {
  for (const check of checks) {
    try {
      const problem = await check();
      if (problem) return problem;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }
  return undefined;
}
