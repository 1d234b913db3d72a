/**
 * Configuration edited at run time: bots, routes and provider sections stored through the
 * management API, merged over the configuration file. Every change is validated as a whole
 * configuration with the same schema the file goes through, applied (new calls use it), then stored.
 */
import { z } from 'zod';
import { FlowError } from '../bots/flow/flow-schema.js';
import type { Logger } from '../logger.js';
import type { ConfigEntry, ConfigEntryKind, ConfigRepository } from '../store/config-repository.js';
import { ConfigError } from '../runtime/config-error.js';
import { botSchema, configSchema, resolveBot, routeSchema, type BotConfig, type VoxgateConfig } from './schema.js';
import { maskSecrets, MaskWithoutSecretError, restoreMaskedSecrets } from './secret-mask.js';

export type RouteConfig = VoxgateConfig['routes'][number];
/** The provider sections editable at run time ("google" holds the service account for Google STT/TTS). */
export const PROVIDER_SECTIONS = ['stt', 'tts', 'google'] as const;
export type ProviderSection = (typeof PROVIDER_SECTIONS)[number];
export type EntrySource = 'file' | 'api';

/** One change made through this process's API (what other instances are told about). */
export interface ConfigEdit {
  kind: ConfigEntryKind;
  name: string;
  removed: boolean;
}

/** A rejected change: `status` is the HTTP status the API answers with, the message names the field. */
export class RuntimeConfigError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404 | 409,
  ) {
    super(message);
    this.name = 'RuntimeConfigError';
  }
}

export interface RuntimeConfigOptions {
  /** The configuration file's content, already validated. */
  file: VoxgateConfig;
  entries: ConfigRepository;
  /** Puts a new configuration to use (e.g. `(c) => bots.reload(c)`); throwing rejects the change. */
  apply?: (config: VoxgateConfig) => Promise<void>;
  now?: () => number;
  logger?: Logger;
}

interface Stored {
  bots: Map<string, unknown>;
  routes: Map<string, unknown>;
  providers: Map<string, unknown>;
}

const providerSchemas = {
  stt: configSchema.innerType().shape.stt,
  tts: configSchema.innerType().shape.tts,
  google: configSchema.innerType().shape.google,
} as const satisfies Record<ProviderSection, z.ZodTypeAny>;

export class RuntimeConfig {
  private effective: VoxgateConfig;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<(config: VoxgateConfig) => void>();
  private readonly editListeners = new Set<(edit: ConfigEdit) => void>();

  private constructor(
    private readonly opts: RuntimeConfigOptions,
    private stored: Stored,
  ) {
    this.effective = opts.file;
  }

  /**
   * Reads the stored entries and validates them over the file. A stored configuration that no
   * longer fits the file (a base bot removed from it...) is a ConfigError naming the field.
   */
  static async open(opts: RuntimeConfigOptions): Promise<RuntimeConfig> {
    const stored: Stored = { bots: new Map(), routes: new Map(), providers: new Map() };
    for (const entry of await opts.entries.list()) mapFor(stored, entry.kind).set(entry.name, entry.body);
    const runtime = new RuntimeConfig(opts, stored);
    const result = configSchema.safeParse(runtime.merged(stored));
    if (!result.success) throw new ConfigError(`invalid configuration (file + stored API changes): ${describeIssues(result.error, runtime.merged(stored))}`);
    runtime.effective = result.data;
    return runtime;
  }

  /**
   * Re-reads the stored entries (another process sharing the PostgreSQL store changed them) and
   * applies them when they differ. Returns whether anything changed. An invalid result is logged
   * and ignored: this process keeps the configuration it has.
   */
  async refresh(): Promise<boolean> {
    return this.exclusive(() => this.catchUp());
  }

  /** refresh()'s work, inside the queue. */
  private async catchUp(): Promise<boolean> {
    const stored: Stored = { bots: new Map(), routes: new Map(), providers: new Map() };
    for (const entry of await this.opts.entries.list()) mapFor(stored, entry.kind).set(entry.name, entry.body);
    if (sameStored(stored, this.stored)) return false;
    const candidate = this.merged(stored);
    const result = configSchema.safeParse(candidate);
    if (!result.success) {
      this.opts.logger?.error({ problem: describeIssues(result.error, candidate) }, 'stored configuration changed elsewhere is invalid; keeping the current one');
      return false;
    }
    await this.opts.apply?.(result.data);
    this.stored = stored;
    this.effective = result.data;
    this.notify(result.data);
    return true;
  }

  /** The configuration in effect: the file with the stored changes. */
  get current(): VoxgateConfig {
    return this.effective;
  }

  /** Called after each applied change. */
  onChange(listener: (config: VoxgateConfig) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Called after each change made here (not after a refresh that picked up another process's):
   * the cluster tells the other instances to re-read the store.
   */
  onEdit(listener: (edit: ConfigEdit) => void): () => void {
    this.editListeners.add(listener);
    return () => this.editListeners.delete(listener);
  }

  /**
   * A cheap digest of what is stored (names and update times, not bodies): when it has not moved
   * since the last look, a periodic refresh need not read and decrypt every entry.
   */
  async storedVersion(): Promise<string> {
    return this.opts.entries.version();
  }

  sourceOf(kind: ConfigEntryKind, name: string): EntrySource {
    return mapFor(this.stored, kind).has(name) ? 'api' : 'file';
  }

  // --- bots -------------------------------------------------------------------------------

  /** Every bot as stored (inheritance not applied), secrets masked. */
  listBots(): { bot: BotConfig; resolved: BotConfig; source: EntrySource }[] {
    const byName = this.botsByName();
    return this.effective.bots.map((b) => ({ bot: maskBot(b), resolved: maskBot(resolveBot(b.name, byName)), source: this.sourceOf('bot', b.name) }));
  }

  /** One bot, with its base bots' values filled in unless `raw`; secrets masked. Undefined when unknown. */
  getBot(name: string, raw = false): BotConfig | undefined {
    const byName = this.botsByName();
    if (!byName.has(name)) return undefined;
    return maskBot(raw ? byName.get(name)! : resolveBot(name, byName));
  }

  /** Creates or replaces a bot; returns whether it was created and the bot as stored (masked). */
  async putBot(name: string, body: unknown): Promise<{ created: boolean; bot: BotConfig }> {
    return this.editing(async () => {
      const input = withName(body, 'name', name);
      const existing = this.botsByName().get(name);
      const restored = restore(botSchema, input, existing);
      const parsed = botSchema.safeParse(restored);
      if (!parsed.success) throw new RuntimeConfigError(describeIssues(parsed.error), 400);
      await this.change(withEntry(this.stored, 'bot', name, restored), 400);
      return { created: !existing, bot: maskBot(parsed.data) };
    });
  }

  async deleteBot(name: string): Promise<void> {
    return this.editing(async () => {
      if (!this.botsByName().has(name)) throw new RuntimeConfigError(`bot: no bot named "${name}"`, 404);
      await this.change(withoutEntry(this.stored, 'bot', name, this.opts.file.bots.some((b) => b.name === name)), 409);
    });
  }

  // --- routes -----------------------------------------------------------------------------

  listRoutes(): { route: RouteConfig; source: EntrySource }[] {
    return this.effective.routes.map((route) => ({ route, source: this.sourceOf('route', route.number) }));
  }

  getRoute(number: string): RouteConfig | undefined {
    return this.effective.routes.find((r) => r.number === number);
  }

  async putRoute(number: string, body: unknown): Promise<{ created: boolean; route: RouteConfig }> {
    return this.editing(async () => {
      const parsed = routeSchema.safeParse(withName(body, 'number', number));
      if (!parsed.success) throw new RuntimeConfigError(describeIssues(parsed.error), 400);
      const created = !this.getRoute(number);
      await this.change(withEntry(this.stored, 'route', number, parsed.data), 400);
      return { created, route: parsed.data };
    });
  }

  async deleteRoute(number: string): Promise<void> {
    return this.editing(async () => {
      if (!this.getRoute(number)) throw new RuntimeConfigError(`route: no route for number "${number}"`, 404);
      await this.change(withoutEntry(this.stored, 'route', number, this.opts.file.routes.some((r) => r.number === number)), 409);
    });
  }

  // --- providers ----------------------------------------------------------------------------

  /** A provider section in effect, secrets masked (undefined: the optional google section is absent). */
  getProvider(section: ProviderSection): unknown {
    return maskSecrets(providerSchemas[section], this.effective[section]);
  }

  /** Replaces a provider section; a masked secret keeps the one in effect. */
  async putProvider(section: ProviderSection, body: unknown): Promise<unknown> {
    return this.editing(async () => {
      const restored = restore(providerSchemas[section], body, this.effective[section], section);
      const parsed = providerSchemas[section].safeParse(restored);
      if (!parsed.success) throw new RuntimeConfigError(describeIssues(parsed.error, undefined, section), 400);
      await this.change(withEntry(this.stored, 'provider', section, restored), 400);
      return this.getProvider(section);
    });
  }

  /** Forgets the stored section: the file's applies again. False when none was stored. */
  async resetProvider(section: ProviderSection): Promise<boolean> {
    return this.editing(async () => {
      if (!this.stored.providers.has(section)) return false;
      await this.change(withoutEntry(this.stored, 'provider', section, false), 409);
      return true;
    });
  }

  // --- internals ----------------------------------------------------------------------------

  private botsByName(): Map<string, BotConfig> {
    return new Map(this.effective.bots.map((b) => [b.name, b]));
  }

  /** The file with the stored entries over it, before validation. */
  private merged(stored: Stored): Record<string, unknown> {
    const file = this.opts.file;
    return {
      ...file,
      bots: overlay(file.bots, stored.bots, (b) => b.name),
      routes: overlay(file.routes, stored.routes, (r) => r.number),
      ...Object.fromEntries([...stored.providers].map(([section, body]) => [section, body ?? undefined])),
    };
  }

  /** Validates the whole configuration with `next` stored, applies it, then persists the one entry that changed. */
  private async change(next: { stored: Stored; kind: ConfigEntryKind; name: string; body: unknown | typeof REMOVE }, failStatus: 400 | 409): Promise<void> {
    const candidate = this.merged(next.stored);
    const result = configSchema.safeParse(candidate);
    if (!result.success) throw new RuntimeConfigError(describeIssues(result.error, candidate), failStatus);
    try {
      await this.opts.apply?.(result.data);
    } catch (err) {
      // The bots could not be built (a secret's env variable unset, a flow file unreadable): nothing changed.
      if (err instanceof ConfigError || err instanceof FlowError) throw new RuntimeConfigError(err.message.replace(/^invalid configuration: /, ''), 400);
      throw err;
    }
    const now = this.opts.now?.() ?? Date.now();
    try {
      if (next.body === REMOVE) await this.opts.entries.remove(next.kind, next.name);
      else await this.opts.entries.put(next.kind, next.name, next.body, now);
    } catch (err) {
      // Not stored: new calls go back to the configuration that is.
      await this.opts.apply?.(this.effective).catch((undo: unknown) => this.opts.logger?.error({ err: undo }, 'restoring the configuration after a failed store write failed'));
      throw err;
    }
    this.stored = next.stored;
    this.effective = result.data;
    const edit: ConfigEdit = { kind: next.kind, name: next.name, removed: next.body === REMOVE || next.body === null };
    this.opts.logger?.info(edit, 'configuration changed at run time');
    this.notify(result.data);
    for (const listener of this.editListeners) {
      try {
        listener(edit);
      } catch (err) {
        this.opts.logger?.error({ err }, 'configuration edit listener failed');
      }
    }
  }

  private notify(config: VoxgateConfig): void {
    for (const listener of this.listeners) {
      try {
        listener(config);
      } catch (err) {
        this.opts.logger?.error({ err }, 'configuration change listener failed');
      }
    }
  }

  /**
   * An edit, validated against what the store holds now: another process sharing it may have
   * changed it since this one last looked (an edit built on a stale view could be valid here and
   * invalid together with theirs). A store that cannot be read leaves the edit to fail on its write.
   */
  private editing<T>(task: () => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      await this.catchUp().catch((err: unknown) => this.opts.logger?.warn({ err }, 'stored configuration not re-read before an edit'));
      return task();
    });
  }

  /** One change at a time: each validates against the result of the one before. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

const REMOVE = Symbol('remove');

function mapFor(stored: Stored, kind: ConfigEntryKind): Map<string, unknown> {
  return kind === 'bot' ? stored.bots : kind === 'route' ? stored.routes : stored.providers;
}

function sameStored(a: Stored, b: Stored): boolean {
  const key = (s: Stored) => JSON.stringify([[...s.bots].sort(), [...s.routes].sort(), [...s.providers].sort()]);
  return key(a) === key(b);
}

function cloneStored(stored: Stored): Stored {
  return { bots: new Map(stored.bots), routes: new Map(stored.routes), providers: new Map(stored.providers) };
}

function withEntry(stored: Stored, kind: ConfigEntryKind, name: string, body: unknown) {
  const next = cloneStored(stored);
  mapFor(next, kind).set(name, body);
  return { stored: next, kind, name, body };
}

/** A file entry is hidden by a tombstone (null); an API-only entry is simply forgotten. */
function withoutEntry(stored: Stored, kind: ConfigEntryKind, name: string, inFile: boolean) {
  const next = cloneStored(stored);
  if (inFile) mapFor(next, kind).set(name, null);
  else mapFor(next, kind).delete(name);
  return { stored: next, kind, name, body: inFile ? null : REMOVE };
}

/** The file's list with stored entries replacing theirs in place, new ones appended, tombstones (null) removed. */
function overlay<T>(fromFile: readonly T[], stored: Map<string, unknown>, key: (item: T) => string): unknown[] {
  const out: unknown[] = fromFile.map((item) => (stored.has(key(item)) ? stored.get(key(item)) : item));
  const inFile = new Set(fromFile.map(key));
  for (const [name, body] of stored) if (!inFile.has(name)) out.push(body);
  return out.filter((item) => item !== null);
}

function withName(body: unknown, field: string, value: string): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RuntimeConfigError('(body): expected a JSON object', 400);
  const given = (body as Record<string, unknown>)[field];
  if (given !== undefined && given !== value) throw new RuntimeConfigError(`${field}: must match the URL ("${value}"), got ${JSON.stringify(given)}`, 400);
  return { ...body, [field]: value };
}

function restore(schema: z.ZodTypeAny, incoming: unknown, existing: unknown, prefix?: string): unknown {
  try {
    return restoreMaskedSecrets(schema, incoming, existing);
  } catch (err) {
    if (err instanceof MaskWithoutSecretError) throw new RuntimeConfigError(prefix ? `${prefix}.${err.message}` : err.message, 400);
    throw err;
  }
}

function maskBot(bot: BotConfig): BotConfig {
  return maskSecrets(botSchema, bot) as BotConfig;
}

/**
 * "field: message" per issue. Whole-config paths name bots and routes by name instead of list
 * index (bots.support.extends), since the API user never sees the merged list.
 */
function describeIssues(error: z.ZodError, merged?: Record<string, unknown>, prefix?: string): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map((part, i) => {
        if (merged && typeof part === 'number' && i === 1 && (issue.path[0] === 'bots' || issue.path[0] === 'routes')) {
          const item = (merged[issue.path[0]] as Record<string, unknown>[] | undefined)?.[part];
          const name = item?.[issue.path[0] === 'bots' ? 'name' : 'number'];
          return typeof name === 'string' ? name : part;
        }
        return part;
      });
      const field = [prefix, ...path].filter((p) => p !== undefined && p !== '').join('.');
      // Unknown fields are named themselves, not the object holding them.
      if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => `${field ? `${field}.` : ''}${k}: not a known field`).join('; ');
      return `${field || '(body)'}: ${issue.message}`;
    })
    .join('; ');
}

export type { ConfigEntry };
