/**
 * Call retention: calls (with their transcript, DTMF, prompts, turns and recording rows) and their
 * recording files are deleted once older than the retention period. The period is a setting the
 * management API edits; no setting means calls are kept forever.
 */
import { unlink } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { Logger } from '../logger.js';
import type { ConfigRepository } from './config-repository.js';
import type { Store } from './database.js';

export const RETENTION_SETTING = 'retention';
const DAY_MS = 86_400_000;
/** Calls deleted per statement: bounds the IN list and how long one delete holds SQLite's write lock. */
const PURGE_BATCH = 500;

export interface RetentionSetting {
  /** Keep calls this many days after they ended; null keeps them forever. */
  days: number | null;
}

export interface PurgeResult {
  calls: number;
  recordingFiles: number;
  /** The calls older than this epoch-ms time were deleted; null when retention is off. */
  cutoff: number | null;
}

export interface RetentionOptions {
  store: Store;
  settings: ConfigRepository;
  /** Only files under this directory are deleted (a row pointing elsewhere is left alone and logged). */
  recordingsDir: string;
  /** Calls in progress are never purged, whatever their age. */
  isLive?: (callId: string) => boolean;
  now?: () => number;
  logger?: Logger;
}

export class CallRetention {
  constructor(private readonly opts: RetentionOptions) {}

  async get(): Promise<RetentionSetting> {
    return (await this.opts.settings.getSetting<RetentionSetting>(RETENTION_SETTING)) ?? { days: null };
  }

  async set(setting: RetentionSetting): Promise<void> {
    if (setting.days !== null && (!Number.isInteger(setting.days) || setting.days < 1)) throw new RangeError(`days: expected a whole number of days, at least 1, or null; got ${setting.days}`);
    await this.opts.settings.putSetting(RETENTION_SETTING, setting, this.now());
  }

  /** Deletes every call that ended before now minus the retention period, and its recording files. */
  async purge(): Promise<PurgeResult> {
    const { days } = await this.get();
    if (days === null) return { calls: 0, recordingFiles: 0, cutoff: null };
    const cutoff = this.now() - days * DAY_MS;
    const { store, logger } = this.opts;
    const root = resolve(this.opts.recordingsDir);
    let calls = 0;
    let recordingFiles = 0;
    const skipped = new Set<string>();
    for (;;) {
      const ids = (await store.calls.idsOlderThan(cutoff, PURGE_BATCH + skipped.size)).filter((id) => !skipped.has(id));
      const live = ids.filter((id) => this.opts.isLive?.(id));
      for (const id of live) skipped.add(id);
      const batch = ids.filter((id) => !skipped.has(id)).slice(0, PURGE_BATCH);
      if (batch.length === 0) break;
      const files = await store.db.selectFrom('recordings').select(['call_id', 'path']).where('call_id', 'in', batch).execute();
      // Rows first: a crash between the two leaves orphan files, never rows pointing at deleted files.
      calls += await store.calls.deleteMany(batch);
      for (const file of files) {
        const path = resolve(file.path);
        if (!path.startsWith(root + sep)) {
          logger?.warn({ callId: file.call_id, path }, 'recording outside the recordings directory not deleted');
          continue;
        }
        try {
          await unlink(path);
          recordingFiles++;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger?.warn({ err, callId: file.call_id, path }, 'recording file could not be deleted');
        }
      }
    }
    logger?.info({ calls, recordingFiles, cutoff, days }, 'call retention purge');
    return { calls, recordingFiles, cutoff };
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }
}
