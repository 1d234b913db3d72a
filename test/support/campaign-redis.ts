/**
 * Redis for the campaign queue tests: the server on this machine (override with
 * VOXGATE_TEST_REDIS_URL), probed once per test file, skipped with a note when unreachable; a
 * unique key prefix per test, whose keys are deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';

export const REDIS_TEST_URL = process.env.VOXGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export type RedisProbe = { reachable: true } | { reachable: false; reason: string };

export async function probeRedis(url = REDIS_TEST_URL, timeoutMs = 1500): Promise<RedisProbe> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const pong = await client.ping();
    return pong === 'PONG' ? { reachable: true } : { reachable: false, reason: `PING answered ${pong}` };
  } catch (err) {
    return { reachable: false, reason: err instanceof Error ? err.message : String(err) };
  } finally {
    client.disconnect();
  }
}

/** Probed once per test file (each file runs in its own module graph). */
export const redisProbe: RedisProbe = await probeRedis();
if (!redisProbe.reachable) {
  console.warn(
    `Campaign Redis-queue tests skipped: ${redactRedisUrl(REDIS_TEST_URL)} unreachable (${redisProbe.reason}). ` +
      'Start Redis there or set VOXGATE_TEST_REDIS_URL to run them.',
  );
}

/** A key prefix no other test (or run) uses. */
export function uniqueRedisPrefix(label = 'vgtest'): string {
  return `${label}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Deletes every key under `prefix:` (SCAN, so a shared server is not blocked). */
export async function deleteRedisKeys(prefix: string, url = REDIS_TEST_URL): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) deleted += await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return deleted;
}

/** Keys under `prefix:` right now. */
export async function redisKeys(prefix: string, url = REDIS_TEST_URL): Promise<string[]> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    return found;
  } finally {
    client.disconnect();
  }
}

function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}

export interface RedisProxy {
  /** redis:// URL of the proxy. */
  url: string;
  /** Redis "goes away": open connections are reset and new ones refused. */
  cut(): Promise<void>;
  /** Redis "comes back" at the same URL. */
  restore(): Promise<void>;
  /** Cut for good (test clean-up); harmless when already cut. */
  close(): Promise<void>;
}

/** A TCP pass-through to the test Redis on 127.0.0.1, port 0, that a test can cut mid-run and restore. */
export async function startRedisProxy(target = REDIS_TEST_URL): Promise<RedisProxy> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      const listening = createServer((client) => {
        const redis = connect(Number(upstream.port || 6379), upstream.hostname);
        for (const s of [client, redis]) {
          sockets.add(s);
          s.on('error', () => undefined);
          s.on('close', () => sockets.delete(s));
        }
        client.pipe(redis).pipe(client);
      });
      server = listening;
      // Port 0 the first time; the same port again on restore, so clients reconnect to the URL they have.
      listening.listen(port, '127.0.0.1', () => {
        port = (listening.address() as AddressInfo).port;
        resolve();
      });
    });
  const cut = async () => {
    const closing = server;
    server = undefined;
    const closed = closing ? new Promise<void>((resolve) => closing.close(() => resolve())) : Promise.resolve();
    for (const s of sockets) s.resetAndDestroy();
    await closed;
  };
  await listen();
  return {
    url: `redis://127.0.0.1:${port}`,
    cut,
    async restore() {
      if (!server) await listen();
    },
    close: cut,
  };
}
