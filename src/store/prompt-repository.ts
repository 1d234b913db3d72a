import type { Kysely } from 'kysely';
import { requireEpochMs, requireString, requireText, StoreInputError } from './input-checks.js';
import type { PromptRecord, VoxgateDatabase } from './schema.js';

export interface NewPromptRecord {
  callId: string;
  promptId: string;
  /** The text spoken, or the URL played. */
  text: string;
  startedAt: number;
  endedAt: number;
  heardInFull: boolean;
}

/** Prompts played to the caller, and whether the caller heard each one to the end. */
export class PromptRepository {
  constructor(private readonly db: Kysely<VoxgateDatabase>) {}

  async add(prompt: NewPromptRecord): Promise<number> {
    const what = 'prompt';
    if (typeof prompt.heardInFull !== 'boolean') {
      throw new StoreInputError(`${what}: heardInFull must be a boolean, got ${typeof prompt.heardInFull}`);
    }
    const row = await this.db
      .insertInto('prompts')
      .values({
        call_id: requireText(what, 'callId', prompt.callId),
        prompt_id: requireString(what, 'promptId', prompt.promptId),
        text: requireString(what, 'text', prompt.text),
        started_at: requireEpochMs(what, 'startedAt', prompt.startedAt),
        ended_at: requireEpochMs(what, 'endedAt', prompt.endedAt),
        // 1/0 binds on both drivers: better-sqlite3 rejects JS booleans, PostgreSQL reads '1'/'0' as boolean.
        heard_in_full: prompt.heardInFull ? 1 : 0,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  /** In the order played. */
  async listForCall(callId: string): Promise<PromptRecord[]> {
    const rows = await this.db
      .selectFrom('prompts')
      .selectAll()
      .where('call_id', '=', callId)
      .orderBy('started_at')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      callId: r.call_id,
      promptId: r.prompt_id,
      text: r.text,
      startedAt: Number(r.started_at),
      endedAt: Number(r.ended_at),
      heardInFull: r.heard_in_full === true || r.heard_in_full === 1,
    }));
  }
}
