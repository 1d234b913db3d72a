import type { Kysely } from 'kysely';
import type { Speaker } from '../events/call-events.js';
import { requireEpochMs, requireOneOf, requireString, requireText } from './input-checks.js';
import type { TranscriptLine, VoxgateDatabase } from './schema.js';

export interface NewTranscriptLine {
  callId: string;
  at: number;
  speaker: Speaker;
  text: string;
}

const SPEAKERS: readonly Speaker[] = ['bot', 'caller', 'system'];

/** What was said on a call, by whom and when. */
export class TranscriptRepository {
  constructor(private readonly db: Kysely<VoxgateDatabase>) {}

  async add(line: NewTranscriptLine): Promise<number> {
    const what = 'transcript line';
    const row = await this.db
      .insertInto('transcript_lines')
      .values({
        call_id: requireText(what, 'callId', line.callId),
        at: requireEpochMs(what, 'at', line.at),
        speaker: requireOneOf(what, 'speaker', line.speaker, SPEAKERS),
        text: requireString(what, 'text', line.text),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  /** In the order spoken; lines at the same millisecond keep insertion order. */
  async listForCall(callId: string): Promise<TranscriptLine[]> {
    const rows = await this.db
      .selectFrom('transcript_lines')
      .selectAll()
      .where('call_id', '=', callId)
      .orderBy('at')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ id: Number(r.id), callId: r.call_id, at: Number(r.at), speaker: r.speaker, text: r.text }));
  }
}
