import { type Kysely, type Migration } from 'kysely';

/**
 * Whether a recording file is whole: `complete` (stopped normally), `partial` (cut short by a
 * write error or a crash; the file holds what was written, with a valid header) or `failed` (no
 * usable file; `error` says why). Rows from before this migration were all complete.
 */
export const recordingStatusMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('recordings').addColumn('status', 'text', (c) => c.notNull().defaultTo('complete')).execute();
    await db.schema.alterTable('recordings').addColumn('error', 'text').execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const column of ['error', 'status']) await db.schema.alterTable('recordings').dropColumn(column).execute();
  },
};
