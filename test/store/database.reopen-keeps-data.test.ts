import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, expect, it, describe } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { storeMigrations } from '../../src/store/migrations/index.js';
import { describeOnEachDialect, makeTempDir, uniqueCallId, type TempDir } from '../support/store-fixtures.js';

const T0 = 1_700_000_000_000;

describeOnEachDialect('reopening the store keeps its records', (ctx) => {
  it('a second open runs no migration again and sees the rows written before', async () => {
    const id = uniqueCallId('persist');
    await ctx.store.calls.insertStarted({ id, carrier: 'plivo', carrierCallId: 'p1', direction: 'inbound', from: '+1', to: '+2', bot: 'b', startedAt: T0 });
    await ctx.store.transcripts.add({ callId: id, at: T0 + 5, speaker: 'caller', text: 'remember me' });
    await ctx.store.prompts.add({ callId: id, promptId: 'hi', text: 'Hi', startedAt: T0, endedAt: T0 + 900, heardInFull: true });

    const again = await ctx.reopen();
    const third = await ctx.reopen();
    expect((await again.calls.get(id))?.carrier).toBe('plivo');
    expect((await third.transcripts.listForCall(id)).map((l) => l.text)).toEqual(['remember me']);
    expect((await third.prompts.listForCall(id))[0].heardInFull).toBe(true);
    const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(third.db);
    expect(applied.rows.map((r) => r.name)).toEqual(Object.keys(storeMigrations).sort());
  });

  it('timestamps and ids come back as numbers, not strings', async () => {
    const id = uniqueCallId('types');
    await ctx.store.calls.insertStarted({ id, carrier: 'sim', carrierCallId: 's', direction: 'outbound', from: '+1', to: '+2', bot: 'b', startedAt: T0 });
    await ctx.store.calls.complete(id, { endedAt: T0 + 1, hangupCause: 'x', hangupSide: 'gateway', endReason: 'bot-hangup' });
    const lineId = await ctx.store.dtmf.add({ callId: id, at: T0, digit: '*' });
    const call = await ctx.store.calls.get(id);
    expect(typeof call?.startedAt).toBe('number');
    expect(typeof call?.endedAt).toBe('number');
    expect(typeof call?.durationMs).toBe('number');
    expect(typeof lineId).toBe('number');
    expect((await ctx.store.dtmf.listForCall(id))[0]).toEqual({ id: lineId, callId: id, at: T0, digit: '*' });
  });
});

describe('the SQLite store on disk', () => {
  let dir: TempDir | undefined;
  afterEach(async () => dir?.remove());

  it('creates the data directory on first run and keeps voxgate.db there in WAL mode', async () => {
    dir = await makeTempDir();
    const dataDir = join(dir.path, 'fresh', 'data');
    const store = await openDatabase({ dataDir });
    try {
      expect(store.dialect).toBe('sqlite');
      expect(store.location).toBe(join(dataDir, 'voxgate.db'));
      expect(existsSync(join(dataDir, 'voxgate.db'))).toBe(true);
      const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db);
      expect(mode.rows[0].journal_mode).toBe('wal');
      const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(store.db);
      expect(fk.rows[0].foreign_keys).toBe(1);
    } finally {
      await store.close();
      await store.close(); // closing twice is harmless (shutdown paths may race)
    }
  });
});
