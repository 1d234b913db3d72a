/**
 * Writes call records from bus events. The call path never waits on the database: each event
 * queues a write and returns. Writes run one after another in publish order (so an end never lands
 * before its call's start), and everything queued in one event-loop turn is written in a single
 * transaction: a commit per batch instead of per row, which is most of an insert's cost on SQLite.
 * If a batch fails it is rolled back and its writes are replayed one by one, so one bad write loses
 * only itself.
 *
 * A failed write is logged with the call id and event, and the queue moves on. A `call.ended`
 * for a call with no record (its `call.started` was never published, or its insert failed) is
 * logged as a warning and dropped: a row without carrier, numbers or start time would look like
 * a real CDR and hide the actual fault.
 */
import type { Kysely } from 'kysely';
import type { BusEventMap, EventBus } from '../events/bus.js';
import type { Logger } from '../logger.js';
import { CallRepository } from './call-repository.js';
import type { Store } from './database.js';
import { DtmfRepository } from './dtmf-repository.js';
import { PromptRepository } from './prompt-repository.js';
import type { VoxgateDatabase } from './schema.js';
import { TranscriptRepository } from './transcript-repository.js';
import { RecordingRepository } from './recording-repository.js';
import { TurnRepository } from './turn-repository.js';

export interface RecordWriter {
  /** Resolves once every write queued so far (and any queued meanwhile) has finished. */
  flush(): Promise<void>;
  /** Stops taking new events; writes already queued still run (await flush() after to wait for them). */
  detach(): void;
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

export function attachRecordWriter(bus: EventBus, store: Store, logger: Logger): RecordWriter {
  const log = logger.child({ component: 'record-writer' });
  const logNote: Note = (level, fields, message) => log[level](fields, message);
  let pending: Queued[] = [];
  let scheduled = false;
  let chain: Promise<void> = Promise.resolve();

  const runOne = async (item: Queued): Promise<void> => {
    try {
      await item.write(store, logNote);
    } catch (err) {
      log.error({ err, callId: item.callId, event: item.event }, 'call record write failed');
    }
  };

  const runBatch = async (batch: Queued[]): Promise<void> => {
    if (batch.length === 1) return runOne(batch[0]);
    const notes: Parameters<Note>[] = [];
    try {
      await store.db.transaction().execute(async (trx) => {
        const repos = repositoriesOn(trx);
        for (const item of batch) await item.write(repos, (...args) => notes.push(args));
      });
    } catch {
      for (const item of batch) await runOne(item);
      return;
    }
    for (const n of notes) logNote(...n);
  };

  const drain = (): void => {
    scheduled = false;
    if (pending.length === 0) return; // flush() already took this turn's batch
    const batch = pending;
    pending = [];
    chain = chain.then(() => runBatch(batch));
  };

  const enqueue = (event: keyof BusEventMap, callId: string, write: Write): void => {
    pending.push({ event, callId, write });
    if (!scheduled) {
      scheduled = true;
      setImmediate(drain);
    }
  };

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
    async flush() {
      // A batch may be queued while an earlier one runs: wait until nothing is pending or running.
      for (;;) {
        const current = chain;
        if (scheduled) drain();
        await chain;
        if (chain === current && !scheduled && pending.length === 0) return;
      }
    },
    detach() {
      for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
    },
  };
}
