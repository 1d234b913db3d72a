/**
 * The outbox of status callbacks (dialout notifyUrl, conversation API, campaigns): a callback is
 * written here before anything is sent, so a crash or restart never loses one. Works the same on
 * SQLite and PostgreSQL; several processes may share the table (claims are compare-and-set).
 */
import type { Kysely, Selectable } from 'kysely';
import { requireEpochMs, requireString, requireText, StoreInputError } from './input-checks.js';
import type { CallbackOutboxTable, VoxgateDatabase } from './schema.js';

export type CallbackStatus = 'pending' | 'delivered' | 'failed';
export const CALLBACK_STATUSES: readonly CallbackStatus[] = ['pending', 'delivered', 'failed'];

/** The longest last_error kept: receivers may answer with whole HTML pages. */
const MAX_ERROR_LENGTH = 500;

export interface NewCallback {
  idempotencyKey: string;
  url: string;
  /** The exact JSON text sent (and signed) on every attempt. */
  body: string;
  createdAt: number;
  /** First attempt time; default createdAt. */
  nextAttemptAt?: number;
  /** Set when the callback can never be sent (bad URL): stored as failed so it shows up in inspection. */
  failedReason?: string;
}

export interface CallbackRecord {
  id: number;
  idempotencyKey: string;
  url: string;
  body: string;
  status: CallbackStatus;
  /** Attempts started so far (a claim counts as an attempt, so a crash mid-send still counts). */
  attempts: number;
  /** pending: when the next attempt is due (or, while claimed, when the claim lapses). */
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
}

export interface CallbackListQuery {
  status?: CallbackStatus;
  /** 1 to 1000; default 100. */
  limit?: number;
}

export class CallbackOutboxRepository {
  constructor(private readonly db: Kysely<VoxgateDatabase>) {}

  /** Adds the callback unless one with the same idempotency key exists; `inserted` says which. */
  async enqueue(callback: NewCallback): Promise<{ inserted: boolean; id: number | null }> {
    const what = 'callback';
    const createdAt = requireEpochMs(what, 'createdAt', callback.createdAt);
    const failed = callback.failedReason !== undefined;
    const row = await this.db
      .insertInto('callback_outbox')
      .values({
        idempotency_key: requireText(what, 'idempotencyKey', callback.idempotencyKey),
        url: requireString(what, 'url', callback.url),
        body: requireString(what, 'body', callback.body),
        status: failed ? 'failed' : 'pending',
        attempts: 0,
        next_attempt_at: requireEpochMs(what, 'nextAttemptAt', callback.nextAttemptAt ?? createdAt),
        last_error: failed ? truncateError(callback.failedReason ?? '') : null,
        created_at: createdAt,
        delivered_at: null,
      })
      .onConflict((oc) => oc.column('idempotency_key').doNothing())
      .returning('id')
      .executeTakeFirst();
    return row ? { inserted: true, id: Number(row.id) } : { inserted: false, id: null };
  }

  /** Pending callbacks due at `now`, oldest due first (then in enqueue order). Not yet claimed. */
  async listDue(now: number, limit: number): Promise<CallbackRecord[]> {
    const rows = await this.db
      .selectFrom('callback_outbox')
      .selectAll()
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', requireEpochMs('callback claim', 'now', now))
      .orderBy('next_attempt_at')
      .orderBy('id')
      .limit(checkLimit(limit))
      .execute();
    return rows.map(toRecord);
  }

  /**
   * Claims one due callback for an attempt: counts the attempt and pushes next_attempt_at to
   * `leaseUntil`, so other processes skip it and, should this one die mid-send, it is retried
   * once the lease lapses. Compare-and-set on (attempts, next_attempt_at): of two processes
   * claiming the same row only one wins. Returns the claimed record, or undefined when lost.
   */
  async claim(due: CallbackRecord, leaseUntil: number): Promise<CallbackRecord | undefined> {
    const result = await this.db
      .updateTable('callback_outbox')
      .set({ attempts: due.attempts + 1, next_attempt_at: requireEpochMs('callback claim', 'leaseUntil', leaseUntil) })
      .where('id', '=', due.id)
      .where('status', '=', 'pending')
      .where('attempts', '=', due.attempts)
      .where('next_attempt_at', '=', due.nextAttemptAt)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) return undefined;
    return { ...due, attempts: due.attempts + 1, nextAttemptAt: Math.round(leaseUntil) };
  }

  /** Claims every due row it can, up to `limit`; rows `skip` rejects are left for later. */
  async claimDue(
    now: number,
    leaseUntil: number,
    limit: number,
    skip: (row: CallbackRecord) => boolean = () => false,
  ): Promise<CallbackRecord[]> {
    const claimed: CallbackRecord[] = [];
    if (limit <= 0) return claimed;
    // Read a few more than wanted: some may be skipped or taken by another process meanwhile.
    for (const row of await this.listDue(now, Math.min(1000, limit * 4))) {
      if (claimed.length >= limit) break;
      if (skip(row)) continue;
      const won = await this.claim(row, leaseUntil);
      if (won) claimed.push(won);
    }
    return claimed;
  }

  async markDelivered(id: number, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('callback_outbox')
      .set({ status: 'delivered', delivered_at: requireEpochMs('callback', 'deliveredAt', at), last_error: null })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async scheduleRetry(id: number, nextAttemptAt: number, lastError: string): Promise<boolean> {
    const result = await this.db
      .updateTable('callback_outbox')
      .set({ next_attempt_at: requireEpochMs('callback', 'nextAttemptAt', nextAttemptAt), last_error: truncateError(lastError) })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async markFailed(id: number, lastError: string): Promise<boolean> {
    const result = await this.db
      .updateTable('callback_outbox')
      .set({ status: 'failed', last_error: truncateError(lastError) })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Earliest next_attempt_at among pending callbacks (claimed ones count at their lease end). */
  async nextDueAt(): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('callback_outbox')
      .select((eb) => eb.fn.min('next_attempt_at').as('next'))
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return row?.next == null ? undefined : Number(row.next);
  }

  async get(idempotencyKey: string): Promise<CallbackRecord | undefined> {
    const row = await this.db.selectFrom('callback_outbox').selectAll().where('idempotency_key', '=', idempotencyKey).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  /** Newest first, for inspection (operators, APIs, tests). */
  async list(query: CallbackListQuery = {}): Promise<CallbackRecord[]> {
    let q = this.db.selectFrom('callback_outbox').selectAll();
    if (query.status !== undefined) {
      if (!CALLBACK_STATUSES.includes(query.status)) {
        throw new StoreInputError(`callback list: status must be one of ${CALLBACK_STATUSES.join(', ')}, got ${JSON.stringify(query.status)}`);
      }
      q = q.where('status', '=', query.status);
    }
    const rows = await q.orderBy('id', 'desc').limit(checkLimit(query.limit ?? 100)).execute();
    return rows.map(toRecord);
  }
}

function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new StoreInputError(`callback list: limit must be an integer from 1 to 1000, got ${String(limit)}`);
  }
  return limit;
}

function truncateError(text: string): string {
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 3)}...` : text;
}

function toRecord(r: Selectable<CallbackOutboxTable>): CallbackRecord {
  return {
    id: Number(r.id),
    idempotencyKey: r.idempotency_key,
    url: r.url,
    body: r.body,
    status: r.status as CallbackStatus,
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    lastError: r.last_error,
    createdAt: Number(r.created_at),
    deliveredAt: r.delivered_at == null ? null : Number(r.delivered_at),
  };
}
