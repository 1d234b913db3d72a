/**
 * Closes the calls of lost instances. Every instance looks, each `cluster.heartbeatMs`, for instances
 * whose lease in the call directory lapsed; one survivor claims each (the directory's claim) and for
 * every call the lost instance held:
 *   - ends its record (cause and end reason `instance-lost`, at the last moment it was known alive),
 *   - hangs it up at the carrier, so the caller is not left on a line nobody serves,
 *   - closes what the dead instance would have reported: the outbound call's status and its dialout
 *     notification, the campaign attempt (`interrupted`: used up, never re-dialed) and its callback,
 *   - publishes `call.ended` (reason `instance-lost`) on this instance's bus, for live views.
 * Then the lost instance is forgotten.
 *
 * The bound: a SIGKILLed instance's lease lapses at most `leaseMs` after its last renewal, and some
 * survivor looks within `heartbeatMs` after that, so its calls are ended within leaseMs + heartbeatMs
 * plus the time the clean-up takes (a store write per call): with the defaults 10 s + 2.5 s, under 15 s.
 * If the survivor holding the claim dies mid-way, the claim lapses (60 s) and another one finishes.
 */
import type { Logger } from '../logger.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { Carrier } from '../carriers/carrier.js';
import type { EventBus } from '../events/bus.js';
import type { OutboundStatusEvent } from '../events/outbound-events.js';
import type { Store } from '../store/database.js';
import { INSTANCE_LOST, reconcileInterruptedCalls } from '../store/interrupted-calls.js';
import { conversationNotification, dialoutNotification, storedStatusCallback, type Notifier } from '../dialer/outbound-notifications.js';
import type { CallDirectory, DirectoryCall } from './call-directory.js';

export interface LostInstancesDeps {
  directory: CallDirectory;
  store: Store;
  carriers: { get(name: string): Carrier | undefined };
  bus: EventBus;
  /** Queues status callbacks in the shared outbox (the StatusNotifier). */
  notifier: Notifier;
  /** Ends the campaign attempt of a lost call (the CampaignRunner). */
  campaigns?: { interruptLostCall(conversationId: string, detail: string): Promise<boolean> };
  clock: Clock;
  logger: Logger;
  /** How often lost instances are looked for (`cluster.heartbeatMs`). */
  intervalMs: number;
}

/** What one lost instance's clean-up did. */
export interface LostInstanceClosed {
  instanceId: string;
  /** Calls the directory held for it. */
  calls: number;
  /** Call records ended with `instance-lost`. */
  recordsEnded: number;
  /** Calls the carrier confirmed it hung up. */
  hungUp: number;
  /** Outbound calls (and campaign attempts) closed with a final status. */
  outboundClosed: number;
}

const DETAIL = 'instance-lost: the gateway instance running the call stopped (its lease in the call directory lapsed)';
/** Records ended per store query (a lost instance may hold thousands of calls). */
const RECORD_BATCH = 500;
/** Carrier API requests at once: enough to be quick, few enough for the carrier's rate limit. */
const HANGUP_CONCURRENCY = 8;
const FINAL_OUTBOUND = new Set(['completed', 'failed']);

export class LostInstances {
  private timer: TimerHandle | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private started = false;
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly deps: LostInstancesDeps) {
    if (!(deps.intervalMs > 0)) throw new RangeError(`lost instances: intervalMs must be positive, got ${deps.intervalMs}`);
    this.log = deps.logger.child({ component: 'lost-instances' });
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    await this.running.catch(() => undefined);
  }

  /** Looks once for lost instances and closes the calls of those this instance claims (tests call it directly). */
  sweep(): Promise<LostInstanceClosed[]> {
    const run = this.running.catch(() => undefined).then(() => this.sweepNow());
    this.running = run;
    return run;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimeout(() => {
      void this.sweep()
        .catch((err: unknown) => this.log.warn({ err }, 'looking for lost instances failed; trying again at the next heartbeat'))
        .finally(() => this.schedule());
    }, this.deps.intervalMs);
  }

  private async sweepNow(): Promise<LostInstanceClosed[]> {
    const closed: LostInstanceClosed[] = [];
    for (const id of await this.deps.directory.lostInstances()) {
      if (this.stopped) break; // shutting down: another survivor takes the rest
      const calls = await this.deps.directory.claimLost(id);
      if (!calls) continue; // another survivor has it, or it came back
      const result = await this.close(id, calls);
      await this.deps.directory.forgetLost(id);
      this.log.warn({ ...result }, `gateway instance ${id} lost: ${result.calls} of its calls ended (${INSTANCE_LOST})`);
      closed.push(result);
    }
    return closed;
  }

  private async close(instanceId: string, calls: DirectoryCall[]): Promise<LostInstanceClosed> {
    const { store, bus, clock } = this.deps;
    const ended: string[] = [];
    const ids = calls.map((c) => c.callId);
    for (let i = 0; i < ids.length; i += RECORD_BATCH) {
      // Recordings are on the lost instance's disk: it closes them if it ever restarts.
      const batch = await reconcileInterruptedCalls(store, { callIds: ids.slice(i, i + RECORD_BATCH), restrictTo: (eb) => eb('instance_id', '=', instanceId), cause: INSTANCE_LOST, logger: this.log });
      ended.push(...batch.calls);
    }
    const at = clock.now();
    // The record is ended already: the record writer keeps that end; the live views drop the call.
    for (const callId of ended) bus.publish('call.ended', { callId, at, cause: INSTANCE_LOST, side: 'gateway', reason: INSTANCE_LOST });
    const [hungUp, outboundClosed] = await Promise.all([this.hangUp(calls), this.closeOutbound(calls)]);
    return { instanceId, calls: calls.length, recordsEnded: ended.length, hungUp, outboundClosed };
  }

  /** Asks each call's carrier to end it; resolves with how many the carrier ended. */
  private async hangUp(calls: DirectoryCall[]): Promise<number> {
    const queue = calls.filter((c) => c.carrierCallId);
    let hungUp = 0;
    const worker = async () => {
      for (let call = queue.shift(); call; call = queue.shift()) {
        const carrier = this.deps.carriers.get(call.carrier);
        if (!carrier?.hangupCall) {
          this.log.warn({ callId: call.callId, carrier: call.carrier }, 'lost call not hung up: its carrier has no hangup API here; the carrier ends it when its media stops');
          continue;
        }
        try {
          if (await carrier.hangupCall(call.carrierCallId!)) hungUp++;
        } catch (err) {
          this.log.warn({ err, callId: call.callId, carrier: call.carrier }, 'lost call could not be hung up at the carrier');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(HANGUP_CONCURRENCY, queue.length) }, worker));
    return hungUp;
  }

  /** Outbound calls: the final status, the dialout notification and the campaign attempt the lost instance owed. */
  private async closeOutbound(calls: DirectoryCall[]): Promise<number> {
    let closed = 0;
    // A half-written registration has no carrier and may be outbound: its row says.
    for (const call of calls.filter((c) => c.direction === 'outbound' || c.carrier === '')) {
      try {
        const statusClosed = await this.closeOutboundCall(call.callId);
        const attemptClosed = (await this.deps.campaigns?.interruptLostCall(call.callId, DETAIL)) ?? false;
        if (statusClosed || attemptClosed) closed++;
      } catch (err) {
        this.log.error({ err, callId: call.callId }, 'lost outbound call not closed; its status and callbacks stay unsent');
      }
    }
    return closed;
  }

  private async closeOutboundCall(callId: string): Promise<boolean> {
    const { store, notifier, clock } = this.deps;
    const row = await store.outboundCalls.get(callId);
    if (!row || FINAL_OUTBOUND.has(row.status)) return false;
    // Answered: the conversation was cut; before that, the call never got through.
    const status: 'completed' | 'failed' = row.status === 'answered' ? 'completed' : 'failed';
    await store.outboundCalls.update(callId, { status, reasonCode: 'error' }, clock.now());
    // The key the owner would have used: a notification it queued before dying is not sent twice.
    if (row.notifyUrl) notifier.notify(row.notifyUrl, dialoutNotification({ conversationId: callId, status, reasonCode: 'error', reason: DETAIL }), `${callId}:${status}`, { orderKey: callId });
    const callback = storedStatusCallback(row.request);
    if (callback) {
      const event: OutboundStatusEvent = { conversationId: callId, status, reasonCode: 'error', reason: DETAIL, endReason: INSTANCE_LOST, at: clock.now() };
      notifier.notify(callback.url, conversationNotification(event, row.target), `${callId}:${status}`, { orderKey: callId });
    }
    return true;
  }
}
