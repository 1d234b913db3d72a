import type { Kysely } from 'kysely';
import { requireEpochMs, requireOneOf, requireText, StoreInputError } from './input-checks.js';
import type { RecordingRecord, VoxgateDatabase } from './schema.js';
import type { RecordingStatus } from '../events/call-events.js';

export type NewRecording = Omit<RecordingRecord, 'id' | 'status' | 'error'> & Partial<Pick<RecordingRecord, 'status' | 'error'>>;

const STATUSES: readonly RecordingStatus[] = ['complete', 'partial', 'failed'];

/** The recording files of each call (the audio itself is on disk; this is the index). */
export class RecordingRepository {
  constructor(private readonly db: Kysely<VoxgateDatabase>) {}

  async add(r: NewRecording): Promise<number> {
    const what = 'recording';
    for (const [field, v] of [['sampleRate', r.sampleRate], ['channels', r.channels], ['durationMs', r.durationMs]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new StoreInputError(`recording: ${field} must be a non-negative integer, got ${String(v)}`);
    }
    const row = await this.db
      .insertInto('recordings')
      .values({
        call_id: requireText(what, 'callId', r.callId),
        path: requireText(what, 'path', r.path),
        format: r.format,
        sample_rate: r.sampleRate,
        channels: r.channels,
        started_at: requireEpochMs(what, 'startedAt', r.startedAt),
        ended_at: requireEpochMs(what, 'endedAt', r.endedAt),
        duration_ms: r.durationMs,
        status: requireOneOf(what, 'status', r.status ?? 'complete', STATUSES),
        error: r.error ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async listForCall(callId: string): Promise<RecordingRecord[]> {
    const rows = await this.db.selectFrom('recordings').selectAll().where('call_id', '=', callId).orderBy('started_at').orderBy('id').execute();
    return rows.map((r) => ({
      id: Number(r.id),
      callId: r.call_id,
      path: r.path,
      format: 'wav' as const,
      sampleRate: Number(r.sample_rate),
      channels: Number(r.channels),
      startedAt: Number(r.started_at),
      endedAt: Number(r.ended_at),
      durationMs: Number(r.duration_ms),
      status: r.status,
      error: r.error ?? null,
    }));
  }
}
