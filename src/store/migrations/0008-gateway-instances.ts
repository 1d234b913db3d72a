import { type Kysely, type Migration } from 'kysely';

/**
 * The gateway instances sharing a store and when each last said it was alive: an instance whose
 * heartbeat stopped is dead, and a live sibling ends the calls it left open.
 */
export const gatewayInstancesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('gateway_instances')
      .addColumn('instance_id', 'text', (c) => c.primaryKey())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('gateway_instances').execute();
  },
};
