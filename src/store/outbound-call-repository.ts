import type { Kysely } from 'kysely';
import { requireEpochMs, requireText } from './input-checks.js';
import type { VoxgateDatabase } from './schema.js';

export interface OutboundCallRow {
  conversationId: string;
  source: string;
  bot: string | null;
  target: string;
  caller: string;
  carrierRequestId: string | null;
  notifyUrl: string | null;
  request: unknown;
  status: string;
  reasonCode: string | null;
  createdAt: number;
  updatedAt: number;
}

/** Calls Voxgate placed: what was asked, and how far each got (the call record itself is in `calls`). */
export class OutboundCallRepository {
  constructor(private readonly db: Kysely<VoxgateDatabase>) {}

  async insert(row: Omit<OutboundCallRow, 'updatedAt' | 'carrierRequestId' | 'reasonCode'>): Promise<void> {
    const what = 'outbound call';
    await this.db
      .insertInto('outbound_calls')
      .values({
        conversation_id: requireText(what, 'conversationId', row.conversationId),
        source: requireText(what, 'source', row.source),
        bot: row.bot,
        target: requireText(what, 'target', row.target),
        caller: requireText(what, 'caller', row.caller),
        carrier_request_id: null,
        notify_url: row.notifyUrl,
        request: JSON.stringify(row.request),
        status: requireText(what, 'status', row.status),
        reason_code: null,
        created_at: requireEpochMs(what, 'createdAt', row.createdAt),
        updated_at: row.createdAt,
      })
      .execute();
  }

  async update(conversationId: string, change: { status?: string; reasonCode?: string | null; carrierRequestId?: string }, at: number): Promise<void> {
    await this.db
      .updateTable('outbound_calls')
      .set({
        ...(change.status ? { status: change.status } : {}),
        ...(change.reasonCode !== undefined ? { reason_code: change.reasonCode } : {}),
        ...(change.carrierRequestId ? { carrier_request_id: change.carrierRequestId } : {}),
        updated_at: requireEpochMs('outbound call', 'updatedAt', at),
      })
      .where('conversation_id', '=', conversationId)
      .execute();
  }

  async get(conversationId: string): Promise<OutboundCallRow | undefined> {
    const r = await this.db.selectFrom('outbound_calls').selectAll().where('conversation_id', '=', conversationId).executeTakeFirst();
    if (!r) return undefined;
    return {
      conversationId: r.conversation_id,
      source: r.source,
      bot: r.bot,
      target: r.target,
      caller: r.caller,
      carrierRequestId: r.carrier_request_id,
      notifyUrl: r.notify_url,
      request: JSON.parse(r.request) as unknown,
      status: r.status,
      reasonCode: r.reason_code,
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
    };
  }
}
