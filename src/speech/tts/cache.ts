/**
 * The shared TTS cache (seed 004 §6.3.10): a prompt synthesized once is played from the cache for
 * every later call until its lifetime (default 24 h) runs out. Memory LRU bounded by bytes in front
 * of an optional directory that survives restarts, then an optional level shared by every instance
 * of a cluster (Redis), then the provider. A bot opts a message out with `disableTtsCache`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { silentLogger, type Logger } from '../../logger.js';
import type { TtsProvider, TtsRequest } from './provider.js';
import { concatPcm } from '../../media/audio.js';

export interface TtsCacheOptions {
  /** Directory for the on-disk entries (created when missing); no directory = memory only. */
  dir?: string;
  /** Upper bound of the audio kept in memory. Default 64 MiB. */
  maxMemoryBytes?: number;
  /** Lifetime of an entry from its creation. Default 24 h. */
  ttlMs?: number;
  /** A level shared with the other instances (RedisTtsCacheLevel), looked up after disk, written after each synthesis. */
  shared?: SharedTtsLevel;
  clock?: Clock;
  logger?: Logger;
}

/** What an entry's audio is (kept with it on disk and in the shared level). */
export interface TtsEntryMeta {
  createdAt: number;
  provider: string;
  language: string;
  voice?: string;
  ssml: boolean;
  sampleRate: number;
  samples: number;
}

export interface SharedTtsEntry {
  samples: Int16Array;
  meta: TtsEntryMeta;
}

/**
 * A cache level shared between processes. Its failures must not fail a prompt: `get` resolves
 * undefined and `set` gives up when the level is unusable (the implementation logs why).
 */
export interface SharedTtsLevel {
  readonly name: string;
  get(key: string): Promise<SharedTtsEntry | undefined>;
  /** `lifetimeMs`: what is left of the entry's lifetime. */
  set(key: string, entry: SharedTtsEntry, lifetimeMs: number): Promise<void>;
  clear(): Promise<void>;
}

export interface TtsCacheStats {
  /** Requests served without calling the provider (memory, disk, shared level, or joining an identical synthesis). */
  hits: number;
  /** The hits by where they were served from. */
  hitsByLevel: { memory: number; disk: number; shared: number; joined: number };
  /** Requests that called the provider. */
  misses: number;
  /** Entries and audio bytes held in memory. */
  entries: number;
  bytes: number;
}

export interface TtsCacheCallOptions {
  /** Bypass the cache for this request, both read and write (the bot's `disableTtsCache`). */
  noCache?: boolean;
  signal?: AbortSignal;
}

/** A provider may name settings that change its audio beyond the request (speaking rate...). */
type CacheableProvider = TtsProvider & { readonly cacheScope?: string };

interface MemoryEntry {
  samples: Int16Array;
  createdAt: number;
}

interface DiskMeta extends TtsEntryMeta {
  version: 1;
}

/** One synthesis shared by every concurrent request for the same key. */
interface Flight {
  key: string;
  chunks: Int16Array[];
  done: boolean;
  failed: boolean;
  error?: unknown;
  consumers: number;
  wake: Set<() => void>;
  controller: AbortController;
}

const DEFAULT_MAX_MEMORY_BYTES = 64 * 1024 * 1024;
const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000;

export function ttsCacheKey(provider: CacheableProvider, req: TtsRequest): string {
  const parts = [
    provider.name,
    provider.cacheScope ?? '',
    req.voice ?? '',
    req.language,
    req.ssml ? 'ssml' : 'text',
    String(req.sampleRate),
    req.text,
  ];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export class TtsCache {
  private readonly dir?: string;
  private readonly maxMemoryBytes: number;
  private readonly ttlMs: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  /** Insertion order = recency order: a hit re-inserts the entry at the end. */
  private readonly memory = new Map<string, MemoryEntry>();
  private memoryBytes = 0;
  private readonly inflight = new Map<string, Flight>();
  private hits = 0;
  private readonly hitsByLevel = { memory: 0, disk: 0, shared: 0, joined: 0 };
  private misses = 0;
  private readonly shared?: SharedTtsLevel;
  private readonly clearedListeners = new Set<() => void>();
  /** Bumped by clear(): a synthesis started before it must not repopulate the cache. */
  private generation = 0;
  private dirReady?: Promise<void>;

  constructor(options: TtsCacheOptions = {}) {
    this.dir = options.dir;
    this.shared = options.shared;
    this.maxMemoryBytes = options.maxMemoryBytes ?? DEFAULT_MAX_MEMORY_BYTES;
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger()).child({ component: 'tts-cache' });
    if (!(this.maxMemoryBytes >= 0)) throw new RangeError(`maxMemoryBytes must be >= 0, got ${options.maxMemoryBytes}`);
    if (!(this.ttlMs > 0)) throw new RangeError(`ttlMs must be > 0, got ${options.ttlMs}`);
  }

  /**
   * Yields the audio for `req`: at once from the cache, otherwise streamed from the provider as it
   * is produced. Only a complete, successful synthesis is stored.
   */
  async *synthesize(provider: CacheableProvider, req: TtsRequest, options: TtsCacheCallOptions = {}): AsyncGenerator<Int16Array> {
    const { signal } = options;
    if (options.noCache) {
      yield* provider.synthesize(req, signal);
      return;
    }
    signal?.throwIfAborted();
    const key = ttsCacheKey(provider, req);
    const cached = this.memoryGet(key);
    if (cached) {
      this.hits++;
      this.hitsByLevel.memory++;
      yield cached.slice(); // callers may transform audio in place; the entry must stay intact
      return;
    }
    let flight = this.inflight.get(key);
    if (flight) {
      this.hits++;
      this.hitsByLevel.joined++;
    } else flight = this.startFlight(key, provider, req);
    yield* this.follow(flight, signal);
  }

  stats(): TtsCacheStats {
    return { hits: this.hits, hitsByLevel: { ...this.hitsByLevel }, misses: this.misses, entries: this.memory.size, bytes: this.memoryBytes };
  }

  /** Empties memory, disk and the shared level (the administrator's "clear TTS cache"). */
  async clear(): Promise<void> {
    await this.sharedCall('clear', () => this.shared!.clear());
    await this.clearLocal();
    for (const listener of this.clearedListeners) listener();
  }

  /** Called after clear() (a cluster tells the other instances to empty their own levels). */
  onCleared(listener: () => void): () => void {
    this.clearedListeners.add(listener);
    return () => void this.clearedListeners.delete(listener);
  }

  /** Empties memory and disk only: another instance cleared the cache, the shared level with it. */
  async clearLocal(): Promise<void> {
    this.generation++;
    this.memory.clear();
    this.memoryBytes = 0;
    if (!this.dir) return;
    const names = await this.listDir();
    await Promise.all(names.map((n) => unlink(join(this.dir!, n)).catch(() => {})));
  }

  /** Drops expired entries from memory and disk; returns how many entries were removed. */
  async prune(): Promise<number> {
    let removed = 0;
    const now = this.clock.now();
    for (const [key, entry] of this.memory) {
      if (this.expired(entry.createdAt, now)) {
        this.memoryDelete(key);
        removed++;
      }
    }
    if (!this.dir) return removed;
    for (const name of await this.listDir()) {
      if (!name.endsWith('.json')) continue;
      const key = name.slice(0, -5);
      const meta = await this.readMeta(key);
      if (!meta || this.expired(meta.createdAt, now)) {
        await this.diskDelete(key);
        removed++;
      }
    }
    return removed;
  }

  // -- in-flight syntheses ------------------------------------------------------------------------

  private startFlight(key: string, provider: CacheableProvider, req: TtsRequest): Flight {
    const flight: Flight = {
      key,
      chunks: [],
      done: false,
      failed: false,
      consumers: 0,
      wake: new Set(),
      controller: new AbortController(),
    };
    this.inflight.set(key, flight);
    void this.runFlight(key, flight, provider, req);
    return flight;
  }

  private async runFlight(key: string, flight: Flight, provider: CacheableProvider, req: TtsRequest): Promise<void> {
    const generation = this.generation;
    const notify = () => {
      for (const w of flight.wake) w();
      flight.wake.clear();
    };
    try {
      const fromDisk = await this.diskGet(key);
      const fromShared = fromDisk ? undefined : await this.sharedGet(key);
      if (fromDisk) {
        this.hits++;
        this.hitsByLevel.disk++;
        this.memorySet(key, fromDisk);
        flight.chunks.push(fromDisk.samples.slice());
      } else if (fromShared) {
        this.hits++;
        this.hitsByLevel.shared++;
        const entry = { samples: fromShared.samples, createdAt: fromShared.meta.createdAt };
        this.memorySet(key, entry);
        await this.diskSet(key, entry, provider, req);
        flight.chunks.push(entry.samples.slice());
      } else {
        this.misses++;
        const signal = flight.controller.signal;
        for await (const chunk of provider.synthesize(req, signal)) {
          signal.throwIfAborted();
          if (chunk.length === 0) continue;
          flight.chunks.push(chunk);
          notify();
        }
        signal.throwIfAborted();
        if (generation === this.generation) {
          const entry = { samples: concatPcm(flight.chunks), createdAt: this.clock.now() };
          this.memorySet(key, entry);
          // Written before the requests see the end, so a finished synthesis is durable.
          await this.diskSet(key, entry, provider, req);
          if (this.shared) await this.sharedCall('write', () => this.shared!.set(key, { samples: entry.samples, meta: entryMeta(entry, provider, req) }, this.ttlMs - (this.clock.now() - entry.createdAt)));
        }
      }
      flight.done = true;
    } catch (err) {
      flight.failed = true;
      flight.error = err;
    } finally {
      if (this.inflight.get(key) === flight) this.inflight.delete(key);
      notify();
    }
  }

  private async *follow(flight: Flight, signal?: AbortSignal): AsyncGenerator<Int16Array> {
    flight.consumers++;
    try {
      for (let i = 0; ; ) {
        if (i < flight.chunks.length) {
          yield flight.chunks[i++];
          continue;
        }
        if (flight.failed) throw flight.error;
        if (flight.done) return;
        await waitForChange(flight, signal);
      }
    } finally {
      flight.consumers--;
      // Nobody listens any more: stop the provider; the partial audio is never stored.
      if (flight.consumers === 0 && !flight.done && !flight.failed) {
        // A request arriving now must start afresh rather than join a synthesis being torn down.
        if (this.inflight.get(flight.key) === flight) this.inflight.delete(flight.key);
        flight.controller.abort(new Error('every request for this synthesis was cancelled'));
      }
    }
  }

  // -- memory -------------------------------------------------------------------------------------

  private expired(createdAt: number, now = this.clock.now()): boolean {
    return now - createdAt >= this.ttlMs;
  }

  private memoryGet(key: string): Int16Array | undefined {
    const entry = this.memory.get(key);
    if (!entry) return undefined;
    if (this.expired(entry.createdAt)) {
      this.memoryDelete(key);
      return undefined;
    }
    this.memory.delete(key);
    this.memory.set(key, entry);
    return entry.samples;
  }

  private memorySet(key: string, entry: MemoryEntry): void {
    this.memoryDelete(key);
    const bytes = entry.samples.byteLength;
    if (bytes > this.maxMemoryBytes) return; // too large for memory; the disk copy still serves it
    this.memory.set(key, entry);
    this.memoryBytes += bytes;
    for (const [oldest] of this.memory) {
      if (this.memoryBytes <= this.maxMemoryBytes) break;
      this.memoryDelete(oldest);
    }
  }

  private memoryDelete(key: string): void {
    const entry = this.memory.get(key);
    if (!entry) return;
    this.memory.delete(key);
    this.memoryBytes -= entry.samples.byteLength;
  }

  // -- disk: <key>.pcm (raw PCM16 little-endian) + <key>.json (metadata, written last) ------------

  private async ensureDir(): Promise<void> {
    this.dirReady ??= mkdir(this.dir!, { recursive: true }).then(() => undefined);
    return this.dirReady;
  }

  private async listDir(): Promise<string[]> {
    try {
      return (await readdir(this.dir!)).filter((n) => /\.(json|pcm|tmp)$/.test(n));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  private async readMeta(key: string): Promise<DiskMeta | undefined> {
    try {
      const meta = JSON.parse(await readFile(join(this.dir!, `${key}.json`), 'utf8')) as DiskMeta;
      if (meta.version !== 1 || typeof meta.createdAt !== 'number' || typeof meta.samples !== 'number') return undefined;
      return meta;
    } catch {
      return undefined;
    }
  }

  private async diskGet(key: string): Promise<MemoryEntry | undefined> {
    if (!this.dir) return undefined;
    const meta = await this.readMeta(key);
    if (!meta) return undefined;
    if (this.expired(meta.createdAt)) {
      await this.diskDelete(key);
      return undefined;
    }
    try {
      const buf = await readFile(join(this.dir, `${key}.pcm`));
      if (buf.byteLength !== meta.samples * 2) throw new Error(`holds ${buf.byteLength} bytes, metadata says ${meta.samples * 2}`);
      // Copy out of Node's (possibly pooled, unaligned) buffer.
      const samples = new Int16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      return { samples, createdAt: meta.createdAt };
    } catch (err) {
      this.log.warn({ key, err: (err as Error).message }, 'dropping unreadable TTS cache entry');
      await this.diskDelete(key);
      return undefined;
    }
  }

  private async diskSet(key: string, entry: MemoryEntry, provider: TtsProvider, req: TtsRequest): Promise<void> {
    if (!this.dir) return;
    const meta: DiskMeta = { version: 1, ...entryMeta(entry, provider, req) };
    try {
      await this.ensureDir();
      // Write to temporary names and rename, so a crash never leaves a half-written entry behind.
      const tmp = randomUUID();
      const pcmTmp = join(this.dir, `${key}.${tmp}.pcm.tmp`);
      const metaTmp = join(this.dir, `${key}.${tmp}.json.tmp`);
      await writeFile(pcmTmp, Buffer.from(entry.samples.buffer, entry.samples.byteOffset, entry.samples.byteLength));
      await rename(pcmTmp, join(this.dir, `${key}.pcm`));
      await writeFile(metaTmp, JSON.stringify(meta));
      await rename(metaTmp, join(this.dir, `${key}.json`));
    } catch (err) {
      // The audio was delivered; losing its disk copy only costs a later re-synthesis.
      this.log.warn({ key, dir: this.dir, err: (err as Error).message }, 'cannot write TTS cache entry');
    }
  }

  // -- shared level (other instances) --------------------------------------------------------------

  /** An entry another instance synthesized; expired ones are misses (the level's expiry may lag). */
  private async sharedGet(key: string): Promise<SharedTtsEntry | undefined> {
    if (!this.shared) return undefined;
    const entry = await this.sharedCall('lookup', () => this.shared!.get(key));
    return entry && !this.expired(entry.meta.createdAt) ? entry : undefined;
  }

  /** The shared level is an optimisation: whatever goes wrong there, the local levels and the provider carry on. */
  private async sharedCall<T>(what: string, call: () => Promise<T>): Promise<T | undefined> {
    if (!this.shared) return undefined;
    try {
      return await call();
    } catch (err) {
      this.log.warn({ level: this.shared.name, err: (err as Error).message }, `TTS cache: shared level ${what} failed`);
      return undefined;
    }
  }

  private async diskDelete(key: string): Promise<void> {
    await Promise.all([`${key}.json`, `${key}.pcm`].map((n) => unlink(join(this.dir!, n)).catch(() => {})));
  }
}

function entryMeta(entry: MemoryEntry, provider: TtsProvider, req: TtsRequest): TtsEntryMeta {
  return {
    createdAt: entry.createdAt,
    provider: provider.name,
    language: req.language,
    voice: req.voice,
    ssml: Boolean(req.ssml),
    sampleRate: req.sampleRate,
    samples: entry.samples.length,
  };
}

function waitForChange(flight: Flight, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      flight.wake.delete(wake);
      reject(signal!.reason);
    };
    const wake = () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    flight.wake.add(wake);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
