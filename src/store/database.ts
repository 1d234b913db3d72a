/**
 * Opens the record store: a SQLite file in the data directory by default, PostgreSQL when a
 * database URL is given (several Voxgate processes can then share one database). Migrations run
 * on open, so a store handed out is always at the latest schema.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Logger } from '../logger.js';
import { CallRepository } from './call-repository.js';
import { DtmfRepository } from './dtmf-repository.js';
import { storeMigrationProvider } from './migrations/index.js';
import { PromptRepository } from './prompt-repository.js';
import { RecordingRepository } from './recording-repository.js';
import { TurnRepository } from './turn-repository.js';
import { OutboundCallRepository } from './outbound-call-repository.js';
import type { VoxgateDatabase } from './schema.js';
import { TranscriptRepository } from './transcript-repository.js';

export const SQLITE_FILE_NAME = 'voxgate.db';
/** How long SQLite waits on a lock held by another connection or process before failing a write. */
const SQLITE_BUSY_TIMEOUT_MS = 5000;
const PG_CONNECT_TIMEOUT_MS = 5000;

export interface OpenDatabaseOptions {
  /** Directory for the SQLite file (created when missing); unused when `databaseUrl` is set. */
  dataDir: string;
  /** postgres:// URL (the app passes DATABASE_URL); when set, PostgreSQL is used instead of SQLite. */
  databaseUrl?: string;
  logger?: Logger;
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** Where the records live: the SQLite file path, or the PostgreSQL URL without its password. */
  readonly location: string;
  /** The query builder, for features whose tables come with later migrations. */
  readonly db: Kysely<VoxgateDatabase>;
  readonly calls: CallRepository;
  readonly transcripts: TranscriptRepository;
  readonly dtmf: DtmfRepository;
  readonly prompts: PromptRepository;
  readonly turns: TurnRepository;
  readonly recordings: RecordingRepository;
  readonly outboundCalls: OutboundCallRepository;
  /** Closes the connection(s). Safe to call twice. */
  close(): Promise<void>;
}

/** The store could not be opened; the message names the file or the URL (never the password). */
export class StoreOpenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreOpenError';
  }
}

export async function openDatabase(opts: OpenDatabaseOptions): Promise<Store> {
  const databaseUrl = opts.databaseUrl?.trim();
  const opened = databaseUrl ? await openPostgres(databaseUrl, opts.logger) : openSqlite(opts.dataDir);
  try {
    await migrateToLatest(opened.db, opened.location, opts.logger);
  } catch (err) {
    await opened.db.destroy().catch(() => undefined);
    throw err;
  }
  opts.logger?.info({ dialect: opened.dialect, location: opened.location }, 'record store open');

  let closing: Promise<void> | undefined;
  return {
    ...opened,
    calls: new CallRepository(opened.db),
    transcripts: new TranscriptRepository(opened.db),
    dtmf: new DtmfRepository(opened.db),
    prompts: new PromptRepository(opened.db),
    turns: new TurnRepository(opened.db),
    recordings: new RecordingRepository(opened.db),
    outboundCalls: new OutboundCallRepository(opened.db),
    close: () => (closing ??= opened.db.destroy()),
  };
}

interface OpenedDatabase {
  dialect: Store['dialect'];
  location: string;
  db: Kysely<VoxgateDatabase>;
}

function openSqlite(dataDir: string): OpenedDatabase {
  if (!dataDir) throw new StoreOpenError('record store: dataDir is required when no database URL is set');
  const dir = resolve(dataDir);
  const file = join(dir, SQLITE_FILE_NAME);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new StoreOpenError(`cannot create data directory ${dir}: ${errorText(err)}`, { cause: err });
  }
  let database: BetterSqlite3.Database;
  try {
    database = new BetterSqlite3(file, { timeout: SQLITE_BUSY_TIMEOUT_MS });
    // WAL: readers (API, live view) do not block the call writers, and commits are cheaper.
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma('foreign_keys = ON');
    database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  } catch (err) {
    throw new StoreOpenError(`cannot open SQLite database ${file}: ${errorText(err)}`, { cause: err });
  }
  cachePreparedStatements(database);
  return { dialect: 'sqlite', location: file, db: new Kysely<VoxgateDatabase>({ dialect: new SqliteDialect({ database }) }) };
}

/** Distinct statements kept prepared; the record writes use a handful, so this bound is never reached in practice. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely's SQLite driver prepares every query anew, but the record inserts repeat the same SQL text
 * with new parameters: preparing once halves the time each insert holds the event loop. Safe because
 * better-sqlite3 runs a statement to completion synchronously (Kysely's streaming reads, which would
 * keep a statement busy, are not used by the store).
 */
function cachePreparedStatements(database: BetterSqlite3.Database): void {
  const prepare = database.prepare.bind(database);
  const cache = new Map<string, BetterSqlite3.Statement>();
  database.prepare = ((source: string) => {
    let statement = cache.get(source);
    if (!statement) {
      statement = prepare(source);
      if (cache.size < STATEMENT_CACHE_SIZE) cache.set(source, statement);
    }
    return statement;
  }) as typeof database.prepare;
}

/** int8 (BIGINT, COUNT) as a JS number: epoch-ms times and row ids stay far below 2^53. */
const pgTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

async function openPostgres(databaseUrl: string, logger?: Logger): Promise<OpenedDatabase> {
  const location = redactUrl(databaseUrl);
  let pool: pg.Pool;
  try {
    pool = new pg.Pool({ connectionString: databaseUrl, connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS, types: pgTypes });
  } catch (err) {
    throw new StoreOpenError(`invalid PostgreSQL URL ${location}: ${errorText(err)}`, { cause: err });
  }
  // An idle client that loses its connection (server restart) emits 'error' on the pool; unhandled it would end the process.
  pool.on('error', (err) => logger?.error({ err, database: location }, 'PostgreSQL connection lost'));
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new StoreOpenError(`cannot connect to PostgreSQL at ${location}: ${errorText(err)}`, { cause: err });
  }
  return { dialect: 'postgres', location, db: new Kysely<VoxgateDatabase>({ dialect: new PostgresDialect({ pool }) }) };
}

async function migrateToLatest(db: Kysely<VoxgateDatabase>, location: string, logger?: Logger): Promise<void> {
  const migrator = new Migrator({ db, provider: storeMigrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  for (const r of results ?? []) {
    if (r.status === 'Success') logger?.info({ migration: r.migrationName }, 'record store migrated');
  }
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new StoreOpenError(
      `migrating the record store at ${location} failed${failed ? ` in ${failed}` : ''}: ${errorText(error)}`,
      { cause: error },
    );
  }
}

/** The URL with any password replaced, for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    // Not parseable as a URL: drop everything up to the last '@', since an unescaped '@' or '/' may sit in the password.
    return url.replace(/\/\/.*@/, '//***@');
  }
}

function errorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(errorText).join('; ');
  return err instanceof Error ? err.message || err.name : String(err);
}
