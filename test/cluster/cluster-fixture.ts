/**
 * What the cluster tests share: Redis and PostgreSQL probed (the tests skip with a note when either is
 * unreachable), a fresh PostgreSQL database and Redis key prefix per test, the Plivo simulator, and
 * polling a condition with a deadline (never a fixed sleep).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import { deleteRedisKeys, redisProbe, REDIS_TEST_URL, uniqueRedisPrefix } from '../support/campaign-redis.js';
import { createScratchPgDatabase, pgProbe, type ScratchPgDatabase } from '../support/store-fixtures.js';
import { CLUSTER_AUTH_ID, CLUSTER_AUTH_TOKEN, type ClusterGatewayOptions } from '../support/cluster-gateway.js';

export const clusterUnavailable = !redisProbe.reachable || !pgProbe.reachable;
if (clusterUnavailable) console.warn('cluster tests skipped: they need Redis (VOXGATE_TEST_REDIS_URL) and PostgreSQL (VOXGATE_TEST_PG_URL) reachable');

export interface ClusterFixture {
  sim: PlivoSimulator;
  restBaseUrl: string;
  /** Options for one instance (its own data directory, the shared Redis prefix and database). */
  instance(id: string, extra?: Partial<ClusterGatewayOptions>): Promise<ClusterGatewayOptions>;
  cleanUp(): Promise<void>;
}

export async function clusterFixture(timing: { heartbeatMs: number; leaseMs: number }): Promise<ClusterFixture> {
  const database: ScratchPgDatabase = await createScratchPgDatabase();
  const keyPrefix = uniqueRedisPrefix('vgcluster');
  const sim = new PlivoSimulator({ authId: CLUSTER_AUTH_ID, authToken: CLUSTER_AUTH_TOKEN });
  const { restBaseUrl } = await sim.listen();
  const dirs: string[] = [];
  return {
    sim,
    restBaseUrl,
    async instance(id, extra = {}) {
      const dataDir = await mkdtemp(join(tmpdir(), `vg-${id}-`));
      dirs.push(dataDir);
      return { instanceId: `${id}-${process.pid}`, dataDir, restBaseUrl, redisUrl: REDIS_TEST_URL, databaseUrl: database.url, keyPrefix, ...timing, ...extra };
    },
    async cleanUp() {
      await sim.close();
      await deleteRedisKeys(keyPrefix);
      await database.drop();
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` until it returns something truthy, or fails after `timeoutMs` naming `what`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
