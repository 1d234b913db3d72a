import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, redactUrl, StoreOpenError } from '../../src/store/database.js';
import { makeTempDir, type TempDir } from '../support/store-fixtures.js';
import { captureLogger } from '../support/captured-logger.js';

describe('opening the store fails with a message naming what is wrong', () => {
  let dir: TempDir | undefined;
  afterEach(async () => dir?.remove());

  it('names the data directory when it cannot be created', async () => {
    dir = await makeTempDir();
    const blocker = join(dir.path, 'not-a-dir');
    await writeFile(blocker, 'a file where the data directory should go');
    const dataDir = join(blocker, 'data');
    const failure = openDatabase({ dataDir });
    await expect(failure).rejects.toThrow(StoreOpenError);
    await expect(failure).rejects.toThrow(`cannot create data directory ${dataDir}`);
  });

  it('names the database file when SQLite cannot open it', async () => {
    dir = await makeTempDir();
    // A directory sitting where the database file belongs.
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir.path, 'voxgate.db'));
    await expect(openDatabase({ dataDir: dir.path })).rejects.toThrow(`cannot open SQLite database ${join(dir.path, 'voxgate.db')}`);
  });

  it('names the PostgreSQL URL, without its password, when the server is unreachable', async () => {
    const { logger, lines } = captureLogger();
    // Port 1 on loopback: nothing listens, so the connection is refused at once.
    const url = 'postgres://voxgate:s3cret-pass@127.0.0.1:1/records';
    const failure = openDatabase({ dataDir: '', databaseUrl: url, logger });
    await expect(failure).rejects.toThrow(StoreOpenError);
    const message = await failure.catch((err: Error) => err.message);
    expect(message).toContain('cannot connect to PostgreSQL at postgres://voxgate:***@127.0.0.1:1/records');
    expect(message).toContain('ECONNREFUSED');
    expect(message).not.toContain('s3cret-pass');
    expect(JSON.stringify(lines)).not.toContain('s3cret-pass');
  });

  it('redacts passwords in URLs it cannot parse too', () => {
    expect(redactUrl('postgres://u:p@ss@[bad')).toBe('postgres://***@[bad');
    expect(redactUrl('postgres://u@127.0.0.1/db')).toBe('postgres://u@127.0.0.1/db');
  });
});
