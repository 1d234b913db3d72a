/**
 * Two gateways of one cluster on loopback (cluster.enabled: shared PostgreSQL scratch database,
 * Redis under a unique prefix) and the Plivo simulator calling the first, for the tests of the
 * service-wide views (live stream, alarm stream). Skip when Redis or PostgreSQL is unreachable:
 * `clusterReachable`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type Gateway } from '../../src/app/gateway.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/logger.js';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import { openDatabase } from '../../src/store/database.js';
import { deleteRedisKeys, REDIS_TEST_URL, redisProbe, uniqueRedisPrefix } from './campaign-redis.js';
import { createScratchPgDatabase, pgProbe } from './store-fixtures.js';

/** Every instance of one cluster seals API-stored configuration with the same key. */
const SERVICE_VIEW_SECRETS_KEY = randomBytes(32).toString('hex');

export const clusterReachable = redisProbe.reachable && pgProbe.reachable;
export const CLUSTER_NUMBER = '+14155550100';
const AUTH_ID = 'MACLUSTERTESTACCT';
const AUTH_TOKEN = 'cluster-test-auth-token';

export interface ServiceViewCluster {
  /** The gateways, in start order; the simulator's number answers on the first. */
  gateways: Gateway[];
  sim: PlivoSimulator;
  close(): Promise<void>;
}

export async function startServiceViewCluster(rawConfig: Record<string, unknown>, count = 2): Promise<ServiceViewCluster> {
  const db = await createScratchPgDatabase();
  const prefix = uniqueRedisPrefix('vg-view');
  const dirs: string[] = [];
  const gateways: Gateway[] = [];
  const sim = new PlivoSimulator({ authId: AUTH_ID, authToken: AUTH_TOKEN });
  const close = async () => {
    await sim.close().catch(() => undefined);
    for (const g of gateways.splice(0).reverse()) await g.close();
    await deleteRedisKeys(prefix);
    await db.drop();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  };
  try {
    const { restBaseUrl } = await sim.listen();
    // Migrations once, before the instances would race for them.
    await (await openDatabase({ dataDir: '', databaseUrl: db.url, logger: silentLogger() })).close();
    for (let i = 0; i < count; i++) {
      const dataDir = await mkdtemp(join(tmpdir(), 'vg-view-'));
      dirs.push(dataDir);
      const config = parseConfig({
        ...rawConfig,
        server: { host: '127.0.0.1', port: 0, instanceId: `view-${i + 1}` },
        dataDir,
        databaseUrl: db.url,
        redis: { url: REDIS_TEST_URL },
        secretsKey: SERVICE_VIEW_SECRETS_KEY,
        cluster: { enabled: true, secret: 'service-view-cluster-secret-0123456789abcdef', keyPrefix: prefix, heartbeatMs: 200, leaseMs: 1000 },
        log: { level: 'silent' },
        carriers: { plivo: { authId: AUTH_ID, authToken: AUTH_TOKEN, apiBaseUrl: restBaseUrl } },
      });
      gateways.push(await startGateway(config, { logger: silentLogger() }));
    }
    sim.addNumber(CLUSTER_NUMBER, { answerUrl: `${gateways[0].publicUrl}/plivo/answer`, hangupUrl: `${gateways[0].publicUrl}/plivo/hangup` });
  } catch (err) {
    await close();
    throw err;
  }
  return { gateways, sim, close };
}
