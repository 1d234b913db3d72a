/**
 * The HS256 key access tokens are signed with. Configured, or generated once and kept in the
 * store's `settings` (key `oauth.signingKey`), so tokens survive a restart and every process on
 * the same database accepts the tokens any of them issued.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { VoxgateDatabase } from '../../store/schema.js';

export const SIGNING_KEY_SETTING = 'oauth.signingKey';
const KEY_BYTES = 32;

export class SigningKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SigningKeyError';
  }
}

/** A configured key: at least 32 bytes (HS256 wants a key as long as the hash). */
export function signingKeyFromSecret(secret: string): Uint8Array {
  const key = Buffer.from(secret, 'utf8');
  if (key.length < KEY_BYTES) throw new SigningKeyError(`api.oauth.signingKey: expected at least ${KEY_BYTES} characters, got ${key.length}`);
  return new Uint8Array(key);
}

export async function loadOrCreateSigningKey(db: Kysely<VoxgateDatabase>, now: number = Date.now()): Promise<Uint8Array> {
  const existing = await readKey(db);
  if (existing) return existing;
  const generated = randomBytes(KEY_BYTES).toString('base64url');
  // Two processes starting together: the first insert wins and both read back the same key.
  await db
    .insertInto('settings')
    .values({ key: SIGNING_KEY_SETTING, value: JSON.stringify(generated), updated_at: now })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const stored = await readKey(db);
  if (!stored) throw new SigningKeyError(`settings ${SIGNING_KEY_SETTING}: could not be stored`);
  return stored;
}

async function readKey(db: Kysely<VoxgateDatabase>): Promise<Uint8Array | undefined> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', SIGNING_KEY_SETTING).executeTakeFirst();
  if (!row) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(row.value);
  } catch {
    value = undefined;
  }
  const key = typeof value === 'string' ? Buffer.from(value, 'base64url') : Buffer.alloc(0);
  if (key.length < KEY_BYTES) throw new SigningKeyError(`settings ${SIGNING_KEY_SETTING}: expected a base64url string of ${KEY_BYTES} bytes`);
  return new Uint8Array(key);
}
