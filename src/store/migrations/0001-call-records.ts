import { sql, type Kysely, type Migration } from 'kysely';
import { addGeneratedId } from './column-helpers.js';

/** calls, transcript_lines, dtmf_events, prompts: the records every call leaves behind. */
export const callRecordsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('calls')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('carrier', 'text', (c) => c.notNull())
      .addColumn('carrier_call_id', 'text', (c) => c.notNull())
      .addColumn('direction', 'text', (c) => c.notNull())
      .addColumn('from_number', 'text', (c) => c.notNull())
      .addColumn('to_number', 'text', (c) => c.notNull())
      .addColumn('bot', 'text', (c) => c.notNull())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('answered_at', 'bigint')
      .addColumn('ended_at', 'bigint')
      .addColumn('duration_ms', 'bigint')
      .addColumn('hangup_cause', 'text')
      .addColumn('hangup_side', 'text')
      .addColumn('end_reason', 'text')
      .addCheckConstraint('calls_direction_check', sql`direction in ('inbound', 'outbound')`)
      .addCheckConstraint(
        'calls_hangup_side_check',
        sql`hangup_side is null or hangup_side in ('caller', 'gateway', 'carrier')`,
      )
      .execute();
    await db.schema.createIndex('calls_started_at_idx').on('calls').column('started_at').execute();
    await db.schema.createIndex('calls_carrier_call_id_idx').on('calls').column('carrier_call_id').execute();

    await addGeneratedId(db, db.schema.createTable('transcript_lines'))
      .addColumn('call_id', 'text', (c) => c.notNull().references('calls.id').onDelete('cascade'))
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('speaker', 'text', (c) => c.notNull())
      .addColumn('text', 'text', (c) => c.notNull())
      .addCheckConstraint('transcript_lines_speaker_check', sql`speaker in ('bot', 'caller', 'system')`)
      .execute();
    await db.schema.createIndex('transcript_lines_call_at_idx').on('transcript_lines').columns(['call_id', 'at']).execute();

    await addGeneratedId(db, db.schema.createTable('dtmf_events'))
      .addColumn('call_id', 'text', (c) => c.notNull().references('calls.id').onDelete('cascade'))
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('digit', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('dtmf_events_call_at_idx').on('dtmf_events').columns(['call_id', 'at']).execute();

    await addGeneratedId(db, db.schema.createTable('prompts'))
      .addColumn('call_id', 'text', (c) => c.notNull().references('calls.id').onDelete('cascade'))
      .addColumn('prompt_id', 'text', (c) => c.notNull())
      .addColumn('text', 'text', (c) => c.notNull())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('ended_at', 'bigint', (c) => c.notNull())
      .addColumn('heard_in_full', 'boolean', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('prompts_call_started_idx').on('prompts').columns(['call_id', 'started_at']).execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['prompts', 'dtmf_events', 'transcript_lines', 'calls']) {
      await db.schema.dropTable(table).execute();
    }
  },
};
