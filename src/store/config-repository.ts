/**
 * Configuration edited at run time (bots, providers, routes) and management settings (retention).
 * Bodies are JSON validated by the runtime's own schemas before they get here; this layer stores
 * them, sealed with the cipher when one is given (they can hold vendor keys).
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { requireEpochMs, requireOneOf, requireText } from './input-checks.js';
import type { VoxgateDatabase } from './schema.js';
import { ConfigCipherError, type ConfigCipher } from './config-cipher.js';

export type ConfigEntryKind = 'bot' | 'provider' | 'route';
const KINDS: readonly ConfigEntryKind[] = ['bot', 'provider', 'route'];

export interface ConfigEntry {
  kind: ConfigEntryKind;
  name: string;
  /** The stored JSON value; `null` marks an entry deleted over the configuration file (a tombstone). */
  body: unknown;
  updatedAt: number;
}

/** Stored in place of a body when an entry of the configuration file is deleted through the API. */
const TOMBSTONE = { $deleted: true };

export class ConfigRepository {
  constructor(
    private readonly db: Kysely<VoxgateDatabase>,
    /** Seals entry bodies at rest; rows stored before a cipher was configured are still read. */
    private readonly cipher?: ConfigCipher,
  ) {}

  async list(kind?: ConfigEntryKind): Promise<ConfigEntry[]> {
    let select = this.db.selectFrom('config_entries').selectAll();
    if (kind !== undefined) select = select.where('kind', '=', requireOneOf('config entry', 'kind', kind, KINDS));
    const rows = await select.orderBy('kind').orderBy('name').execute();
    return rows.map((r) => {
      const body = this.open(r.body, `config entry ${r.kind} ${r.name}`);
      return { kind: r.kind as ConfigEntryKind, name: r.name, body: isTombstone(body) ? null : body, updatedAt: Number(r.updated_at) };
    });
  }

  /**
   * A digest of every entry's kind, name and update time, without reading the bodies: it moves
   * whenever an entry is written or removed (another process sharing the store edited it).
   */
  async version(): Promise<string> {
    const rows = await this.db.selectFrom('config_entries').select(['kind', 'name', 'updated_at']).orderBy('kind').orderBy('name').execute();
    return createHash('sha256')
      .update(JSON.stringify(rows.map((r) => [r.kind, r.name, Number(r.updated_at)])))
      .digest('hex');
  }

  /** Creates or replaces an entry; `body: null` stores a tombstone (the file's entry stays hidden). */
  async put(kind: ConfigEntryKind, name: string, body: unknown, at: number): Promise<void> {
    const what = 'config entry';
    const values = {
      kind: requireOneOf(what, 'kind', kind, KINDS),
      name: requireText(what, 'name', name),
      body: this.seal(JSON.stringify(body === null ? TOMBSTONE : body)),
      updated_at: requireEpochMs(what, 'updatedAt', at),
    };
    await this.db
      .insertInto('config_entries')
      .values(values)
      .onConflict((oc) => oc.columns(['kind', 'name']).doUpdateSet({ body: values.body, updated_at: values.updated_at }))
      .execute();
  }

  /** Forgets an entry (the configuration file's value, if any, applies again). */
  async remove(kind: ConfigEntryKind, name: string): Promise<boolean> {
    const result = await this.db.deleteFrom('config_entries').where('kind', '=', kind).where('name', '=', name).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  private seal(json: string): string {
    return this.cipher ? JSON.stringify({ $sealed: this.cipher.encrypt(json) }) : json;
  }

  private open(stored: string, what: string): unknown {
    const value = JSON.parse(stored) as unknown;
    if (typeof value === 'object' && value !== null && typeof (value as { $sealed?: unknown }).$sealed === 'string') {
      if (!this.cipher) throw new ConfigCipherError(`${what} is encrypted and no secrets key is configured (VOXGATE_SECRETS_KEY)`);
      return JSON.parse(this.cipher.decrypt((value as { $sealed: string }).$sealed, what)) as unknown;
    }
    return value;
  }

  async getSetting<T>(key: string): Promise<T | undefined> {
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  async putSetting(key: string, value: unknown, at: number): Promise<void> {
    const values = { key: requireText('setting', 'key', key), value: JSON.stringify(value), updated_at: requireEpochMs('setting', 'updatedAt', at) };
    await this.db
      .insertInto('settings')
      .values(values)
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: values.value, updated_at: values.updated_at }))
      .execute();
  }
}

function isTombstone(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as Record<string, unknown>).$deleted === true;
}
