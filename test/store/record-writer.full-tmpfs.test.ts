/**
 * The real thing behind the injected outage test: the SQLite file and the recordings on a small
 * tmpfs that fills up mid-call. Needs root and mount(2) (containers often refuse it): otherwise the
 * test is skipped with the reason.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CallRecording } from '../../src/call/call-recording.js';
import { EventBus } from '../../src/events/bus.js';
import type { RecordingSavedEvent } from '../../src/events/call-events.js';
import { openDatabase, type Store } from '../../src/store/database.js';
import { attachRecordWriter, type RecordWriter } from '../../src/store/record-writer.js';
import { captureLogger } from '../support/captured-logger.js';
import { FakeClock } from '../support/fake-clock.js';

const run = promisify(execFile);
const TMPFS_SIZE = '4m';

/** Mounts a fresh tmpfs, or says why it cannot. */
async function mountTmpfs(): Promise<{ dir: string; unmount(): Promise<void> } | { skip: string }> {
  if (process.getuid?.() !== 0) return { skip: 'not running as root, so no tmpfs can be mounted' };
  const dir = await mkdtemp(join(tmpdir(), 'vg-full-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE}`, 'tmpfs', dir]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    return { skip: `mount -t tmpfs is not permitted here (${(err as Error).message.trim()})` };
  }
  return {
    dir,
    async unmount() {
      await run('umount', [dir]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Writes a filler file until the disk refuses more; returns its path. */
async function fillDisk(dir: string): Promise<string> {
  const path = join(dir, 'filler');
  const file = await open(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) await file.write(chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    await file.close();
  }
  return path;
}

function tone(samples: number): Int16Array {
  return Int16Array.from({ length: samples }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
}

describe('the data directory on a disk that fills up', () => {
  let unmount: (() => Promise<void>) | undefined;
  let store: Store | undefined;
  let writer: RecordWriter | undefined;
  afterEach(async () => {
    writer?.detach();
    writer?.stop();
    await store?.close();
    await unmount?.();
    unmount = store = writer = undefined;
  });

  it('keeps every call record and the recording’s record until space returns, then writes them all', async (t) => {
    const mounted = await mountTmpfs();
    if ('skip' in mounted) {
      console.warn(`full-disk test skipped: ${mounted.skip}`);
      t.skip();
      return;
    }
    unmount = mounted.unmount;
    const clock = new FakeClock();
    const T0 = clock.now();
    const { logger, lines } = captureLogger();
    store = await openDatabase({ dataDir: mounted.dir });
    // An empty WAL: every write from here on needs new space.
    await sql`pragma wal_checkpoint(TRUNCATE)`.execute(store.db);
    const bus = new EventBus(logger);
    writer = attachRecordWriter(bus, store, logger, { clock, retryDelayMs: { first: 1000, max: 1000 } });
    const recordingsDir = join(mounted.dir, 'recordings');
    await mkdir(recordingsDir);

    const filler = await fillDisk(mounted.dir);
    // Leave room for a fraction of a second of recording, then nothing.
    const fillerSize = (await readFile(filler)).length;
    await truncate(filler, fillerSize - 16 * 1024);

    const callIds = ['full-1', 'full-2', 'full-3'];
    const failing = new Promise<void>((resolve) => writer!.onHealthChange((h) => h.failing && resolve()));
    // The recording runs into the full disk first; its record goes through the bus after its call's start, as in a call.
    const savedRecordings: RecordingSavedEvent[] = [];
    const recording = new CallRecording({ callId: callIds[0], dir: recordingsDir, sampleRate: 8000, clock, publish: (saved) => void savedRecordings.push(saved), log: logger });
    recording.apply('start');
    for (let i = 0; i < 100; i++) recording.callerAudio(tone(160)); // 2 s of caller audio: more than the disk has room for
    await recording.close();
    expect(lines.some((l) => l.msg === 'recording write failed; recording stopped, the call goes on' && l.callId === callIds[0])).toBe(true);
    for (const [i, callId] of callIds.entries()) {
      bus.publish('call.started', { callId, carrier: 'plivo', carrierCallId: `p-${callId}`, direction: 'inbound', from: '+14155550100', to: '+14155550199', bot: 'support-bot', at: T0 + i });
      bus.publish('call.answered', { callId, at: T0 + 100 });
      bus.publish('transcript', { callId, at: T0 + 200, who: 'caller', text: 'x'.repeat(2000) });
    }
    for (const saved of savedRecordings) bus.publish('recording.saved', saved);
    for (const callId of callIds) bus.publish('call.ended', { callId, at: T0 + 5000, cause: 'Normal Hangup', side: 'caller', reason: 'caller-hangup' });
    await failing;

    // Space returns.
    await rm(filler);
    clock.advance(1000);
    await vi.waitUntil(() => !writer!.health().failing);
    expect(await writer.flush()).toEqual({ unwritten: 0 });

    for (const callId of callIds) {
      expect(await store.calls.get(callId)).toMatchObject({ answeredAt: T0 + 100, endedAt: T0 + 5000, durationMs: 4900 });
      expect(await store.transcripts.listForCall(callId)).toHaveLength(1);
    }
    const [saved] = await store.recordings.listForCall(callIds[0]);
    expect(saved).toMatchObject({ status: 'partial', error: expect.stringContaining('ENOSPC') });
    expect(saved.durationMs).toBeGreaterThan(0);
    expect(saved.durationMs).toBeLessThan(2000);
    const wav = await readFile(saved.path);
    expect(wav.readUInt32LE(40)).toBe(wav.length - 44);
    expect(Math.round(((wav.length - 44) / 4 / 8000) * 1000)).toBe(saved.durationMs);
  });
});
