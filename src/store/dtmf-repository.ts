import type { Kysely } from 'kysely';
import { requireEpochMs, requireText, StoreInputError } from './input-checks.js';
import type { DtmfRecord, VoxgateDatabase } from './schema.js';

export interface NewDtmfEvent {
  callId: string;
  at: number;
  digit: string;
}

const DTMF_DIGIT = /^[0-9*#A-D]$/;

/** Keys the caller pressed. */
export class DtmfRepository {
  constructor(private readonly db: Kysely<VoxgateDatabase>) {}

  async add(event: NewDtmfEvent): Promise<number> {
    const what = 'dtmf event';
    if (typeof event.digit !== 'string' || !DTMF_DIGIT.test(event.digit)) {
      throw new StoreInputError(`${what}: digit must be one of 0-9 * # A-D, got ${JSON.stringify(event.digit)}`);
    }
    const row = await this.db
      .insertInto('dtmf_events')
      .values({
        call_id: requireText(what, 'callId', event.callId),
        at: requireEpochMs(what, 'at', event.at),
        digit: event.digit,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async listForCall(callId: string): Promise<DtmfRecord[]> {
    const rows = await this.db
      .selectFrom('dtmf_events')
      .selectAll()
      .where('call_id', '=', callId)
      .orderBy('at')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ id: Number(r.id), callId: r.call_id, at: Number(r.at), digit: r.digit }));
  }
}
