/**
 * Start-up reconciliation: calls a previous process left without an end (it crashed or was killed
 * mid-call) are ended with hangup cause `gateway-restart`, so history never shows them as live for
 * ever. Each is ended at the last moment it is known to have been alive (its latest transcript line,
 * key, prompt, turn or recording audio), and its duration runs from the answer to that moment. The
 * WAV files it was recording are closed as far as they got: cut to whole frames, header patched,
 * and recorded as `partial`.
 *
 * Which calls: every call with no end that started before this process began, narrowed by
 * `restrictTo`. The gateway passes `ranByInstance(its id)`: with several instances sharing one
 * PostgreSQL store, a restarting instance ends only the calls it ran itself (and rows from before
 * calls carried an instance), never the live calls of its siblings. The calls of an instance that
 * died for good are ended by a survivor with cause `instance-lost` (store leases in
 * instance-leases.ts, the Redis call directory in src/cluster/lost-instances.ts), naming them by
 * `callIds` or by their instance.
 */
import { readdir, open, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { Logger } from '../logger.js';
import type { Store } from './database.js';
import type { VoxgateDatabase } from './schema.js';

export const GATEWAY_RESTART = 'gateway-restart';
/** The cause (and end reason) of calls a survivor ended because the instance running them was lost. */
export const INSTANCE_LOST = 'instance-lost';

/** Calls run by `instanceId`, or recorded before calls carried an instance. */
export function ranByInstance(instanceId: string): NonNullable<ReconcileOptions['restrictTo']> {
  return (eb) => eb.or([eb('instance_id', '=', instanceId), eb('instance_id', 'is', null)]);
}

export interface ReconcileOptions {
  /** Only calls started before this (epoch ms): calls the new process takes are never touched. Default: any start. */
  startedBefore?: number;
  /** Only these calls (a lost instance's calls, as the call directory names them). */
  callIds?: readonly string[];
  /** The hangup cause and end reason recorded. Default `gateway-restart`. */
  cause?: typeof GATEWAY_RESTART | typeof INSTANCE_LOST;
  /** Where the interrupted calls' WAV files are (`<dataDir>/recordings`). */
  recordingsDir?: string;
  /** Narrows which unfinished calls are ended (issue 13: owned by this instance or a dead one). */
  restrictTo?: (eb: ExpressionBuilder<VoxgateDatabase, 'calls'>) => Expression<SqlBool>;
  logger: Logger;
}

export interface ReconcileResult {
  /** Ids of the calls ended. */
  calls: string[];
  /** Recording files closed and recorded as partial. */
  recordings: number;
}

const HEADER_BYTES = 44;
const FRAME_BYTES = 4;

export async function reconcileInterruptedCalls(store: Store, opts: ReconcileOptions): Promise<ReconcileResult> {
  const log = opts.logger.child({ component: 'reconcile' });
  const cause = opts.cause ?? GATEWAY_RESTART;
  if (opts.callIds?.length === 0) return { calls: [], recordings: 0 };
  let query = store.db.selectFrom('calls').select(['id', 'started_at', 'answered_at', 'transferred_at']).where('ended_at', 'is', null);
  if (opts.startedBefore !== undefined) query = query.where('started_at', '<', opts.startedBefore);
  if (opts.callIds) query = query.where('id', 'in', [...opts.callIds]);
  if (opts.restrictTo) query = query.where(opts.restrictTo);
  const unfinished = await query.orderBy('started_at').execute();
  if (unfinished.length === 0) return { calls: [], recordings: 0 };

  const files = opts.recordingsDir ? await listWavFiles(opts.recordingsDir) : [];
  const ended: string[] = [];
  let recordings = 0;
  for (const call of unfinished) {
    try {
      const recovered = opts.recordingsDir ? await closeRecordings(store, call.id, Number(call.started_at), opts.recordingsDir, files, log) : [];
      recordings += recovered.length;
      const lastAlive = Math.max(Number(call.started_at), Number(call.answered_at ?? 0), Number(call.transferred_at ?? 0), await lastActivity(store, call.id), ...recovered);
      const outcome = await store.calls.complete(call.id, { endedAt: lastAlive, hangupCause: cause, hangupSide: 'gateway', endReason: cause });
      if (outcome === 'completed') ended.push(call.id);
    } catch (err) {
      // One call's trouble (an unreadable file) must not leave the others open.
      log.error({ err, callId: call.id }, 'interrupted call could not be reconciled; left without an end');
    }
  }
  log.warn({ calls: ended.length, recordings, cause, callIds: ended.slice(0, 100) }, `ended ${ended.length} calls interrupted by ${cause === INSTANCE_LOST ? 'the loss of their gateway instance' : 'a gateway restart'}`);
  return { calls: ended, recordings };
}

/** The latest time anything of the call was recorded (0 when nothing was). */
async function lastActivity(store: Store, callId: string): Promise<number> {
  const max = (table: 'transcript_lines' | 'dtmf_events' | 'prompts' | 'turns' | 'recordings', column: string) =>
    sql<number | null>`(select max(${sql.ref(column)}) from ${sql.table(table)} where call_id = ${callId})`;
  const row = await sql<{ a: number | null; b: number | null; c: number | null; d: number | null; e: number | null; f: number | null }>`select
      ${max('transcript_lines', 'at')} as a, ${max('dtmf_events', 'at')} as b, ${max('prompts', 'ended_at')} as c,
      ${max('turns', 'input_at')} as d, ${max('turns', 'first_audio_at')} as e, ${max('recordings', 'ended_at')} as f`.execute(store.db);
  const values = Object.values(row.rows[0] ?? {}).filter((v) => v !== null).map(Number);
  return values.length ? Math.max(...values) : 0;
}

async function listWavFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => name.endsWith('.wav'));
  } catch {
    return []; // no recordings directory: nothing was recorded
  }
}

/** Closes the call's WAV files that have no record yet; returns the time each last grew (its last audio). */
async function closeRecordings(store: Store, callId: string, callStartedAt: number, dir: string, files: string[], log: Logger): Promise<number[]> {
  const mine = files.filter((name) => name.startsWith(`${callId}-`) && /^\d+\.wav$/.test(name.slice(callId.length + 1)));
  if (mine.length === 0) return [];
  const known = new Set((await store.recordings.listForCall(callId)).map((r) => r.path));
  const lastAudio: number[] = [];
  for (const name of mine) {
    const path = join(dir, name);
    if (known.has(path)) continue;
    const info = await stat(path);
    if (!info.isFile()) continue;
    const dataBytes = Math.max(0, Math.floor((info.size - HEADER_BYTES) / FRAME_BYTES) * FRAME_BYTES);
    if (dataBytes === 0) {
      await unlink(path);
      log.info({ callId, path }, 'interrupted recording held no audio; file removed');
      continue;
    }
    const file = await open(path, 'r+');
    let sampleRate: number;
    try {
      const header = Buffer.alloc(HEADER_BYTES);
      await file.read(header, 0, HEADER_BYTES, 0);
      sampleRate = header.readUInt32LE(24);
      if (header.toString('ascii', 0, 4) !== 'RIFF' || sampleRate <= 0) throw new Error(`${path} is not a Voxgate recording (no RIFF header)`);
      header.writeUInt32LE(36 + dataBytes, 4);
      header.writeUInt32LE(dataBytes, 40);
      await file.truncate(HEADER_BYTES + dataBytes);
      await file.write(header, 0, HEADER_BYTES, 0);
    } finally {
      await file.close();
    }
    const durationMs = Math.round(((dataBytes / FRAME_BYTES) * 1000) / sampleRate);
    const endedAt = Math.max(callStartedAt, Math.round(info.mtimeMs));
    await store.recordings.add({ callId, path, format: 'wav', sampleRate, channels: 2, startedAt: Math.max(callStartedAt, endedAt - durationMs), endedAt, durationMs, status: 'partial', error: 'interrupted by a gateway restart' });
    log.info({ callId, path, durationMs }, 'interrupted recording closed as far as it got');
    lastAudio.push(endedAt);
  }
  return lastAudio;
}
