/**
 * The call directory: which instance owns which live call, and which instances are alive. A call runs
 * where it started; whatever reaches another instance about it (a hangup callback, a stream, a
 * webhook bot's reply) is sent on to the owner the directory names. One process alone needs none of
 * this: `LocalCallDirectory` answers every question with "this instance". With `cluster.enabled` the
 * directory lives in Redis (src/cluster/redis-call-directory.ts), each instance holding a lease it
 * renews; an instance whose lease lapsed is lost, and a survivor ends its calls.
 */
import type { CallDirection } from '../events/call-events.js';

export interface InstanceInfo {
  /** `server.instanceId`. */
  id: string;
  /** Where siblings reach this instance directly (`cluster.internalUrl`), without the load balancer. */
  internalUrl: string;
  /** Epoch ms the instance started. */
  startedAt: number;
  /** Shutting down: it finishes its calls but takes no new ones. */
  draining: boolean;
}

/** A live call as the directory holds it: enough to route to its owner and to list it in the live view. */
export interface DirectoryCall {
  callId: string;
  /** The owning instance's id. */
  owner: string;
  carrier: string;
  /** The carrier's own id (Plivo CallUUID, Twilio CallSid, SIP Call-ID), once known. */
  carrierCallId?: string;
  direction: CallDirection;
  from: string;
  to: string;
  bot?: string;
  /** Epoch ms the call was offered. */
  startedAt: number;
  /** Its media leg is up and the conversation runs. */
  connected: boolean;
}

/** How a call is named by whatever reaches an instance about it. */
export type CallKey = { callId: string } | { carrier: string; carrierCallId: string };

export interface CallDirectory {
  /** This instance's id. */
  readonly instanceId: string;
  /** Whether other instances exist at all (false: every call is this instance's, nothing is forwarded). */
  readonly shared: boolean;
  /** Announces this instance and starts renewing its lease. */
  start(): Promise<void>;
  /** Stops the lease and removes this instance and its calls. */
  stop(): Promise<void>;
  /** Marks this instance draining (it keeps its calls, takes no new ones). */
  setDraining(draining: boolean): Promise<void>;
  /** Adds or updates one of this instance's calls. */
  register(call: Omit<DirectoryCall, 'owner'>): Promise<void>;
  /** Removes one of this instance's calls (it ended). */
  unregister(callId: string): Promise<void>;
  /** The live instance that owns the call, or undefined (unknown call, or its owner is lost). */
  ownerOf(key: CallKey): Promise<InstanceInfo | undefined>;
  /** A live instance by id (its lease still holds), or undefined. */
  instance(id: string): Promise<InstanceInfo | undefined>;
  /** Every live instance, this one included. */
  instances(): Promise<InstanceInfo[]>;
  /** Every live instance's calls, oldest first. */
  calls(): Promise<DirectoryCall[]>;
  /** Instances that announced themselves and whose lease has lapsed since. */
  lostInstances(): Promise<string[]>;
  /**
   * Claims the clean-up of a lost instance (only one survivor gets it) and returns the calls it left;
   * undefined when another survivor has the claim. `forgetLost` ends the clean-up.
   */
  claimLost(id: string): Promise<DirectoryCall[] | undefined>;
  /** Removes a lost instance and its calls from the directory once its calls are ended. */
  forgetLost(id: string): Promise<void>;
  /** Redis commands sent so far (the benchmark's per-call overhead). */
  readonly roundTrips: number;
}

/** One process alone: it owns every call it knows and no other instance exists. */
export class LocalCallDirectory implements CallDirectory {
  readonly shared = false;
  readonly roundTrips = 0;
  private readonly own = new Map<string, DirectoryCall>();
  private readonly self: InstanceInfo;

  constructor(
    readonly instanceId: string,
    internalUrl: string,
    startedAt: number,
  ) {
    this.self = { id: instanceId, internalUrl, startedAt, draining: false };
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.own.clear();
    return Promise.resolve();
  }

  setDraining(draining: boolean): Promise<void> {
    this.self.draining = draining;
    return Promise.resolve();
  }

  register(call: Omit<DirectoryCall, 'owner'>): Promise<void> {
    this.own.set(call.callId, { ...call, owner: this.instanceId });
    return Promise.resolve();
  }

  unregister(callId: string): Promise<void> {
    this.own.delete(callId);
    return Promise.resolve();
  }

  ownerOf(key: CallKey): Promise<InstanceInfo | undefined> {
    const known = 'callId' in key ? this.own.has(key.callId) : [...this.own.values()].some((c) => c.carrier === key.carrier && c.carrierCallId === key.carrierCallId);
    return Promise.resolve(known ? { ...this.self } : undefined);
  }

  instance(id: string): Promise<InstanceInfo | undefined> {
    return Promise.resolve(id === this.instanceId ? { ...this.self } : undefined);
  }

  instances(): Promise<InstanceInfo[]> {
    return Promise.resolve([{ ...this.self }]);
  }

  calls(): Promise<DirectoryCall[]> {
    return Promise.resolve([...this.own.values()].sort((a, b) => a.startedAt - b.startedAt));
  }

  lostInstances(): Promise<string[]> {
    return Promise.resolve([]);
  }

  claimLost(): Promise<DirectoryCall[] | undefined> {
    return Promise.resolve(undefined);
  }

  forgetLost(): Promise<void> {
    return Promise.resolve();
  }
}
