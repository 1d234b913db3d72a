import { SqliteAdapter, type CreateTableBuilder, type Kysely } from 'kysely';

/** True when the migration runs against SQLite; the one place a migration may branch on dialect. */
export function isSqlite(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof SqliteAdapter;
}

/**
 * Adds a database-generated `id` primary key. SQLite's INTEGER PRIMARY KEY is the rowid (no
 * AUTOINCREMENT bookkeeping needed); PostgreSQL gets a BIGINT identity column.
 */
export function addGeneratedId<T extends string>(
  db: Kysely<unknown>,
  table: CreateTableBuilder<T, never>,
): CreateTableBuilder<T, 'id'> {
  return isSqlite(db)
    ? table.addColumn('id', 'integer', (c) => c.primaryKey())
    : table.addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity());
}
