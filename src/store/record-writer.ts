/**
 * Writes call records from bus events. The call path never waits on the database: each event
 * queues a write and returns. Writes run one after another in publish order (so an end never lands
 * before its call's start), and everything queued in one event-loop turn is written in a single
 * transaction: a commit per batch instead of per row, which is most of an insert's cost on SQLite.
 * If a batch fails it is rolled back and its writes are replayed one by one, so one bad write loses
 * only itself.
 *
 * A write the store cannot take right now (disk full, I/O error, lost connection) is kept and
 * retried until the store takes it again (retrying-write-queue.ts); the writer's health (failing,
 * writes waiting) feeds readiness and the `store` alarm, and the outage is published as a
 * `provider.error` of kind `store`. A write refused on its merits is logged with the call id and
 * event, and dropped. A `call.ended` for a call with no record (its `call.started` was never
 * published, or its insert was refused) is logged as a warning and dropped: a row without carrier,
 * numbers or start time would look like a real CDR and hide the actual fault.
 */
import type { Kysely } from 'kysely';
import type { BusEventMap, EventBus } from '../events/bus.js';
import type { Logger } from '../logger.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import { CallRepository } from './call-repository.js';
import type { Store } from './database.js';
import { DtmfRepository } from './dtmf-repository.js';
import { PromptRepository } from './prompt-repository.js';
import type { VoxgateDatabase } from './schema.js';
import { TranscriptRepository } from './transcript-repository.js';
import { RecordingRepository } from './recording-repository.js';
import { TurnRepository } from './turn-repository.js';
import { RetryingWriteQueue, type FlushResult, type WriteQueueHealth } from './retrying-write-queue.js';

export type { FlushResult, WriteQueueHealth as RecordWriterHealth } from './retrying-write-queue.js';

export interface RecordWriterOptions {
  clock?: Clock;
  /** Writes held at most while the store cannot take them; beyond it new writes are refused and reported. Default 100000. */
  maxQueuedWrites?: number;
  /** Retry backoff while the store fails: first wait, doubling up to max. Default 500 ms to 30 s. */
  retryDelayMs?: { first: number; max: number };
  /** How long flush() waits by default before reporting what is left unwritten. Default 10 s. */
  flushTimeoutMs?: number;
  /** Stamped on each call's row, so a restart reconciles only this instance's calls. */
  instanceId?: string;
}

export const RECORD_WRITER_DEFAULTS = { maxQueuedWrites: 100_000, retryDelayMs: { first: 500, max: 30_000 }, flushTimeoutMs: 10_000 } as const;

export interface RecordWriter {
  /**
   * Resolves once every write queued so far (and any queued meanwhile) has finished, or, while the
   * store cannot take writes, after `timeoutMs` (default the writer's flushTimeoutMs) with the
   * number left unwritten (also logged with their call ids). Writes left over stay queued.
   */
  flush(options?: { timeoutMs?: number }): Promise<FlushResult>;
  /** Stops taking new events; writes already queued still run (await flush() after to wait for them). */
  detach(): void;
  /** Stops retrying (before the store closes); whatever is still queued is logged as lost. */
  stop(): FlushResult;
  /** Whether writes are failing and how many wait: readiness and the `store` alarm read this. */
  health(): WriteQueueHealth;
  /** Called when writes start failing and when they succeed again; returns the unsubscribe function. */
  onHealthChange(listener: (health: WriteQueueHealth) => void): () => void;
}

/** The bus events that belong to one call (and so carry its callId). */
type CallEventType = { [K in keyof BusEventMap]: BusEventMap[K] extends { callId: string } ? K : never }[keyof BusEventMap];
type Repositories = Pick<Store, 'calls' | 'transcripts' | 'dtmf' | 'prompts' | 'turns' | 'recordings'>;
/** Log lines a write wants to emit; held back until its batch commits, so a replayed batch logs once. */
type Note = (level: 'warn' | 'debug', fields: Record<string, unknown>, message: string) => void;
type Write = (repos: Repositories, note: Note) => Promise<void>;
interface Queued {
  event: keyof BusEventMap;
  callId: string;
  write: Write;
}

function repositoriesOn(db: Kysely<VoxgateDatabase>): Repositories {
  return {
    calls: new CallRepository(db),
    transcripts: new TranscriptRepository(db),
    dtmf: new DtmfRepository(db),
    prompts: new PromptRepository(db),
    turns: new TurnRepository(db),
    recordings: new RecordingRepository(db),
  };
}

export function attachRecordWriter(bus: EventBus, store: Store, logger: Logger, options: RecordWriterOptions = {}): RecordWriter {
  const log = logger.child({ component: 'record-writer' });
  const logNote: Note = (level, fields, message) => log[level](fields, message);
  const clock = options.clock ?? systemClock;
  const maxQueued = options.maxQueuedWrites ?? RECORD_WRITER_DEFAULTS.maxQueuedWrites;
  if (!Number.isInteger(maxQueued) || maxQueued < 1) throw new RangeError(`record writer: maxQueuedWrites must be a positive integer, got ${String(maxQueued)}`);

  const queue = new RetryingWriteQueue<Queued>({
    writeOne: (item) => item.write(store, logNote),
    async writeAll(batch) {
      const notes: Parameters<Note>[] = [];
      await store.db.transaction().execute(async (trx) => {
        const repos = repositoriesOn(trx);
        for (const item of batch) await item.write(repos, (...args) => notes.push(args));
      });
      for (const n of notes) logNote(...n);
    },
    clock,
    logger: log,
    maxQueued,
    retryDelayMs: options.retryDelayMs ?? RECORD_WRITER_DEFAULTS.retryDelayMs,
    flushTimeoutMs: options.flushTimeoutMs ?? RECORD_WRITER_DEFAULTS.flushTimeoutMs,
  });
  // Counted with the other provider failures (metrics); once per outage, not per retry.
  queue.onHealthChange((health) => {
    if (health.failing) bus.publish('provider.error', { kind: 'store', provider: store.dialect, error: `record writes failing: ${health.lastError ?? 'unknown error'}`, at: clock.now() });
  });

  const enqueue = (event: keyof BusEventMap, callId: string, write: Write): void => queue.push({ event, callId, write });

  const on = <K extends CallEventType>(type: K, toWrite: (e: BusEventMap[K]) => Write) =>
    bus.subscribe(type, (e) => {
      // Listeners run inside publish(); a malformed event must not throw back into the call path.
      if (!e || typeof e.callId !== 'string' || e.callId === '') {
        log.error({ event: type }, 'bus event without a callId; not recorded');
        return;
      }
      enqueue(type, e.callId, toWrite(e));
    });

  const unsubscribes = [
    on('call.started', (e) => (repos) =>
      repos.calls.insertStarted({
        id: e.callId,
        carrier: e.carrier,
        carrierCallId: e.carrierCallId,
        direction: e.direction,
        from: e.from,
        to: e.to,
        bot: e.bot,
        startedAt: e.at,
        instanceId: options.instanceId,
      }),
    ),
    on('call.answered', (e) => async (repos, note) => {
      const changed = await repos.calls.markAnswered(e.callId, e.at);
      if (!changed) note('warn', { callId: e.callId }, 'call.answered for an unknown or already answered call; ignored');
    }),
    on('call.ended', (e) => async (repos, note) => {
      const outcome = await repos.calls.complete(e.callId, {
        endedAt: e.at,
        hangupCause: e.cause,
        hangupSide: e.side,
        endReason: e.reason,
        durationMs: e.durationSec === undefined ? undefined : e.durationSec * 1000,
      });
      if (outcome === 'unknown-call') {
        note('warn', { callId: e.callId, reason: e.reason }, 'call.ended for a call with no record; end not recorded');
      } else if (outcome === 'already-ended') {
        note('debug', { callId: e.callId }, 'call.ended repeated; first end kept');
      }
    }),
    on('call.transferred', (e) => async (repos, note) => {
      const changed = await repos.calls.markTransferred(e.callId, { at: e.at, target: e.target, mode: e.mode, reason: e.reason });
      if (!changed) note('warn', { callId: e.callId }, 'call.transferred for an unknown or already transferred call; ignored');
    }),
    on('transcript', (e) => async (repos) => {
      await repos.transcripts.add({ callId: e.callId, at: e.at, speaker: e.who, text: e.text });
    }),
    on('dtmf', (e) => async (repos) => {
      await repos.dtmf.add({ callId: e.callId, at: e.at, digit: e.digit });
    }),
    on('prompt.played', (e) => async (repos) => {
      await repos.prompts.add({
        callId: e.callId,
        promptId: e.promptId,
        text: e.text,
        startedAt: e.startedAt,
        endedAt: e.endedAt,
        heardInFull: e.heardInFull,
      });
    }),
    on('turn', (e) => async (repos) => {
      await repos.turns.add(e);
    }),
    on('recording.saved', (e) => async (repos) => {
      await repos.recordings.add(e);
    }),
  ];

  return {
    flush: (flushOptions) => queue.flush(flushOptions?.timeoutMs),
    detach() {
      for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
    },
    stop: () => queue.stop(),
    health: () => queue.health(),
    onHealthChange: (listener) => queue.onHealthChange(listener),
  };
}
