/**
 * Several gateways of one cluster in this test process (cluster.enabled, one Redis key prefix, one
 * scratch PostgreSQL database, distinct instance ids), behind a load balancer on loopback that sends
 * each request and stream wherever the test says (as one without the routing rule would), setting
 * X-Forwarded-Proto/-Host; every gateway trusts it (server.trustProxy) and has its URL as publicUrl.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest, createServer, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type Gateway } from '../../src/app/gateway.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger, silentLogger } from '../../src/logger.js';
import { deleteRedisKeys, redisProbe, REDIS_TEST_URL, uniqueRedisPrefix } from '../support/campaign-redis.js';
import { createScratchPgDatabase, pgProbe, type ScratchPgDatabase } from '../support/store-fixtures.js';

/** Every instance of one cluster seals API-stored configuration with the same key. */
const CLUSTER_SECRETS_KEY = randomBytes(32).toString('hex');

export const CLUSTER_SECRET = 'cluster-test-secret-0123456789abcdefghij';

/** Why the cluster tests cannot run here (no Redis or PostgreSQL), or undefined. */
export const clusterUnavailable: string | undefined = !redisProbe.reachable
  ? `Redis unreachable (${redisProbe.reason})`
  : !pgProbe.reachable
    ? `PostgreSQL unreachable (${pgProbe.reason})`
    : undefined;
if (clusterUnavailable) console.warn(`cluster routing tests skipped: ${clusterUnavailable}`);

export interface TestBalancer {
  /** http://127.0.0.1:<port>: every gateway's publicUrl. */
  readonly url: string;
  /** The gateways' URLs, in start order. */
  backends: string[];
  /** Which backend takes a request or stream upgrade (index into `backends`); default the first. */
  pick: (request: IncomingMessage) => number;
  close(): Promise<void>;
}

/** HTTP and WebSocket pass-through that adds X-Forwarded-Proto/-Host, as HAProxy or nginx would. */
export async function startBalancer(): Promise<TestBalancer> {
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  };
  const balancer: TestBalancer = {
    url: '',
    backends: [],
    pick: () => 0,
    close: () => Promise.resolve(),
  };
  const target = (req: IncomingMessage) => new URL(balancer.backends[balancer.pick(req)]);
  const server = createServer((req, res) => {
    const to = target(req);
    const upstream = httpRequest(
      { host: to.hostname, port: Number(to.port), method: req.method, path: req.url, headers: { ...req.headers, 'x-forwarded-proto': 'http', 'x-forwarded-host': req.headers.host ?? '' } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`balancer: ${err.message}`);
    });
    req.pipe(upstream);
  });
  server.on('connection', track);
  server.on('upgrade', (req: IncomingMessage, client: Socket, head: Buffer) => {
    track(client);
    const to = target(req);
    const upstream = connect(Number(to.port), to.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      lines.push('X-Forwarded-Proto: http', `X-Forwarded-Host: ${req.headers.host ?? ''}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) upstream.write(head);
      client.pipe(upstream).pipe(client);
    });
    track(upstream);
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(balancer, {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  });
  return balancer;
}

export interface TestCluster {
  readonly gateways: Gateway[];
  readonly balancer: TestBalancer;
  readonly keyPrefix: string;
  /** Stops one gateway (the others go on); close() skips it. */
  stop(gateway: Gateway): Promise<void>;
  close(): Promise<void>;
}

export interface ClusterOptions {
  /** Instance ids, one gateway each. */
  instances: string[];
  /** The configuration every gateway shares (carriers, bots, routes...); server, store, Redis and cluster are set here. */
  config: Record<string, unknown>;
  /** Per-instance additions to `server` (e.g. another publicUrl). */
  server?: (instanceId: string) => Record<string, unknown>;
}

/** Starts the gateways one after the other (they migrate one database) behind one balancer. */
export async function startCluster(opts: ClusterOptions): Promise<TestCluster> {
  const balancer = await startBalancer();
  const keyPrefix = uniqueRedisPrefix('vgcluster');
  const scratch: ScratchPgDatabase = await createScratchPgDatabase();
  const gateways: Gateway[] = [];
  const stopped = new Set<Gateway>();
  const unregister: (() => void)[] = [];
  const dirs: string[] = [];
  try {
    for (const instanceId of opts.instances) {
      const dataDir = await mkdtemp(join(tmpdir(), `vg-cluster-${instanceId}-`));
      dirs.push(dataDir);
      const config = parseConfig({
        ...opts.config,
        server: { host: '127.0.0.1', port: 0, instanceId, publicUrl: balancer.url, trustProxy: ['127.0.0.1'], ...opts.server?.(instanceId) },
        dataDir,
        databaseUrl: scratch.url,
        redis: { url: REDIS_TEST_URL },
        secretsKey: CLUSTER_SECRETS_KEY,
        cluster: { enabled: true, secret: CLUSTER_SECRET, keyPrefix, heartbeatMs: 500, leaseMs: 5_000 },
        log: { level: 'silent' },
      });
      // VOXGATE_TEST_LOG=info shows the gateways' logs when a test needs explaining.
      const logger = process.env.VOXGATE_TEST_LOG ? createLogger({ level: process.env.VOXGATE_TEST_LOG }).child({ instance: instanceId }) : silentLogger();
      const gateway = await startGateway(config, { logger });
      gateways.push(gateway);
      balancer.backends.push(gateway.url);
    }
  } catch (err) {
    for (const g of gateways) await g.close().catch(() => undefined);
    await balancer.close();
    await scratch.drop().catch(() => undefined);
    throw err;
  }
  return {
    gateways,
    balancer,
    keyPrefix,
    async stop(gateway) {
      stopped.add(gateway);
      await gateway.close();
    },
    async close() {
      for (const off of unregister) off();
      for (const g of gateways) if (!stopped.has(g)) await g.close().catch(() => undefined);
      await balancer.close();
      await deleteRedisKeys(keyPrefix);
      await scratch.drop();
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `condition` until it holds or the deadline passes (then throws naming `what`). */
export async function eventually<T>(what: string, condition: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
