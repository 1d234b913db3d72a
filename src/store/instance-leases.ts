/**
 * Instance leases in the store: every gateway instance sharing it writes a heartbeat, and an
 * instance whose heartbeat stopped (killed, its machine gone) is dead. A live instance then ends the
 * calls the dead one left open (cause `instance-lost`; a restart of that same instance would have
 * ended them with `gateway-restart`), so history does not keep them live for ever when the dead
 * instance never comes back. With `cluster.enabled` the Redis call directory finds a lost instance
 * within seconds (src/cluster/lost-instances.ts); this slower sweep stays as the safety net. Its recordings stay on its own
 * disk, so only the call rows are closed here; the instance closes its files if it ever restarts.
 *
 * Several live instances may sweep the same dead one at once: ending a call keeps the first end, so
 * the second sweep changes nothing. Heartbeats are compared with the sweeper's own clock, so the
 * dead-after bound must be well above the clock skew between machines (NTP keeps it under a second).
 */
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { Logger } from '../logger.js';
import type { Store } from './database.js';
import { INSTANCE_LOST, reconcileInterruptedCalls } from './interrupted-calls.js';

export interface InstanceLeaseSettings {
  /** How often this instance writes its heartbeat and looks for dead siblings. */
  heartbeatMs: number;
  /** A sibling whose heartbeat is older than this is dead. */
  deadAfterMs: number;
}

export const DEFAULT_INSTANCE_LEASES: InstanceLeaseSettings = { heartbeatMs: 10_000, deadAfterMs: 60_000 };

export class InstanceLeases {
  private timer: TimerHandle | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly store: Store,
    readonly instanceId: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly settings: InstanceLeaseSettings = DEFAULT_INSTANCE_LEASES,
  ) {
    if (!(settings.deadAfterMs > settings.heartbeatMs * 2)) throw new RangeError(`instance leases: deadAfterMs (${settings.deadAfterMs}) must exceed two heartbeats (${settings.heartbeatMs} ms each)`);
  }

  /** Writes the first heartbeat and ends the calls of siblings already dead; then repeats every heartbeatMs. */
  async start(): Promise<void> {
    try {
      await this.beat(true);
      await this.sweep();
    } finally {
      // A store down at start does not stop the heartbeat: the next one writes the lease.
      this.schedule();
    }
  }

  /** Stops the heartbeat and removes this instance's lease (its calls were ended by the shutdown). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.running;
    await this.store.db
      .deleteFrom('gateway_instances')
      .where('instance_id', '=', this.instanceId)
      .execute()
      .catch((err: unknown) => this.logger.warn({ err, instanceId: this.instanceId }, 'instance lease not removed; siblings will treat it as dead once it expires'));
  }

  /** One heartbeat and sweep; resolves when done (tests drive it with a fake clock). */
  tick(): Promise<void> {
    this.running = this.running.then(async () => {
      try {
        await this.beat(false);
        await this.sweep();
      } catch (err) {
        // The store is down: the record writer raises the store alarm; the lease is tried again next time.
        this.logger.warn({ err, instanceId: this.instanceId }, 'instance heartbeat or sweep failed; retrying at the next heartbeat');
      }
    });
    return this.running;
  }

  /** Writes this instance's heartbeat (the whole lease when it is missing or `restarted`). */
  private async beat(restarted: boolean): Promise<void> {
    const now = this.clock.now();
    await this.store.db
      .insertInto('gateway_instances')
      .values({ instance_id: this.instanceId, started_at: now, heartbeat_at: now })
      .onConflict((oc) => oc.column('instance_id').doUpdateSet(restarted ? { started_at: now, heartbeat_at: now } : { heartbeat_at: now }))
      .execute();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      void this.tick().then(() => this.schedule());
    }, this.settings.heartbeatMs);
  }

  /** Ends the open calls of every sibling whose heartbeat stopped, then forgets the sibling. */
  private async sweep(): Promise<void> {
    const now = this.clock.now();
    const dead = await this.store.db
      .selectFrom('gateway_instances')
      .select(['instance_id', 'heartbeat_at'])
      .where('instance_id', '!=', this.instanceId)
      .where('heartbeat_at', '<', now - this.settings.deadAfterMs)
      .execute();
    for (const sibling of dead) {
      this.logger.warn({ instanceId: sibling.instance_id, lastHeartbeatAt: Number(sibling.heartbeat_at) }, 'gateway instance stopped heartbeating; ending the calls it left open');
      await reconcileInterruptedCalls(this.store, { startedBefore: now, cause: INSTANCE_LOST, restrictTo: (eb) => eb('instance_id', '=', sibling.instance_id), logger: this.logger });
      // Only if it did not come back meanwhile (a restart rewrites its heartbeat).
      await this.store.db.deleteFrom('gateway_instances').where('instance_id', '=', sibling.instance_id).where('heartbeat_at', '=', sibling.heartbeat_at).execute();
    }
  }
}
