import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { StoreInputError } from '../../src/store/input-checks.js';
import { isStoreUnavailable, storeErrorText } from '../../src/store/store-errors.js';

function pgError(code: string, message: string): Error {
  const err = new pg.DatabaseError(message, 0, 'error');
  err.code = code;
  return err;
}

function sqliteErrorOf(run: (db: BetterSqlite3.Database) => void): Error {
  const db = new BetterSqlite3(':memory:');
  try {
    run(db);
  } catch (err) {
    return err as Error;
  } finally {
    db.close();
  }
  throw new Error('expected the statement to fail');
}

describe('which failed writes are kept and retried', () => {
  it('retries a store that cannot write: disk full, I/O, locks, lost or refused connections', () => {
    for (const err of [
      new BetterSqlite3.SqliteError('database or disk is full', 'SQLITE_FULL'),
      new BetterSqlite3.SqliteError('disk I/O error', 'SQLITE_IOERR_WRITE'),
      new BetterSqlite3.SqliteError('database is locked', 'SQLITE_BUSY'),
      pgError('53100', 'could not extend file: No space left on device'),
      pgError('57P01', 'terminating connection due to administrator command'),
      pgError('08006', 'connection failure'),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      new Error('Connection terminated unexpectedly'),
      new Error('driver has already been destroyed'),
    ]) {
      expect(isStoreUnavailable(err), storeErrorText(err)).toBe(true);
    }
  });

  it('drops a write refused on its merits: constraints, bad values, unknown errors', () => {
    const constraint = sqliteErrorOf((db) => {
      db.exec('create table t (id text primary key)');
      db.exec("insert into t values ('a')");
      db.exec("insert into t values ('a')");
    });
    expect((constraint as { code?: string }).code).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');
    for (const err of [
      constraint,
      new StoreInputError('dtmf event: digit must be one of 0-9 * # A-D, got "Z"'),
      pgError('23503', 'insert or update on table "transcript_lines" violates foreign key constraint'),
      pgError('22P02', 'invalid input syntax for type bigint'),
      new TypeError('cannot read properties of undefined'),
    ]) {
      expect(isStoreUnavailable(err), storeErrorText(err)).toBe(false);
    }
  });

  it('names the code with the message', () => {
    expect(storeErrorText(new BetterSqlite3.SqliteError('database or disk is full', 'SQLITE_FULL'))).toBe('SQLITE_FULL: database or disk is full');
  });
});
