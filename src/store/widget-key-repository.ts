/**
 * Widget keys in the store (`widget_keys`): the public credentials a website embeds to call one bot
 * from its pages. The credential is `vxw_<id>.<secret>`; `create` returns it once, and only a hash of
 * the secret is kept. Nothing this repository returns carries the secret or its hash, except
 * `findForVerification`, which the widget access checks alone use.
 *
 * Why SHA-256 and not the scrypt of API client secrets (src/api/auth/secret-hash.ts): scrypt makes a
 * human-chosen or short secret expensive to guess from a stolen hash. A widget key's secret is 256
 * random bits, so no guessing is possible whatever the hash costs, and the key is checked on every
 * call a page starts (bursts of them): a plain SHA-256 is enough and costs microseconds.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Clock } from '../runtime/clock.js';
import { systemClock } from '../runtime/clock.js';
import type { VoxgateDatabase, WidgetKeysTable } from './schema.js';

export const WIDGET_CREDENTIAL_PREFIX = 'vxw_';

export const WIDGET_KEY_LIMITS = {
  nameMax: 100,
  originsMax: 50,
  maxConcurrentCalls: { default: 5, max: 1000 },
  callsPerMinute: { default: 20, max: 10_000 },
} as const;

/** What may be shown about a key: never the secret or its hash. */
export interface WidgetKeyInfo {
  id: string;
  name: string;
  bot: string;
  origins: string[];
  maxConcurrentCalls: number;
  callsPerMinute: number;
  createdAt: number;
  updatedAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export interface CreatedWidgetKey {
  key: WidgetKeyInfo;
  /** `vxw_<id>.<secret>`: shown once; only the secret's hash is stored. */
  secret: string;
}

/**
 * An origin exactly as browsers send it (`scheme://host[:port]`, lower case, no default port, no
 * path): the Origin header is compared with the stored text as it is, so anything else would never match.
 */
export const exactOrigin = z.string().superRefine((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${text}" is not a URL: expected scheme://host[:port]` });
    return;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${text}" is not a web origin: expected http:// or https://` });
    return;
  }
  if (url.origin !== text) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${text}" is not an exact origin: write it as ${url.origin} (scheme://host[:port], no path, no trailing slash)` });
});

const fields = {
  name: z.string().trim().min(1).max(WIDGET_KEY_LIMITS.nameMax),
  bot: z.string().trim().min(1).max(200),
  origins: z
    .array(exactOrigin)
    .min(1, 'expected at least one origin')
    .max(WIDGET_KEY_LIMITS.originsMax)
    .transform((list) => [...new Set(list)]),
  maxConcurrentCalls: z.number().int().min(1).max(WIDGET_KEY_LIMITS.maxConcurrentCalls.max),
  callsPerMinute: z.number().int().min(1).max(WIDGET_KEY_LIMITS.callsPerMinute.max),
};

/** A new key, as the API and the CLI take it (whether the bot exists is for the caller to check). */
export const widgetKeyCreateSchema = z
  .object({
    name: fields.name,
    bot: fields.bot,
    origins: fields.origins,
    maxConcurrentCalls: fields.maxConcurrentCalls.default(WIDGET_KEY_LIMITS.maxConcurrentCalls.default),
    callsPerMinute: fields.callsPerMinute.default(WIDGET_KEY_LIMITS.callsPerMinute.default),
  })
  .strict();
export type WidgetKeyCreate = z.infer<typeof widgetKeyCreateSchema>;

/** An edit: any of the fields; the secret stays. */
export const widgetKeyUpdateSchema = z
  .object({ name: fields.name, bot: fields.bot, origins: fields.origins, maxConcurrentCalls: fields.maxConcurrentCalls, callsPerMinute: fields.callsPerMinute })
  .partial()
  .strict()
  .refine((edit) => Object.keys(edit).length > 0, 'expected at least one of name, bot, origins, maxConcurrentCalls, callsPerMinute');
export type WidgetKeyUpdate = z.infer<typeof widgetKeyUpdateSchema>;

/** An edit refused because the key was revoked (a revoked key stays revoked; create a new one). */
export class WidgetKeyRevokedError extends Error {
  constructor(readonly keyId: string) {
    super(`widget key ${keyId} was revoked; create a new key instead`);
    this.name = 'WidgetKeyRevokedError';
  }
}

/** The parts of a presented credential, or undefined when it is not shaped like one. */
export function parseWidgetCredential(credential: string): { keyId: string; secret: string } | undefined {
  const match = /^vxw_([A-Za-z0-9_-]{8,64})\.([A-Za-z0-9_-]{20,128})$/.exec(credential);
  return match ? { keyId: match[1], secret: match[2] } : undefined;
}

export function hashWidgetSecret(secret: string): string {
  return `sha256$${createHash('sha256').update(secret).digest('base64url')}`;
}

/** Constant-time: compares the hashes (equal length), never the secrets themselves. */
export function widgetSecretMatches(secret: string, storedHash: string): boolean {
  const actual = Buffer.from(hashWidgetSecret(secret));
  const expected = Buffer.from(storedHash);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

type Listener = (keyId: string) => void;

export class WidgetKeyRepository {
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly db: Kysely<VoxgateDatabase>,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Called with the key's id after every edit or revocation through this repository (caches drop it). */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  async create(input: WidgetKeyCreate): Promise<CreatedWidgetKey> {
    const valid = widgetKeyCreateSchema.parse(input);
    const id = randomBytes(12).toString('base64url');
    const secret = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    await this.db
      .insertInto('widget_keys')
      .values({
        id,
        name: valid.name,
        bot: valid.bot,
        origins: JSON.stringify(valid.origins),
        max_concurrent_calls: valid.maxConcurrentCalls,
        calls_per_minute: valid.callsPerMinute,
        secret_hash: hashWidgetSecret(secret),
        created_at: now,
        updated_at: now,
        revoked_at: null,
        last_used_at: null,
      })
      .execute();
    const key = (await this.get(id))!;
    return { key, secret: `${WIDGET_CREDENTIAL_PREFIX}${id}.${secret}` };
  }

  /** Every key, oldest first, revoked ones included. */
  async list(): Promise<WidgetKeyInfo[]> {
    const rows = await this.db.selectFrom('widget_keys').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toInfo);
  }

  async get(id: string): Promise<WidgetKeyInfo | undefined> {
    const row = await this.db.selectFrom('widget_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toInfo(row);
  }

  /** Applies an edit; undefined for an unknown id; WidgetKeyRevokedError for a revoked key. */
  async update(id: string, edit: WidgetKeyUpdate): Promise<WidgetKeyInfo | undefined> {
    const valid = widgetKeyUpdateSchema.parse(edit);
    const current = await this.get(id);
    if (!current) return undefined;
    if (current.revokedAt !== null) throw new WidgetKeyRevokedError(id);
    await this.db
      .updateTable('widget_keys')
      .set({
        ...(valid.name !== undefined && { name: valid.name }),
        ...(valid.bot !== undefined && { bot: valid.bot }),
        ...(valid.origins !== undefined && { origins: JSON.stringify(valid.origins) }),
        ...(valid.maxConcurrentCalls !== undefined && { max_concurrent_calls: valid.maxConcurrentCalls }),
        ...(valid.callsPerMinute !== undefined && { calls_per_minute: valid.callsPerMinute }),
        updated_at: this.clock.now(),
      })
      .where('id', '=', id)
      .execute();
    this.changed(id);
    return this.get(id);
  }

  /** Marks the key revoked (its pages' calls are refused); a key already revoked keeps its first revocation time. */
  async revoke(id: string): Promise<WidgetKeyInfo | undefined> {
    const now = this.clock.now();
    await this.db.updateTable('widget_keys').set({ revoked_at: now, updated_at: now }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    const key = await this.get(id);
    if (key) this.changed(id);
    return key;
  }

  /** The key a credential names when its secret matches (revoked keys included: the caller says why it refuses). */
  async verify(credential: string): Promise<WidgetKeyInfo | undefined> {
    const parts = parseWidgetCredential(credential);
    if (!parts) return undefined;
    const found = await this.findForVerification(parts.keyId);
    return found && widgetSecretMatches(parts.secret, found.secretHash) ? found.key : undefined;
  }

  /** The key and its secret hash, for checking a presented secret (the access checks cache this). */
  async findForVerification(id: string): Promise<{ key: WidgetKeyInfo; secretHash: string } | undefined> {
    const row = await this.db.selectFrom('widget_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row && { key: toInfo(row), secretHash: row.secret_hash };
  }

  /** The origins of every active key, for CORS preflights that carry no credential. */
  async activeOrigins(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('widget_keys').select('origins').where('revoked_at', 'is', null).execute();
    return new Set(rows.flatMap((row) => parseOrigins(row.origins)));
  }

  async markUsed(id: string): Promise<void> {
    await this.db.updateTable('widget_keys').set({ last_used_at: this.clock.now() }).where('id', '=', id).execute();
  }

  private changed(id: string): void {
    for (const listener of this.listeners) listener(id);
  }
}

function toInfo(row: WidgetKeysTable): WidgetKeyInfo {
  const time = (ms: number | null) => (ms === null ? null : Number(ms));
  return {
    id: row.id,
    name: row.name,
    bot: row.bot,
    origins: parseOrigins(row.origins),
    maxConcurrentCalls: Number(row.max_concurrent_calls),
    callsPerMinute: Number(row.calls_per_minute),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    revokedAt: time(row.revoked_at),
    lastUsedAt: time(row.last_used_at),
  };
}

/** A damaged list allows no origin rather than failing every key. */
function parseOrigins(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((o): o is string => typeof o === 'string') : [];
  } catch {
    return [];
  }
}
