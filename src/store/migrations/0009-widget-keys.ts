import { type Kysely, type Migration } from 'kysely';

/**
 * Widget keys: the public credentials websites embed to call one bot from their pages (origins
 * allowed, per-key limits, revocation). The secret is kept only as a hash.
 */
export const widgetKeysMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('widget_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('bot', 'text', (c) => c.notNull())
      .addColumn('origins', 'text', (c) => c.notNull())
      .addColumn('max_concurrent_calls', 'integer', (c) => c.notNull())
      .addColumn('calls_per_minute', 'integer', (c) => c.notNull())
      .addColumn('secret_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .addColumn('last_used_at', 'bigint')
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('widget_keys').execute();
  },
};
