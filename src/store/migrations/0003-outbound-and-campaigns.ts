import { sql, type Kysely, type Migration } from 'kysely';
import { addGeneratedId } from './column-helpers.js';

/**
 * Outbound calls, campaigns and status-callback delivery. Campaign state lives here so a restart
 * resumes where it stopped; the unique (contact, attempt_no) key is what makes an attempt dialed at
 * most once, whatever crashes or how many processes share the campaign.
 */
export const outboundAndCampaignsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('outbound_calls')
      .addColumn('conversation_id', 'text', (c) => c.primaryKey())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('bot', 'text')
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('caller', 'text', (c) => c.notNull())
      .addColumn('carrier_request_id', 'text')
      .addColumn('notify_url', 'text')
      .addColumn('request', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('reason_code', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('outbound_calls_request_idx').on('outbound_calls').column('carrier_request_id').execute();

    await db.schema
      .createTable('campaigns')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('definition', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addCheckConstraint('campaigns_status_check', sql`status in ('running', 'paused', 'cancelled', 'completed')`)
      .execute();

    await addGeneratedId(db, db.schema.createTable('campaign_contacts'))
      .addColumn('campaign_id', 'text', (c) => c.notNull().references('campaigns.id').onDelete('cascade'))
      .addColumn('position', 'integer', (c) => c.notNull())
      .addColumn('phone', 'text', (c) => c.notNull())
      .addColumn('name', 'text')
      .addColumn('timezone', 'text')
      .addColumn('variables', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text')
      .addColumn('attempts_made', 'integer', (c) => c.notNull())
      .addColumn('next_attempt_at', 'bigint')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('campaign_contacts_position_unique', ['campaign_id', 'position'])
      .execute();
    await db.schema.createIndex('campaign_contacts_due_idx').on('campaign_contacts').columns(['campaign_id', 'status', 'next_attempt_at']).execute();

    await addGeneratedId(db, db.schema.createTable('campaign_attempts'))
      .addColumn('campaign_id', 'text', (c) => c.notNull().references('campaigns.id').onDelete('cascade'))
      .addColumn('contact_id', 'bigint', (c) => c.notNull().references('campaign_contacts.id').onDelete('cascade'))
      .addColumn('attempt_no', 'integer', (c) => c.notNull())
      .addColumn('conversation_id', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text')
      .addColumn('dtmf', 'text')
      .addColumn('detail', 'text')
      .addColumn('owner', 'text')
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('ended_at', 'bigint')
      .addUniqueConstraint('campaign_attempts_once', ['contact_id', 'attempt_no'])
      .execute();
    await db.schema.createIndex('campaign_attempts_campaign_idx').on('campaign_attempts').columns(['campaign_id', 'status']).execute();
    await db.schema.createIndex('campaign_attempts_conversation_idx').on('campaign_attempts').column('conversation_id').execute();

    await addGeneratedId(db, db.schema.createTable('callback_outbox'))
      .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('delivered_at', 'bigint')
      .execute();
    await db.schema.createIndex('callback_outbox_due_idx').on('callback_outbox').columns(['status', 'next_attempt_at']).execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['callback_outbox', 'campaign_attempts', 'campaign_contacts', 'campaigns', 'outbound_calls']) await db.schema.dropTable(table).execute();
  },
};
