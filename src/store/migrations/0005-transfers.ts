import { type Kysely, type Migration } from 'kysely';

/** Where a call was transferred, how and why: the CDR's transfer fields (seed 004, 6.13.1). */
export const transfersMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('calls').addColumn('transfer_target', 'text').execute();
    await db.schema.alterTable('calls').addColumn('transfer_mode', 'text').execute();
    await db.schema.alterTable('calls').addColumn('transfer_reason', 'text').execute();
    await db.schema.alterTable('calls').addColumn('transferred_at', 'bigint').execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const column of ['transferred_at', 'transfer_reason', 'transfer_mode', 'transfer_target']) await db.schema.alterTable('calls').dropColumn(column).execute();
  },
};
