import { type Kysely, type Migration } from 'kysely';

/**
 * Which gateway instance ran each call (`server.instanceId`), so a restarting instance ends only its
 * own interrupted calls when several share one PostgreSQL store. Rows from before this migration
 * have none: they were written when one process owned the store.
 */
export const callInstanceMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('calls').addColumn('instance_id', 'text').execute();
    await db.schema.createIndex('calls_unfinished_by_instance').on('calls').columns(['instance_id', 'ended_at']).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('calls_unfinished_by_instance').execute();
    await db.schema.alterTable('calls').dropColumn('instance_id').execute();
  },
};
