/**
 * A Voxgate instance of a cluster (shared Redis and PostgreSQL, `cluster.enabled`), in this process
 * (`clusterGatewayConfig` + startGateway) or as a process of its own that a test can SIGKILL or
 * SIGSTOP (`spawnClusterGateway`, running this file with node --import tsx). Plivo points at the
 * simulator; the bot greets, then waits ten minutes for a key. The child reports on stdout, one JSON
 * object per line:
 *   {"event":"ready","url":"http://127.0.0.1:PORT","pid":123}
 *   {"event":"greeted","callId":"..."}   the greeting played and every record so far is written
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startGateway } from '../../src/app/gateway.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/logger.js';

export const CLUSTER_AUTH_ID = 'MACLUSTERTESTACCT';
export const CLUSTER_AUTH_TOKEN = 'cluster-test-auth-token';
export const CLUSTER_API_TOKEN = 'cluster-test-api-token-0123456789';
export const CLUSTER_GREETING = 'Thanks for calling. Please hold.';
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
    bots: [{ name: 'held', type: 'flow', flow: { name: 'held', language: 'en-US', start: 'hold', steps: { hold: { collect: { prompt: CLUSTER_GREETING, maxDigits: 1, timeoutMs: 600_000, branches: { '1': 'bye' }, noMatch: 'bye', timeout: 'bye' } }, bye: { say: 'Goodbye.', hangup: 'completed' } } } }],
    routes: [{ number: '*', bot: 'held' }],
  });
}

export interface ChildClusterGateway {
  child: ChildProcess;
  url: string;
  /** Resolves once the child has greeted `n` calls and written their records. */
  greeted(n: number): Promise<string[]>;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
}

const SCRIPT = fileURLToPath(import.meta.url);

export async function spawnClusterGateway(options: ClusterGatewayOptions): Promise<ChildClusterGateway> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const greeted: string[] = [];
  const waiters: (() => void)[] = [];
  let ready!: (url: string) => void;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const isReady = new Promise<string>((resolve, reject) => {
    ready = resolve;
    child.once('exit', (code, signal) => reject(new Error(`cluster gateway process exited before it was ready (${signal ?? code})`)));
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const event = JSON.parse(line) as { event: string; url?: string; callId?: string };
    if (event.event === 'ready') ready(event.url!);
    if (event.event === 'greeted' && !greeted.includes(event.callId!)) {
      greeted.push(event.callId!);
      for (const wake of waiters.splice(0)) wake();
    }
  });
  return {
    child,
    url: await isReady,
    greeted: async (n) => {
      while (greeted.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
      return [...greeted];
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

if (process.argv[1] === SCRIPT) {
  const options = JSON.parse(process.argv[2]) as ClusterGatewayOptions;
  const gateway = await startGateway(clusterGatewayConfig(options), { logger: silentLogger() });
  const report = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);
  gateway.bus.subscribe('prompt.played', (e) => {
    void gateway.records.flush().then(() => report({ event: 'greeted', callId: e.callId }));
  });
  // The test runner going away closes stdin: do not outlive it.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
  report({ event: 'ready', url: gateway.url, pid: process.pid });
}
