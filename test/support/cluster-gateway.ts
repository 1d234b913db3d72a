/**
 * A Voxgate instance of a cluster (shared Redis and PostgreSQL, `cluster.enabled`), in this process
 * (`clusterGatewayConfig` + startGateway) or as a process of its own that a test can SIGKILL or
 * SIGSTOP (`spawnClusterGateway`, running this file with node --import tsx). Plivo points at the
 * simulator; the bot greets, then waits ten minutes for a key. The child reports its progress on
 * stdout (test/support/gateway-child.ts).
 */
import { fileURLToPath } from 'node:url';
import { startGateway } from '../../src/app/gateway.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/logger.js';
import { HOLD_GREETING, holdingBot, reportGatewayProgress, spawnGatewayChild, type ChildGateway } from './gateway-child.js';

export const CLUSTER_AUTH_ID = 'MACLUSTERTESTACCT';
export const CLUSTER_AUTH_TOKEN = 'cluster-test-auth-token';
export const CLUSTER_API_TOKEN = 'cluster-test-api-token-0123456789';
export const CLUSTER_GREETING = HOLD_GREETING;
/** Shared by every instance (configuration stored through the API is sealed with it): 32 bytes, hex. */
const CLUSTER_SECRETS_KEY = 'a1'.repeat(32);

export interface ClusterGatewayOptions {
  instanceId: string;
  dataDir: string;
  restBaseUrl: string;
  redisUrl: string;
  databaseUrl: string;
  keyPrefix: string;
  heartbeatMs: number;
  leaseMs: number;
  drainTimeoutMs?: number;
}

export function clusterGatewayConfig(o: ClusterGatewayOptions) {
  return parseConfig({
    server: { host: '127.0.0.1', port: 0, instanceId: o.instanceId, ...(o.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: o.drainTimeoutMs }) },
    dataDir: o.dataDir,
    databaseUrl: o.databaseUrl,
    redis: { url: o.redisUrl },
    cluster: { enabled: true, secret: 'cluster-test-secret-0123456789abcdef', keyPrefix: o.keyPrefix, heartbeatMs: o.heartbeatMs, leaseMs: o.leaseMs },
    secretsKey: CLUSTER_SECRETS_KEY,
    api: { token: CLUSTER_API_TOKEN },
    log: { level: 'silent' },
    carriers: { plivo: { authId: CLUSTER_AUTH_ID, authToken: CLUSTER_AUTH_TOKEN, apiBaseUrl: o.restBaseUrl } },
    bots: [holdingBot()],
    routes: [{ number: '*', bot: 'held' }],
  });
}

export type ChildClusterGateway = ChildGateway;

const SCRIPT = fileURLToPath(import.meta.url);

export function spawnClusterGateway(options: ClusterGatewayOptions): Promise<ChildClusterGateway> {
  return spawnGatewayChild(SCRIPT, [JSON.stringify(options)]);
}

if (process.argv[1] === SCRIPT) {
  const options = JSON.parse(process.argv[2]) as ClusterGatewayOptions;
  const gateway = await startGateway(clusterGatewayConfig(options), { logger: silentLogger() });
  reportGatewayProgress(gateway);
}
