/**
 * Two (or more) gateways in cluster mode on loopback, sharing the test Redis (a unique key prefix)
 * and a scratch PostgreSQL database, with the Plivo simulator in front and an API token; for the
 * tests of configuration, revocations and limits shared by every instance. Probes both servers:
 * `clusterServers.reachable` false means the caller skips (the reason is printed once).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type Gateway } from '../../src/app/gateway.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/logger.js';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import type { TtsProvider } from '../../src/speech/tts/provider.js';
import { REDIS_TEST_URL, deleteRedisKeys, probeRedis, uniqueRedisPrefix } from './campaign-redis.js';
import { createScratchPgDatabase, probePostgres, type ScratchPgDatabase } from './store-fixtures.js';

export const API_TOKEN = 'cluster-test-api-token-0123456789';
export const CLUSTER_SECRET = 'cluster-test-secret-0123456789abcdef';
/** Every instance seals API-stored configuration with the same key (else the others cannot read it). */
export const SECRETS_KEY = randomBytes(32).toString('hex');
const AUTH_ID = 'MACLUSTERTEST';
const AUTH_TOKEN = 'cluster-test-auth-token';

async function probeBoth(): Promise<{ reachable: true } | { reachable: false; reason: string }> {
  const [redis, pg] = await Promise.all([probeRedis(), probePostgres()]);
  if (!redis.reachable) return { reachable: false, reason: `Redis ${REDIS_TEST_URL} unreachable (${redis.reason})` };
  if (!pg.reachable) return { reachable: false, reason: `PostgreSQL unreachable (${pg.reason})` };
  return { reachable: true };
}

export const clusterServers = await probeBoth();
if (!clusterServers.reachable) console.warn(`Cluster tests skipped: ${clusterServers.reason}. They need the test Redis and PostgreSQL (VOXGATE_TEST_REDIS_URL, VOXGATE_TEST_PG_URL).`);

export interface ClusterSetup {
  gateways: Gateway[];
  sim: PlivoSimulator;
  keyPrefix: string;
  databaseUrl: string;
  /** Points `number` at gateway `index` (the load balancer's choice). */
  routeNumberTo(number: string, index: number): void;
  close(): Promise<void>;
}

/** `config`: extra configuration for every gateway (bots, routes, cluster.configRefreshMs...). */
export async function startCluster(count: number, config: Record<string, unknown> = {}, opts: { tts?: () => TtsProvider } = {}): Promise<ClusterSetup> {
  const keyPrefix = uniqueRedisPrefix('vgcfg');
  const scratch: ScratchPgDatabase = await createScratchPgDatabase();
  const sim = new PlivoSimulator({ authId: AUTH_ID, authToken: AUTH_TOKEN });
  const { restBaseUrl } = await sim.listen();
  const gateways: Gateway[] = [];
  const dataDirs: string[] = [];
  try {
    // One after the other: each runs the store's migrations on the shared database.
    for (let i = 0; i < count; i++) {
      const dataDir = await mkdtemp(join(tmpdir(), 'vg-cluster-'));
      dataDirs.push(dataDir);
      const parsed = parseConfig({
        ...config,
        server: { host: '127.0.0.1', port: 0, instanceId: `cfg-${i}` },
        dataDir,
        databaseUrl: scratch.url,
        secretsKey: SECRETS_KEY,
        redis: { url: REDIS_TEST_URL },
        cluster: { enabled: true, secret: CLUSTER_SECRET, keyPrefix, ...((config.cluster as object | undefined) ?? {}) },
        api: { token: API_TOKEN },
        log: { level: 'silent' },
        carriers: { plivo: { authId: AUTH_ID, authToken: AUTH_TOKEN, apiBaseUrl: restBaseUrl } },
      });
      gateways.push(await startGateway(parsed, { logger: silentLogger(), tts: opts.tts?.() }));
    }
  } catch (err) {
    await Promise.all(gateways.map((g) => g.close().catch(() => undefined)));
    await sim.close();
    await scratch.drop().catch(() => undefined);
    throw err;
  }
  return {
    gateways,
    sim,
    keyPrefix,
    databaseUrl: scratch.url,
    routeNumberTo(number, index) {
      const g = gateways[index];
      sim.addNumber(number, { answerUrl: `${g.publicUrl}/plivo/answer`, hangupUrl: `${g.publicUrl}/plivo/hangup` });
    },
    async close() {
      await sim.close();
      for (const g of gateways) await g.close().catch(() => undefined);
      await scratch.drop().catch(() => undefined);
      await deleteRedisKeys(keyPrefix).catch(() => undefined);
      await Promise.all(dataDirs.map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}

/** The management API of one gateway, as an operator with the static token (or `bearer`). */
export async function api(gateway: Gateway, method: string, path: string, body?: unknown, bearer = API_TOKEN): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
}

/** Polls `condition` until it holds or `timeoutMs` passes (then throws naming `what`). */
export async function waitFor<T>(what: string, condition: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
