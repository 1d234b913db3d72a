/**
 * Test fixtures for the record store: temp SQLite directories, a scratch PostgreSQL database per
 * suite, and `describeOnEachDialect` to run one behavior suite against both backends. (The logger
 * whose lines a test reads is in captured-logger.ts.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { openDatabase, redactUrl, type Store } from '../../src/store/database.js';

/** Trust-auth server the store tests use; override with VOXGATE_TEST_PG_URL. */
export const PG_TEST_URL = process.env.VOXGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type PgProbe = { reachable: true } | { reachable: false; reason: string };

export async function probePostgres(url = PG_TEST_URL, timeoutMs = 1500): Promise<PgProbe> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return { reachable: true };
  } catch (err) {
    const reason = err instanceof AggregateError ? err.errors.map(String).join('; ') : String(err);
    return { reachable: false, reason };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Probed once per test file (each file runs in its own module graph). */
export const pgProbe: PgProbe = await probePostgres();
if (!pgProbe.reachable) {
  console.warn(
    `PostgreSQL store tests skipped: ${redactUrl(PG_TEST_URL)} unreachable (${pgProbe.reason}). ` +
      'Start PostgreSQL there or set VOXGATE_TEST_PG_URL to run them.',
  );
}

export interface TempDir {
  path: string;
  remove(): Promise<void>;
}

export async function makeTempDir(prefix = 'voxgate-store-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface ScratchPgDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh database on the test server, so runs never see each other's rows; dropped afterwards. */
export async function createScratchPgDatabase(adminUrl = PG_TEST_URL): Promise<ScratchPgDatabase> {
  const name = `voxgate_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface StoreSuiteContext {
  /** The suite's store, open for the whole suite. */
  readonly store: Store;
  /** Opens another Store on the same database (closed by the suite); as a restarted process would. */
  reopen(): Promise<Store>;
}

/**
 * Declares `title` once for SQLite (temp directory) and once for PostgreSQL (scratch database,
 * skipped with a note when the server is unreachable). `body` declares the tests.
 */
export function describeOnEachDialect(title: string, body: (ctx: StoreSuiteContext) => void): void {
  describe(`${title} [sqlite]`, () => {
    let dir: TempDir;
    const ctx = suiteContext(async () => {
      dir = await makeTempDir();
      return { dataDir: dir.path };
    }, async () => dir?.remove());
    body(ctx);
  });

  describe.skipIf(!pgProbe.reachable)(`${title} [postgres]`, () => {
    let scratch: ScratchPgDatabase | undefined;
    const ctx = suiteContext(async () => {
      scratch = await createScratchPgDatabase();
      return { dataDir: '', databaseUrl: scratch.url };
    }, async () => scratch?.drop());
    body(ctx);
  });
}

function suiteContext(
  setUp: () => Promise<{ dataDir: string; databaseUrl?: string }>,
  tearDown: () => Promise<void>,
): StoreSuiteContext {
  const opened: Store[] = [];
  let options: { dataDir: string; databaseUrl?: string } | undefined;
  let primary: Store | undefined;
  const open = async () => {
    if (!options) throw new Error('store suite not set up yet');
    const store = await openDatabase(options);
    opened.push(store);
    return store;
  };
  beforeAll(async () => {
    options = await setUp();
    primary = await open();
  });
  afterAll(async () => {
    for (const store of opened.splice(0)) await store.close();
    await tearDown();
  });
  return {
    get store(): Store {
      if (!primary) throw new Error('store suite not set up yet');
      return primary;
    },
    reopen: open,
  };
}

let idCounter = 0;
/** A call id unique within the run, so tests sharing a database never collide. */
export function uniqueCallId(label = 'call'): string {
  return `${label}-${process.pid}-${++idCounter}-${randomBytes(3).toString('hex')}`;
}
