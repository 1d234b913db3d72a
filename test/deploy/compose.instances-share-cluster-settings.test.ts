/**
 * deploy/compose.yaml: two Voxgate instances, Redis, PostgreSQL and HAProxy. What an operator would
 * otherwise find out at `docker compose up`: every instance's environment (compose.env.example plus its
 * own) and the shared compose.voxgate.yaml make a valid cluster configuration under Voxgate's own
 * loader, with distinct instance ids that HAProxy's servers and routing rules name; HAProxy is the
 * trusted proxy; instances get longer to stop than they drain for; the database survives a restart.
 */
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { parseSecretsKey } from '../../src/store/config-cipher.js';
import { composeDurationMs, haproxyBackend, parseEnvFile, readRepoFile, readYaml } from './support/deploy-files.js';

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  env_file?: string | string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  stop_grace_period?: string;
  networks?: string[] | Record<string, { ipv4_address?: string }>;
  healthcheck?: { test: string[] };
  command?: string[];
}

const compose = readYaml<{ services: Record<string, ComposeService>; volumes: Record<string, unknown> }>('deploy/compose.yaml');
const sharedEnv = parseEnvFile(readRepoFile('deploy/compose.env.example'));
const sharedConfig = parseYaml(readRepoFile('deploy/compose.voxgate.yaml')) as Record<string, unknown>;
const instances = Object.keys(compose.services).filter((name) => name.startsWith('voxgate-'));

/** What the instance's process sees: the env file, then its own environment on top (Compose's order). */
function instanceEnv(name: string): Record<string, string> {
  const service = compose.services[name];
  expect([service.env_file].flat()).toEqual(['compose.env']);
  return { ...sharedEnv, ...service.environment };
}

describe('deploy/compose.yaml', () => {
  it('runs two Voxgate instances built from the Dockerfile, with Redis, PostgreSQL and HAProxy', () => {
    expect(instances).toEqual(['voxgate-1', 'voxgate-2']);
    expect(Object.keys(compose.services).sort()).toEqual(['haproxy', 'postgres', 'redis', 'voxgate-1', 'voxgate-2']);
    for (const name of instances) {
      expect(compose.services[name].build).toEqual({ context: '..', dockerfile: 'Dockerfile' });
      expect(compose.services[name].depends_on).toEqual({ redis: { condition: 'service_healthy' }, postgres: { condition: 'service_healthy' } });
    }
  });

  it.each(instances)("gives %s a valid cluster configuration under Voxgate's own loader, with its own id and internal URL", (name) => {
    const env = instanceEnv(name);
    expect(env.VOXGATE_CONFIG).toBe('/etc/voxgate/voxgate.yaml');
    expect(compose.services[name].volumes).toContain('./compose.voxgate.yaml:/etc/voxgate/voxgate.yaml:ro');
    const config = parseConfig(sharedConfig, env, 'deploy/compose.voxgate.yaml');
    expect(config.cluster.enabled).toBe(true);
    expect(config.server.instanceId).toBe(name);
    expect(config.cluster.internalUrl).toBe(`http://${name}:8080`);
    expect(config.redis.url).toBe('redis://redis:6379');
    expect(new URL(config.databaseUrl!).host).toBe('postgres:5432');
    expect(String(config.cluster.secret).length).toBeGreaterThanOrEqual(32);
    expect(parseSecretsKey(String(config.secretsKey), 'VOXGATE_SECRETS_KEY')).toHaveLength(32);
    expect(config.server.publicUrl).toBe(env.VOXGATE_PUBLIC_URL);
  });

  it('shares the cluster secret, secrets key and public URL between the instances, and nothing per instance', () => {
    for (const key of ['VOXGATE_CLUSTER_SECRET', 'VOXGATE_SECRETS_KEY', 'VOXGATE_PUBLIC_URL', 'REDIS_URL', 'DATABASE_URL']) {
      expect(sharedEnv[key], key).toBeTruthy();
      for (const name of instances) expect(compose.services[name].environment?.[key], `${name} overrides ${key}`).toBeUndefined();
    }
    expect(sharedEnv.VOXGATE_INSTANCE_ID).toBeUndefined();
    expect(sharedEnv.VOXGATE_INTERNAL_URL).toBeUndefined();
    const ids = instances.map((name) => instanceEnv(name).VOXGATE_INSTANCE_ID);
    expect(new Set(ids).size).toBe(instances.length);
  });

  it("puts HAProxy in front with the shipped config, its servers and vxr rules naming exactly the instances' ids", () => {
    const haproxy = compose.services.haproxy;
    expect(haproxy.volumes).toContain('./haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
    const { servers, routes } = haproxyBackend(readRepoFile('deploy/haproxy/haproxy.cfg'), 'voxgate');
    expect([...servers.keys()].sort()).toEqual(instances.map((name) => instanceEnv(name).VOXGATE_INSTANCE_ID).sort());
    for (const name of instances) {
      expect(servers.get(name)).toBe(new URL(instanceEnv(name).VOXGATE_INTERNAL_URL).host);
      expect(routes.get(name)).toBe(`${name}.`);
    }
  });

  it('trusts X-Forwarded-* from HAProxy, at its fixed address, and from nothing else', () => {
    const networks = compose.services.haproxy.networks as Record<string, { ipv4_address?: string }>;
    const address = networks.voxgate.ipv4_address!;
    const config = parseConfig(sharedConfig, instanceEnv('voxgate-1'));
    expect(config.server.trustProxy).toEqual([address]);
  });

  it('lets an instance drain before it is killed: stop_grace_period exceeds server.drainTimeoutMs', () => {
    const { drainTimeoutMs } = parseConfig(sharedConfig, instanceEnv('voxgate-1')).server;
    for (const name of instances) expect(composeDurationMs(compose.services[name].stop_grace_period!)).toBeGreaterThan(drainTimeoutMs);
  });

  it('keeps PostgreSQL and Redis data in volumes, with the database password the instances use', () => {
    expect(compose.services.postgres.volumes).toContain('postgres-data:/var/lib/postgresql/data');
    expect(compose.services.redis.volumes).toContain('redis-data:/data');
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['postgres-data', 'redis-data']));
    const database = new URL(sharedEnv.DATABASE_URL);
    expect(database.username).toBe(sharedEnv.POSTGRES_USER);
    expect(database.password).toBe(sharedEnv.POSTGRES_PASSWORD);
    expect(database.pathname).toBe(`/${sharedEnv.POSTGRES_DB}`);
    // BullMQ's campaign queues must not be evicted under memory pressure.
    expect(compose.services.redis.command).toEqual(expect.arrayContaining(['--maxmemory-policy', 'noeviction']));
  });
});
