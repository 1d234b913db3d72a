import { sql, type Kysely } from 'kysely';
import type { CallDirection, HangupSide } from '../events/call-events.js';
import { requireEpochMs, requireOneOf, requireString, requireText, StoreInputError } from './input-checks.js';
import type { CallRecord, CallRow, VoxgateDatabase } from './schema.js';

export interface CallStart {
  id: string;
  carrier: string;
  carrierCallId: string;
  direction: CallDirection;
  from: string;
  to: string;
  bot: string;
  startedAt: number;
  /** The gateway instance running the call. */
  instanceId?: string;
}

export interface CallEnd {
  endedAt: number;
  hangupCause: string;
  hangupSide: HangupSide;
  endReason: string;
  /** The carrier's talk-time figure; when absent, answer-to-end time is stored (0 if never answered). */
  durationMs?: number;
}

/** What `complete` did: ended the call now, found it already ended (first end kept), or found no such call. */
export type CompleteOutcome = 'completed' | 'already-ended' | 'unknown-call';

export interface CallListQuery {
  /** Page size, 1 to 1000; default 50. */
  limit?: number;
  /** Only calls started strictly before this epoch-ms time (keyset cursor: pass the last page's oldest startedAt). */
  before?: number;
  /**
   * With `before`: the last page's oldest call id, so calls sharing that exact startedAt are not
   * skipped (campaigns start many calls in one millisecond). Pages continue from (before, beforeId).
   */
  beforeId?: string;
}

/** History filters of the management API; every field narrows the result, absent fields do not. */
export interface CallSearch {
  /** Started at or after this epoch-ms time. */
  from?: number;
  /** Started strictly before this epoch-ms time. */
  to?: number;
  /** The caller or the called number; a leading "+" is optional. */
  number?: string;
  bot?: string;
  direction?: CallDirection;
  /** Why the conversation ended (end reason) or the carrier's hangup cause. */
  reason?: string;
  minDurationMs?: number;
  maxDurationMs?: number;
  /** Page size, 1 to 1000; default 50. */
  limit?: number;
  /** Continue after this call of the previous page (newest first, ties broken by id). */
  after?: { startedAt: number; id: string };
}

const DIRECTIONS: readonly CallDirection[] = ['inbound', 'outbound'];
const HANGUP_SIDES: readonly HangupSide[] = ['caller', 'gateway', 'carrier'];
export const MAX_CALL_PAGE = 1000;

/** Call detail records: one row per call, written at start, answer and end. */
export class CallRepository {
  constructor(private readonly db: Kysely<VoxgateDatabase>) {}

  async insertStarted(call: CallStart): Promise<void> {
    const what = 'call start';
    await this.db
      .insertInto('calls')
      .values({
        id: requireText(what, 'id', call.id),
        carrier: requireText(what, 'carrier', call.carrier),
        carrier_call_id: requireString(what, 'carrierCallId', call.carrierCallId),
        direction: requireOneOf(what, 'direction', call.direction, DIRECTIONS),
        from_number: requireString(what, 'from', call.from),
        to_number: requireString(what, 'to', call.to),
        bot: requireString(what, 'bot', call.bot),
        started_at: requireEpochMs(what, 'startedAt', call.startedAt),
        instance_id: call.instanceId ?? null,
      })
      .execute();
  }

  /** Records the first answer; a repeated answer event keeps the first time. Returns false when nothing changed. */
  async markAnswered(id: string, answeredAt: number): Promise<boolean> {
    const at = requireEpochMs('call answer', 'answeredAt', answeredAt);
    const result = await this.db
      .updateTable('calls')
      .set({ answered_at: at })
      .where('id', '=', requireText('call answer', 'id', id))
      .where('answered_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /**
   * Ends a call. Idempotent: the WHERE ended_at IS NULL makes the first end win even when two
   * writers (or two processes sharing PostgreSQL) race.
   */
  async complete(id: string, end: CallEnd): Promise<CompleteOutcome> {
    const what = 'call end';
    requireText(what, 'id', id);
    const endedAt = requireEpochMs(what, 'endedAt', end.endedAt);
    if (end.durationMs !== undefined && (!Number.isFinite(end.durationMs) || end.durationMs < 0)) {
      throw new StoreInputError(`${what}: durationMs must be a non-negative number of milliseconds, got ${end.durationMs}`);
    }
    const duration =
      end.durationMs !== undefined
        ? sql<number>`${Math.round(end.durationMs)}`
        : sql<number>`case when answered_at is null then 0 else ${endedAt} - answered_at end`;
    const result = await this.db
      .updateTable('calls')
      .set({
        ended_at: endedAt,
        hangup_cause: requireString(what, 'hangupCause', end.hangupCause),
        hangup_side: requireOneOf(what, 'hangupSide', end.hangupSide, HANGUP_SIDES),
        end_reason: requireString(what, 'endReason', end.endReason),
        duration_ms: duration,
      })
      .where('id', '=', id)
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    if (result.numUpdatedRows > 0n) return 'completed';
    const existing = await this.db.selectFrom('calls').select('id').where('id', '=', id).executeTakeFirst();
    return existing ? 'already-ended' : 'unknown-call';
  }

  /** Records the call's transfer (the first one: a call is handed over once). */
  async markTransferred(id: string, transfer: { at: number; target: string; mode: string; reason?: string }): Promise<boolean> {
    const what = 'call transfer';
    const result = await this.db
      .updateTable('calls')
      .set({
        transferred_at: requireEpochMs(what, 'at', transfer.at),
        transfer_target: requireText(what, 'target', transfer.target),
        transfer_mode: requireText(what, 'mode', transfer.mode),
        transfer_reason: transfer.reason ?? null,
      })
      .where('id', '=', requireText(what, 'id', id))
      .where('transferred_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async get(id: string): Promise<CallRecord | undefined> {
    const row = await this.db.selectFrom('calls').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toCallRecord(row);
  }

  /** The call a carrier knows by this id (the most recent one, should a carrier ever reuse ids). */
  async getByCarrierCallId(carrierCallId: string, carrier?: string): Promise<CallRecord | undefined> {
    let query = this.db.selectFrom('calls').selectAll().where('carrier_call_id', '=', carrierCallId);
    if (carrier !== undefined) query = query.where('carrier', '=', carrier);
    const row = await query.orderBy('started_at', 'desc').limit(1).executeTakeFirst();
    return row && toCallRecord(row);
  }

  /** Newest first. */
  async list(query: CallListQuery = {}): Promise<CallRecord[]> {
    const limit = query.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_CALL_PAGE) {
      throw new StoreInputError(`call list: limit must be an integer from 1 to ${MAX_CALL_PAGE}, got ${limit}`);
    }
    let select = this.db.selectFrom('calls').selectAll();
    if (query.before !== undefined) {
      const before = requireEpochMs('call list', 'before', query.before);
      const beforeId = query.beforeId;
      select =
        beforeId === undefined
          ? select.where('started_at', '<', before)
          : select.where((eb) =>
              eb.or([eb('started_at', '<', before), eb.and([eb('started_at', '=', before), eb('id', '<', beforeId)])]),
            );
    } else if (query.beforeId !== undefined) {
      throw new StoreInputError('call list: beforeId needs before (the startedAt of that call)');
    }
    const rows = await select.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toCallRecord);
  }

  /** Newest first by (startedAt, id): a stable order, so keyset pages neither repeat nor skip calls. */
  async search(query: CallSearch = {}): Promise<CallRecord[]> {
    const what = 'call search';
    const limit = query.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_CALL_PAGE) {
      throw new StoreInputError(`${what}: limit must be an integer from 1 to ${MAX_CALL_PAGE}, got ${limit}`);
    }
    let select = this.db.selectFrom('calls').selectAll();
    if (query.from !== undefined) select = select.where('started_at', '>=', requireEpochMs(what, 'from', query.from));
    if (query.to !== undefined) select = select.where('started_at', '<', requireEpochMs(what, 'to', query.to));
    if (query.number !== undefined) {
      const bare = requireText(what, 'number', query.number).replace(/^\+/, '');
      const forms = [bare, `+${bare}`];
      select = select.where((eb) => eb.or([eb('from_number', 'in', forms), eb('to_number', 'in', forms)]));
    }
    if (query.bot !== undefined) select = select.where('bot', '=', requireText(what, 'bot', query.bot));
    if (query.direction !== undefined) select = select.where('direction', '=', requireOneOf(what, 'direction', query.direction, DIRECTIONS));
    if (query.reason !== undefined) {
      const reason = requireText(what, 'reason', query.reason);
      select = select.where((eb) => eb.or([eb('end_reason', '=', reason), eb('hangup_cause', '=', reason)]));
    }
    if (query.minDurationMs !== undefined) select = select.where('duration_ms', '>=', requireDuration(what, 'minDurationMs', query.minDurationMs));
    if (query.maxDurationMs !== undefined) select = select.where('duration_ms', '<=', requireDuration(what, 'maxDurationMs', query.maxDurationMs));
    if (query.after !== undefined) {
      const startedAt = requireEpochMs(what, 'after.startedAt', query.after.startedAt);
      const id = requireText(what, 'after.id', query.after.id);
      select = select.where((eb) => eb.or([eb('started_at', '<', startedAt), eb.and([eb('started_at', '=', startedAt), eb('id', '<', id)])]));
    }
    const rows = await select.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toCallRecord);
  }

  /**
   * Ids of calls that ended (or, never ended, started) before `cutoff`, oldest first: the retention
   * purge's candidates. Bounded by `limit` so a large purge runs in batches.
   */
  async idsOlderThan(cutoff: number, limit: number): Promise<string[]> {
    const at = requireEpochMs('call purge', 'cutoff', cutoff);
    const rows = await this.db
      .selectFrom('calls')
      .select('id')
      .where(sql<number>`coalesce(ended_at, started_at)`, '<', at)
      .orderBy('started_at')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  /** Deletes calls; their transcript, DTMF, prompts, turns and recording rows go with them (ON DELETE CASCADE). */
  async deleteMany(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await this.db.deleteFrom('calls').where('id', 'in', [...ids]).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

function requireDuration(record: string, field: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new StoreInputError(`${record}: ${field} must be a non-negative number of milliseconds, got ${value}`);
  return Math.round(value);
}

function toCallRecord(row: CallRow): CallRecord {
  return {
    id: row.id,
    carrier: row.carrier,
    carrierCallId: row.carrier_call_id,
    direction: row.direction,
    from: row.from_number,
    to: row.to_number,
    bot: row.bot,
    startedAt: Number(row.started_at),
    answeredAt: nullableNumber(row.answered_at),
    endedAt: nullableNumber(row.ended_at),
    durationMs: nullableNumber(row.duration_ms),
    hangupCause: row.hangup_cause,
    hangupSide: row.hangup_side,
    endReason: row.end_reason,
    transferTarget: row.transfer_target ?? null,
    transferMode: row.transfer_mode ?? null,
    transferReason: row.transfer_reason ?? null,
    transferredAt: nullableNumber(row.transferred_at ?? null),
    instanceId: row.instance_id ?? null,
  };
}

function nullableNumber(value: number | null): number | null {
  return value === null ? null : Number(value);
}
