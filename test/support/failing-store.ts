/**
 * A record store whose writes fail on demand the way a full disk fails them: the dialect's own
 * error class and code (better-sqlite3 SqliteError SQLITE_FULL, PostgreSQL 53100 disk_full), thrown
 * for every INSERT, UPDATE and DELETE while `failing` is on. Reads still work, as they do on a full
 * disk. The repositories and transactions run on the real database underneath.
 */
import BetterSqlite3 from 'better-sqlite3';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import pg from 'pg';
import { CallRepository } from '../../src/store/call-repository.js';
import type { Store } from '../../src/store/database.js';
import { DtmfRepository } from '../../src/store/dtmf-repository.js';
import { OutboundCallRepository } from '../../src/store/outbound-call-repository.js';
import { PromptRepository } from '../../src/store/prompt-repository.js';
import { RecordingRepository } from '../../src/store/recording-repository.js';
import { TranscriptRepository } from '../../src/store/transcript-repository.js';
import { TurnRepository } from '../../src/store/turn-repository.js';

const WRITES = new Set(['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode']);

export interface FailingStore {
  store: Store;
  failing: boolean;
  /** Writes refused so far. */
  refused: number;
}

export function diskFullError(dialect: Store['dialect']): Error {
  if (dialect === 'sqlite') return new BetterSqlite3.SqliteError('database or disk is full', 'SQLITE_FULL');
  const err = new pg.DatabaseError('could not extend file "base/16384/16385": No space left on device', 0, 'error');
  err.code = '53100';
  return err;
}

export function failingStore(real: Store): FailingStore {
  const state: FailingStore = { store: undefined as unknown as Store, failing: false, refused: 0 };
  const plugin: KyselyPlugin = {
    transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
      if (state.failing && WRITES.has(args.node.kind)) {
        state.refused += 1;
        throw diskFullError(real.dialect);
      }
      return args.node;
    },
    transformResult: async (args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> => args.result,
  };
  const db = real.db.withPlugin(plugin);
  state.store = {
    dialect: real.dialect,
    location: real.location,
    db,
    calls: new CallRepository(db),
    transcripts: new TranscriptRepository(db),
    dtmf: new DtmfRepository(db),
    prompts: new PromptRepository(db),
    turns: new TurnRepository(db),
    recordings: new RecordingRepository(db),
    outboundCalls: new OutboundCallRepository(db),
    close: () => real.close(),
  };
  return state;
}
