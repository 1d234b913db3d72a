/**
 * OAuth API clients in the store (`oauth_clients`). The secret is generated here, returned once by
 * `create`, and kept only as a scrypt hash; nothing this repository returns carries the secret or
 * its hash, except `findForAuthentication`, which the token endpoint alone uses.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../../runtime/clock.js';
import { systemClock } from '../../runtime/clock.js';
import type { VoxgateDatabase } from '../../store/schema.js';
import { isScope, normalizeScopes, unknownScopes, type Scope } from './scopes.js';
import { hashSecret } from './secret-hash.js';

/** What may be shown about a client: never the secret or its hash. */
export interface OAuthClientInfo {
  clientId: string;
  name: string;
  scopes: Scope[];
  createdAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export interface CreatedOAuthClient {
  client: OAuthClientInfo;
  /** Shown once; only its hash is stored. */
  clientSecret: string;
}

/** Bad input to the repository; the message names the field. */
export class OAuthClientInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OAuthClientInputError';
  }
}

const NAME_MAX = 100;

export class OAuthClientRepository {
  constructor(
    private readonly db: Kysely<VoxgateDatabase>,
    private readonly clock: Clock = systemClock,
  ) {}

  async create(input: { name: string; scopes: readonly string[] }): Promise<CreatedOAuthClient> {
    const name = input.name.trim();
    if (!name || name.length > NAME_MAX) throw new OAuthClientInputError(`name: expected 1 to ${NAME_MAX} characters`);
    const unknown = unknownScopes(input.scopes);
    if (unknown.length > 0) throw new OAuthClientInputError(`scopes: unknown scope ${unknown.map((s) => JSON.stringify(s)).join(', ')}`);
    const scopes = normalizeScopes(input.scopes.filter(isScope));
    if (scopes.length === 0) throw new OAuthClientInputError('scopes: expected at least one scope');

    const clientId = `vgc_${randomBytes(12).toString('hex')}`;
    const clientSecret = randomBytes(32).toString('base64url');
    const createdAt = this.clock.now();
    await this.db
      .insertInto('oauth_clients')
      .values({ client_id: clientId, name, secret_hash: await hashSecret(clientSecret), scopes: JSON.stringify(scopes), created_at: createdAt, revoked_at: null, last_used_at: null })
      .execute();
    return { client: { clientId, name, scopes, createdAt, revokedAt: null, lastUsedAt: null }, clientSecret };
  }

  /** Every client, oldest first, revoked ones included (with their revocation time). */
  async list(): Promise<OAuthClientInfo[]> {
    const rows = await this.db
      .selectFrom('oauth_clients')
      .select(['client_id', 'name', 'scopes', 'created_at', 'revoked_at', 'last_used_at'])
      .orderBy('created_at')
      .orderBy('client_id')
      .execute();
    return rows.map(toInfo);
  }

  async get(clientId: string): Promise<OAuthClientInfo | undefined> {
    const row = await this.db
      .selectFrom('oauth_clients')
      .select(['client_id', 'name', 'scopes', 'created_at', 'revoked_at', 'last_used_at'])
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    return row && toInfo(row);
  }

  /** The client and its secret hash, for checking a presented secret. */
  async findForAuthentication(clientId: string): Promise<{ client: OAuthClientInfo; secretHash: string } | undefined> {
    const row = await this.db.selectFrom('oauth_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
    return row && { client: toInfo(row), secretHash: row.secret_hash };
  }

  /** Marks the client revoked (its tokens stop working); a client already revoked keeps its first revocation time. */
  async revoke(clientId: string): Promise<OAuthClientInfo | undefined> {
    await this.db.updateTable('oauth_clients').set({ revoked_at: this.clock.now() }).where('client_id', '=', clientId).where('revoked_at', 'is', null).execute();
    return this.get(clientId);
  }

  async markUsed(clientId: string): Promise<void> {
    await this.db.updateTable('oauth_clients').set({ last_used_at: this.clock.now() }).where('client_id', '=', clientId).execute();
  }
}

function toInfo(row: { client_id: string; name: string; scopes: string; created_at: number; revoked_at: number | null; last_used_at: number | null }): OAuthClientInfo {
  return {
    clientId: row.client_id,
    name: row.name,
    scopes: parseStoredScopes(row.scopes),
    createdAt: Number(row.created_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  };
}

/** Scopes no longer known to this version are dropped rather than failing the whole client. */
function parseStoredScopes(text: string): Scope[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? normalizeScopes(value.filter(isScope)) : [];
  } catch {
    return [];
  }
}
