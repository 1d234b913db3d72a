import type { Kysely, Migration } from 'kysely';
import { addGeneratedId } from './column-helpers.js';

/**
 * turns: one row per conversational turn with its timestamps and latencies, so a slow turn can be
 * explained (STT final -> bot answer -> first TTS audio). recordings: the WAV files of a call.
 */
export const turnsAndRecordingsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await addGeneratedId(db, db.schema.createTable('turns'))
      .addColumn('call_id', 'text', (c) => c.notNull().references('calls.id').onDelete('cascade'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('input_kind', 'text', (c) => c.notNull())
      .addColumn('input_text', 'text')
      .addColumn('speech_ended_at', 'bigint')
      .addColumn('input_at', 'bigint', (c) => c.notNull())
      .addColumn('bot_sent_at', 'bigint')
      .addColumn('bot_answered_at', 'bigint')
      .addColumn('first_audio_at', 'bigint')
      .addColumn('stt_ms', 'integer')
      .addColumn('bot_ms', 'integer')
      .addColumn('tts_ms', 'integer')
      .addColumn('e2e_ms', 'integer')
      .addColumn('stt_provider', 'text')
      .addColumn('tts_provider', 'text')
      .addColumn('bot', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('error', 'text')
      .execute();
    await db.schema.createIndex('turns_call_seq_idx').on('turns').columns(['call_id', 'seq']).execute();

    await addGeneratedId(db, db.schema.createTable('recordings'))
      .addColumn('call_id', 'text', (c) => c.notNull().references('calls.id').onDelete('cascade'))
      .addColumn('path', 'text', (c) => c.notNull())
      .addColumn('format', 'text', (c) => c.notNull())
      .addColumn('sample_rate', 'integer', (c) => c.notNull())
      .addColumn('channels', 'integer', (c) => c.notNull())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('ended_at', 'bigint', (c) => c.notNull())
      .addColumn('duration_ms', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('recordings_call_idx').on('recordings').column('call_id').execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['recordings', 'turns']) await db.schema.dropTable(table).execute();
  },
};
