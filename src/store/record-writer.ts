/**
 * Writes call records from bus events. The call path never waits on the database: each event
 * queues a write and returns. Writes for one call run one after another in publish order, so an
 * end published while the start's INSERT is still in flight lands after it instead of being lost;
 * different calls write concurrently.
 *
 * A failed write is logged with the call id and event, and the queue moves on. A `call.ended`
 * for a call with no record (its `call.started` was never published, or its insert failed) is
 * logged as a warning and dropped: a row without carrier, numbers or start time would look like
 * a real CDR and hide the actual fault.
 */
import type { BusEventMap, EventBus } from '../events/bus.js';
import type { Logger } from '../logger.js';
import type { Store } from './database.js';

export interface RecordWriter {
  /** Resolves once every write queued so far (and any queued meanwhile) has finished. */
  flush(): Promise<void>;
  /** Stops taking new events; writes already queued still run (await flush() after to wait for them). */
  detach(): void;
}

type Write = () => Promise<void>;

export function attachRecordWriter(bus: EventBus, store: Store, logger: Logger): RecordWriter {
  const log = logger.child({ component: 'record-writer' });
  /** Tail of each call's write chain; removed once the chain drains so ended calls do not accumulate. */
  const tails = new Map<string, Promise<void>>();

  const enqueue = (event: keyof BusEventMap, callId: string, write: Write): void => {
    const previous = tails.get(callId) ?? Promise.resolve();
    const next = previous.then(write).catch((err: unknown) => {
      log.error({ err, callId, event }, 'call record write failed');
    });
    tails.set(callId, next);
    void next.then(() => {
      if (tails.get(callId) === next) tails.delete(callId);
    });
  };

  const on = <K extends keyof BusEventMap>(type: K, toWrite: (e: BusEventMap[K]) => Write) =>
    bus.subscribe(type, (e) => {
      // Listeners run inside publish(); a malformed event must not throw back into the call path.
      if (!e || typeof e.callId !== 'string' || e.callId === '') {
        log.error({ event: type }, 'bus event without a callId; not recorded');
        return;
      }
      enqueue(type, e.callId, toWrite(e));
    });

  const unsubscribes = [
    on('call.started', (e) => () =>
      store.calls.insertStarted({
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
    on('call.answered', (e) => async () => {
      const changed = await store.calls.markAnswered(e.callId, e.at);
      if (!changed) log.warn({ callId: e.callId }, 'call.answered for an unknown or already answered call; ignored');
    }),
    on('call.ended', (e) => async () => {
      const outcome = await store.calls.complete(e.callId, {
        endedAt: e.at,
        hangupCause: e.cause,
        hangupSide: e.side,
        endReason: e.reason,
        durationMs: e.durationSec === undefined ? undefined : e.durationSec * 1000,
      });
      if (outcome === 'unknown-call') {
        log.warn({ callId: e.callId, reason: e.reason }, 'call.ended for a call with no record; end not recorded');
      } else if (outcome === 'already-ended') {
        log.debug({ callId: e.callId }, 'call.ended repeated; first end kept');
      }
    }),
    on('transcript', (e) => async () => {
      await store.transcripts.add({ callId: e.callId, at: e.at, speaker: e.who, text: e.text });
    }),
    on('dtmf', (e) => async () => {
      await store.dtmf.add({ callId: e.callId, at: e.at, digit: e.digit });
    }),
    on('prompt.played', (e) => async () => {
      await store.prompts.add({
        callId: e.callId,
        promptId: e.promptId,
        text: e.text,
        startedAt: e.startedAt,
        endedAt: e.endedAt,
        heardInFull: e.heardInFull,
      });
    }),
  ];

  return {
    async flush() {
      // A finished chain may queue nothing new, but a listener may have queued more while we waited.
      while (tails.size > 0) await Promise.all([...tails.values()]);
    },
    detach() {
      for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
    },
  };
}
