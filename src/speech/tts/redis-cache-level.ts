/**
 * The TTS cache level shared by every instance of a cluster (behind memory and disk, before the
 * provider): a greeting synthesized on one instance is served from Redis on the others instead of
 * being bought again.
 *
 * Keys, under `cluster.keyPrefix`:
 *   tts:<digest>        the entry: a 4-byte length, the metadata (JSON), then the PCM16 LE audio;
 *                       it expires when the cache's lifetime for it runs out
 *   tts-index:order     sorted set of digests by expiry time (= insertion order, one lifetime for all)
 *   tts-index:sizes     hash digest -> bytes held
 *   tts-index:bytes     the total, kept under `maxBytes` by evicting the oldest entries on each write
 * The write and its evictions are one script, so instances writing together never overshoot the cap.
 * Redis failing: lookups miss and writes are skipped (the local levels and the provider carry on),
 * with a rate-limited warning; Redis is left alone for a few seconds before it is tried again.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../../logger.js';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { RateLimitedWarnings } from '../../runtime/rate-limited-warnings.js';
import type { SharedTtsEntry, SharedTtsLevel, TtsEntryMeta } from './cache.js';

/**
 * KEYS: order, sizes, bytes. ARGV: entry key prefix, digest, value, lifetime ms, cap bytes.
 * Returns 1 when stored, 0 when the entry alone exceeds the cap.
 */
const STORE_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local prefix, digest, value = ARGV[1], ARGV[2], ARGV[3]
local px, cap = tonumber(ARGV[4]), tonumber(ARGV[5])
local size = string.len(value)
local total = tonumber(redis.call('GET', KEYS[3]) or '0')
local function forget(d)
  total = total - tonumber(redis.call('HGET', KEYS[2], d) or '0')
  redis.call('HDEL', KEYS[2], d)
  redis.call('ZREM', KEYS[1], d)
  redis.call('DEL', prefix .. d)
end
for _, d in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do forget(d) end
if redis.call('HEXISTS', KEYS[2], digest) == 1 then forget(digest) end
local stored = 0
if size <= cap then
  while total + size > cap do
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0)
    if #oldest == 0 then break end
    forget(oldest[1])
  end
  redis.call('SET', prefix .. digest, value, 'PX', px)
  redis.call('ZADD', KEYS[1], now + px, digest)
  redis.call('HSET', KEYS[2], digest, size)
  total = total + size
  stored = 1
end
if total < 0 then total = 0 end
redis.call('SET', KEYS[3], string.format('%d', total))
return stored
`;

/** KEYS: order, sizes, bytes. ARGV: entry key prefix. Deletes every entry and the index. */
const CLEAR_SCRIPT = `
local n = 0
for _, d in ipairs(redis.call('HKEYS', KEYS[2])) do
  redis.call('DEL', ARGV[1] .. d)
  n = n + 1
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return n
`;

export interface RedisTtsCacheLevelOptions {
  /** `redis.url`. */
  url: string;
  /** `cluster.keyPrefix`. */
  keyPrefix: string;
  /** `tts.cache.redisMaxMB` in bytes. */
  maxBytes: number;
  clock?: Clock;
  logger: Logger;
  /** A lookup slower than this is a miss (the provider is asked instead). Default 500 ms. */
  commandTimeoutMs?: number;
  /** After a failure, Redis is skipped this long. Default 5 s. */
  retryAfterMs?: number;
}

export class RedisTtsCacheLevel implements SharedTtsLevel {
  readonly name = 'redis';
  private readonly redis: Redis;
  private readonly entryPrefix: string;
  private readonly indexKeys: [order: string, sizes: string, bytes: string];
  private readonly warnings: RateLimitedWarnings;
  private readonly clock: Clock;
  private downUntil = Number.NEGATIVE_INFINITY;

  constructor(private readonly opts: RedisTtsCacheLevelOptions) {
    if (!(opts.maxBytes > 0)) throw new RangeError(`tts.cache.redisMaxMB must be positive, got ${String(opts.maxBytes)} bytes`);
    this.clock = opts.clock ?? systemClock;
    this.entryPrefix = `${opts.keyPrefix}:tts:`;
    this.indexKeys = [`${opts.keyPrefix}:tts-index:order`, `${opts.keyPrefix}:tts-index:sizes`, `${opts.keyPrefix}:tts-index:bytes`];
    this.warnings = new RateLimitedWarnings(opts.logger.child({ component: 'tts-cache-redis' }), this.clock);
    // Connects at the first lookup: a gateway that fails to start leaves no connection behind.
    this.redis = new Redis(opts.url, { lazyConnect: true, commandTimeout: opts.commandTimeoutMs ?? 500, maxRetriesPerRequest: 1 });
    this.redis.on('error', (err: Error) => this.warnings.warn('redis-error', `TTS cache: Redis error (${err.message})`));
  }

  async get(digest: string): Promise<SharedTtsEntry | undefined> {
    const value = await this.guard('lookup', () => this.redis.getBuffer(this.entryPrefix + digest));
    if (!value) return undefined;
    const entry = decodeEntry(value);
    if (!entry) {
      this.warnings.warn('bad-entry', 'TTS cache: dropping an unreadable entry in Redis', { digest });
      await this.guard('delete', () => this.redis.del(this.entryPrefix + digest));
    }
    return entry;
  }

  async set(digest: string, entry: SharedTtsEntry, lifetimeMs: number): Promise<void> {
    const px = Math.floor(lifetimeMs);
    if (px <= 0) return;
    await this.guard('write', () => this.redis.eval(STORE_SCRIPT, 3, ...this.indexKeys, this.entryPrefix, digest, encodeEntry(entry), px, Math.floor(this.opts.maxBytes)));
  }

  async clear(): Promise<void> {
    await this.guard('clear', () => this.redis.eval(CLEAR_SCRIPT, 3, ...this.indexKeys, this.entryPrefix));
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  /** Runs a Redis command unless Redis failed a moment ago; a failure is a warning and an undefined result. */
  private async guard<T>(what: string, command: () => Promise<T>): Promise<T | undefined> {
    if (this.clock.now() < this.downUntil) return undefined;
    try {
      return await command();
    } catch (err) {
      this.downUntil = this.clock.now() + (this.opts.retryAfterMs ?? 5000);
      this.warnings.warn(what, `TTS cache: Redis ${what} failed (${(err as Error).message}); the local cache levels carry on alone for now`);
      return undefined;
    }
  }
}

function encodeEntry(entry: SharedTtsEntry): Buffer {
  const meta = Buffer.from(JSON.stringify(entry.meta));
  const header = Buffer.alloc(4);
  header.writeUInt32BE(meta.length);
  return Buffer.concat([header, meta, Buffer.from(entry.samples.buffer, entry.samples.byteOffset, entry.samples.byteLength)]);
}

function decodeEntry(value: Buffer): SharedTtsEntry | undefined {
  try {
    if (value.length < 4) return undefined;
    const metaLength = value.readUInt32BE(0);
    const meta = JSON.parse(value.subarray(4, 4 + metaLength).toString('utf8')) as TtsEntryMeta;
    const pcm = value.subarray(4 + metaLength);
    if (typeof meta.createdAt !== 'number' || meta.samples * 2 !== pcm.length) return undefined;
    // Copy out of the (possibly unaligned) reply buffer.
    const samples = new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength));
    return { samples, meta };
  } catch {
    return undefined;
  }
}
