/**
 * Configuration edits reach every instance of the cluster. The instance that took an edit through
 * its API publishes what changed on the Redis channel `<cluster.keyPrefix>:config`; every other
 * instance re-reads the shared store (PostgreSQL) and applies the result the way a local edit is
 * applied (bot directory reload, speech providers). Revoked API clients go out on the same channel,
 * so the other instances drop their cached "not revoked" at once.
 *
 * Pub/sub delivers at most once and drops messages while a subscriber is disconnected, so a
 * periodic refresh is the safety net: every `refreshMs` the store's version (names and update
 * times, no bodies) is compared with the last one seen, and the entries are re-read only when it
 * moved. A failed refresh is logged and tried again at the next tick; it never throws.
 */
import { Redis } from 'ioredis';
import { z } from 'zod';
import type { Logger } from '../logger.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import { RateLimitedWarnings } from '../runtime/rate-limited-warnings.js';
import type { ConfigEdit } from '../config/runtime-config.js';

/** What changed: a configuration entry (re-read from the store), or something the listeners act on. */
export const clusterChangeSchema = z
  .object({
    /**
     * bot, route, provider: entries of the run-time configuration; client: an API client was revoked;
     * alarm-rule: an alarm type's rule; tts-cache: the TTS cache was cleared (name "all");
     * widget-key: a widget key was edited or revoked (name: its id).
     */
    kind: z.enum(['bot', 'route', 'provider', 'client', 'alarm-rule', 'tts-cache', 'widget-key']),
    name: z.string().min(1).max(500),
    removed: z.boolean(),
  })
  .strict();
export type ClusterChange = z.infer<typeof clusterChangeSchema>;

const messageSchema = z.object({ origin: z.string().min(1), at: z.number(), change: clusterChangeSchema }).strict();

/** The kinds held in the run-time configuration: a message about one of them means "re-read the store". */
const CONFIG_KINDS: ReadonlySet<ClusterChange['kind']> = new Set(['bot', 'route', 'provider']);

/** The configuration this instance keeps in sync (RuntimeConfig). */
export interface SyncedConfig {
  /** Re-reads the stored entries and applies them when they differ; resolves whether anything changed. */
  refresh(): Promise<boolean>;
  /** Moves whenever a stored entry is written or removed. */
  storedVersion(): Promise<string>;
}

export interface ClusterConfigSyncOptions {
  /** `redis.url`. */
  url: string;
  /** `cluster.keyPrefix`: the channel is `<keyPrefix>:config`. */
  keyPrefix: string;
  instanceId: string;
  /** `cluster.configRefreshMs`. */
  refreshMs: number;
  config: SyncedConfig;
  clock: Clock;
  logger: Logger;
}

export class ClusterConfigSync {
  readonly channel: string;
  private readonly subscriber: Redis;
  private readonly publisher: Redis;
  private readonly warnings: RateLimitedWarnings;
  private readonly log: Logger;
  private readonly listeners = new Set<(change: ClusterChange, origin: string) => void>();
  private timer: TimerHandle | undefined;
  private stopped = false;
  private lastVersion: string | undefined;
  /** The refresh running now, and whether another was asked for meanwhile (it must see later writes). */
  private running: Promise<void> | undefined;
  private again = false;
  /** start() ran its first subscription attempt: later connections are reconnections. */
  private started = false;
  private subscribed = false;

  constructor(private readonly opts: ClusterConfigSyncOptions) {
    if (!(opts.refreshMs > 0)) throw new RangeError(`cluster.configRefreshMs must be positive, got ${String(opts.refreshMs)}`);
    this.channel = `${opts.keyPrefix}:config`;
    this.log = opts.logger.child({ component: 'config-sync' });
    this.warnings = new RateLimitedWarnings(this.log, opts.clock);
    this.subscriber = new Redis(opts.url, { maxRetriesPerRequest: 1 });
    this.publisher = new Redis(opts.url, { maxRetriesPerRequest: 1, commandTimeout: 2000 });
    for (const [name, client] of [['subscriber', this.subscriber], ['publisher', this.publisher]] as const) {
      client.on('error', (err: Error) => this.warnings.warn(`redis-${name}`, `configuration sync: Redis ${name} error (${err.message}); edits on other instances arrive with the periodic refresh`));
    }
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.received(message);
    });
    // ioredis subscribes again after a reconnect (this does it when the first attempt failed);
    // what was published meanwhile is lost, so look at the store.
    this.subscriber.on('ready', () => {
      if (!this.started || this.stopped) return;
      if (!this.subscribed) void this.subscribe();
      void this.refreshNow('reconnected to Redis');
    });
  }

  /** Listens to changes other instances made (each message once, never this instance's own). */
  onRemoteChange(listener: (change: ClusterChange, origin: string) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Subscribes and starts the periodic refresh. Redis unreachable: logged; the periodic refresh still runs. */
  async start(): Promise<void> {
    this.lastVersion = await this.opts.config.storedVersion().catch(() => undefined);
    await this.subscribe();
    this.started = true;
    this.schedule();
  }

  private async subscribe(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.channel);
      this.subscribed = true;
    } catch (err) {
      this.warnings.warn('subscribe', `configuration sync: not subscribed to ${this.channel} (${(err as Error).message}); edits made on other instances arrive within cluster.configRefreshMs until Redis is back`);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.running?.catch(() => undefined);
    await Promise.all([this.subscriber, this.publisher].map((c) => c.quit().catch(() => c.disconnect())));
  }

  /** Tells the other instances; never throws (the periodic refresh covers a lost message). */
  async publish(change: ClusterChange): Promise<void> {
    const message = JSON.stringify({ origin: this.opts.instanceId, at: this.opts.clock.now(), change });
    try {
      await this.publisher.publish(this.channel, message);
    } catch (err) {
      this.warnings.warn('publish', `configuration sync: ${change.kind} "${change.name}" not announced to the other instances (${(err as Error).message}); they pick it up within cluster.configRefreshMs`, { change });
    }
  }

  /**
   * Re-reads and applies the stored configuration; concurrent requests share one refresh, and a
   * request made while one runs gets another after it. Never throws.
   */
  refreshNow(reason: string): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.refreshOnce(reason);
      } while (this.again && !this.stopped);
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  private async refreshOnce(reason: string): Promise<void> {
    try {
      const version = await this.opts.config.storedVersion();
      const changed = await this.opts.config.refresh();
      this.lastVersion = version;
      if (changed) this.log.info({ reason }, 'configuration changed on another instance applied');
    } catch (err) {
      this.warnings.warn('refresh', `configuration sync: re-reading the stored configuration failed (${(err as Error).message}); tried again in ${this.opts.refreshMs} ms`, { reason });
    }
  }

  private received(raw: string): void {
    let parsed: z.infer<typeof messageSchema>;
    try {
      parsed = messageSchema.parse(JSON.parse(raw));
    } catch (err) {
      this.warnings.warn('bad-message', `configuration sync: ignored a malformed message on ${this.channel} (${err instanceof z.ZodError ? err.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`).join('; ') : (err as Error).message})`);
      return;
    }
    if (parsed.origin === this.opts.instanceId) return;
    const { change, origin } = parsed;
    this.log.debug({ change, origin }, 'configuration change announced by another instance');
    if (CONFIG_KINDS.has(change.kind)) void this.refreshNow(`${change.kind} ${change.name} changed on ${origin}`);
    for (const listener of this.listeners) {
      try {
        listener(change, origin);
      } catch (err) {
        this.log.error({ err, change }, 'configuration sync listener failed');
      }
    }
  }

  /** The safety net: cheap version check, full re-read only when it moved. */
  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.opts.clock.setTimeout(() => {
      void this.tick().finally(() => this.schedule());
    }, this.opts.refreshMs);
  }

  private async tick(): Promise<void> {
    let version: string;
    try {
      version = await this.opts.config.storedVersion();
    } catch (err) {
      this.warnings.warn('version', `configuration sync: reading the stored configuration's version failed (${(err as Error).message}); tried again in ${this.opts.refreshMs} ms`);
      return;
    }
    if (version !== this.lastVersion) await this.refreshNow('periodic refresh: the stored configuration changed');
  }
}

export interface ClusterConfigParts {
  /** The run-time configuration (RuntimeConfig): its edits are announced, others' are applied. */
  config: SyncedConfig & { onEdit(listener: (edit: ConfigEdit) => void): unknown };
  /** ApiAuth: its revocations are announced, others' drop the cached state here. */
  auth: { onRevoked(listener: (clientId: string) => void): unknown; forgetRevocationState(clientId: string): void };
  /** TtsCache, when enabled: a clear on one instance empties every instance's memory and disk. */
  ttsCache?: { onCleared(listener: () => void): unknown; clearLocal(): Promise<void> };
  /** Widget keys: an edit or revocation here is announced; one elsewhere drops the key from this instance's cache. */
  widgetKeys?: { onChange(listener: (keyId: string) => void): unknown; forget(keyId: string): void };
}

/** The composition root's one call: the sync, wired to what it keeps in step, started. */
export async function startClusterConfigSync(opts: Omit<ClusterConfigSyncOptions, 'config'> & ClusterConfigParts): Promise<ClusterConfigSync> {
  const { auth, ttsCache, widgetKeys, logger } = opts;
  const sync = new ClusterConfigSync(opts);
  opts.config.onEdit((edit) => void sync.publish(edit));
  auth.onRevoked((clientId) => void sync.publish({ kind: 'client', name: clientId, removed: true }));
  ttsCache?.onCleared(() => void sync.publish({ kind: 'tts-cache', name: 'all', removed: true }));
  widgetKeys?.onChange((keyId) => void sync.publish({ kind: 'widget-key', name: keyId, removed: false }));
  sync.onRemoteChange((change) => {
    if (change.kind === 'client') auth.forgetRevocationState(change.name);
    if (change.kind === 'widget-key') widgetKeys?.forget(change.name);
    if (change.kind === 'tts-cache') void ttsCache?.clearLocal().catch((err: unknown) => logger.warn({ err }, 'TTS cache not cleared after another instance cleared it'));
  });
  await sync.start();
  return sync;
}
