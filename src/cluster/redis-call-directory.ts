/**
 * The call directory in Redis, shared by every instance of one cluster (keys under
 * `<cluster.keyPrefix>:cluster:`):
 *   inst:<id>        this instance's InstanceInfo (JSON), expiring after leaseMs unless renewed: the lease
 *   instances        the ids of every instance that announced itself and was not forgotten since
 *   call:<callId>    a live call (JSON DirectoryCall)
 *   ccid:<carrier>:<carrierCallId> -> callId
 *   calls:<id>       the ids of an instance's live calls
 *   lost:<id>        the claim of the survivor cleaning up after a lost instance
 * Registering and unregistering a call are one round trip each (MULTI); finding a call's owner is one
 * (a script). Calls carry no expiry of their own: they leave with their call, or with their instance
 * when it is lost. Lua scripts name keys they compute, so this needs a standalone Redis (or a
 * primary with replicas), not Redis Cluster.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import { RateLimitedWarnings } from '../runtime/rate-limited-warnings.js';
import type { CallDirectory, CallKey, DirectoryCall, InstanceInfo } from './call-directory.js';

export interface RedisCallDirectoryOptions {
  url: string;
  /** `cluster.keyPrefix`. */
  keyPrefix: string;
  instanceId: string;
  internalUrl: string;
  heartbeatMs: number;
  leaseMs: number;
  clock: Clock;
  logger: Logger;
  /** How long one survivor's claim on a lost instance holds before another may try (default 60 s). */
  claimMs?: number;
}

/** ARGV: prefix, 'call'|'ccid', key. Returns the owner's lease (InstanceInfo JSON) or nil. */
const OWNER_SCRIPT = `
local p = ARGV[1]
local callId = ARGV[3]
if ARGV[2] == 'ccid' then
  callId = redis.call('GET', p .. 'ccid:' .. ARGV[3])
  if not callId then return nil end
end
local call = redis.call('GET', p .. 'call:' .. callId)
if not call then return nil end
local owner = cjson.decode(call)['owner']
return redis.call('GET', p .. 'inst:' .. owner)
`;

/** ARGV: prefix, lost id, then its call ids. Forgets the instance unless its lease came back. */
const FORGET_SCRIPT = `
local p = ARGV[1]
local id = ARGV[2]
for i = 3, #ARGV do
  local call = redis.call('GET', p .. 'call:' .. ARGV[i])
  if call then
    local c = cjson.decode(call)
    if c['owner'] == id then
      if c['carrierCallId'] then redis.call('DEL', p .. 'ccid:' .. c['carrier'] .. ':' .. c['carrierCallId']) end
      redis.call('DEL', p .. 'call:' .. ARGV[i])
    end
  end
  redis.call('SREM', p .. 'calls:' .. id, ARGV[i])
end
if redis.call('EXISTS', p .. 'inst:' .. id) == 0 then
  redis.call('SREM', p .. 'instances', id)
  if redis.call('SCARD', p .. 'calls:' .. id) == 0 then redis.call('DEL', p .. 'calls:' .. id) end
end
redis.call('DEL', p .. 'lost:' .. id)
return 1
`;

export class RedisCallDirectory implements CallDirectory {
  readonly shared = true;
  readonly instanceId: string;
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly self: InstanceInfo;
  /** This instance's calls, to unregister them (and their carrier-id key) in one round trip. */
  private readonly own = new Map<string, DirectoryCall>();
  private readonly warnings: RateLimitedWarnings;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private sent = 0;

  constructor(private readonly opts: RedisCallDirectoryOptions) {
    if (!(opts.leaseMs > 2 * opts.heartbeatMs)) throw new RangeError(`call directory: leaseMs (${opts.leaseMs}) must exceed two heartbeats (${opts.heartbeatMs} ms each)`);
    this.instanceId = opts.instanceId;
    this.prefix = `${opts.keyPrefix}:cluster:`;
    this.self = { id: opts.instanceId, internalUrl: opts.internalUrl, startedAt: opts.clock.now(), draining: false };
    this.warnings = new RateLimitedWarnings(opts.logger, opts.clock);
    this.redis = new Redis(opts.url, { commandTimeout: 2000, maxRetriesPerRequest: 1 });
    this.redis.on('error', (err: Error) => this.warnings.warn('redis-error', `call directory: Redis error (${err.message})`));
  }

  get roundTrips(): number {
    return this.sent;
  }

  async start(): Promise<void> {
    await this.beat();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    try {
      const multi = this.redis.multi().del(this.key('inst', this.instanceId)).srem(this.key('instances'), this.instanceId);
      for (const call of this.own.values()) this.removeCall(multi, call);
      multi.del(this.key('calls', this.instanceId));
      this.sent++;
      await multi.exec();
    } catch (err) {
      this.opts.logger.warn({ err, instanceId: this.instanceId }, 'call directory: this instance was not removed from Redis; its lease expires by itself');
    } finally {
      this.own.clear();
      await this.redis.quit().catch(() => this.redis.disconnect());
    }
  }

  async setDraining(draining: boolean): Promise<void> {
    this.self.draining = draining;
    await this.beat();
  }

  async register(call: Omit<DirectoryCall, 'owner'>): Promise<void> {
    const entry: DirectoryCall = { ...call, owner: this.instanceId };
    const before = this.own.get(call.callId);
    this.own.set(call.callId, entry);
    const multi = this.redis.multi().set(this.key('call', call.callId), JSON.stringify(entry));
    if (before?.carrierCallId && before.carrierCallId !== call.carrierCallId) multi.del(this.ccidKey(before.carrier, before.carrierCallId));
    if (call.carrierCallId) multi.set(this.ccidKey(call.carrier, call.carrierCallId), call.callId);
    multi.sadd(this.key('calls', this.instanceId), call.callId);
    this.sent++;
    await multi.exec();
  }

  async unregister(callId: string): Promise<void> {
    const call = this.own.get(callId);
    if (!call) return;
    this.own.delete(callId);
    const multi = this.redis.multi();
    this.removeCall(multi, call);
    this.sent++;
    await multi.exec();
  }

  async ownerOf(key: CallKey): Promise<InstanceInfo | undefined> {
    if ('callId' in key && this.own.has(key.callId)) return { ...this.self };
    const [mode, value] = 'callId' in key ? ['call', key.callId] : ['ccid', `${key.carrier}:${key.carrierCallId}`];
    this.sent++;
    const lease = (await this.redis.eval(OWNER_SCRIPT, 0, this.prefix, mode, value)) as string | null;
    return lease ? parseLease(lease) : undefined;
  }

  async instance(id: string): Promise<InstanceInfo | undefined> {
    if (id === this.instanceId) return { ...this.self };
    this.sent++;
    const lease = await this.redis.get(this.key('inst', id));
    return lease ? parseLease(lease) : undefined;
  }

  async instances(): Promise<InstanceInfo[]> {
    this.sent++;
    const ids = await this.redis.smembers(this.key('instances'));
    if (ids.length === 0) return [];
    this.sent++;
    const leases = await this.redis.mget(ids.map((id) => this.key('inst', id)));
    return leases.flatMap((lease) => (lease ? [parseLease(lease)] : []));
  }

  async calls(): Promise<DirectoryCall[]> {
    const live = await this.instances();
    if (live.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const instance of live) pipeline.smembers(this.key('calls', instance.id));
    this.sent++;
    const ids = ((await pipeline.exec()) ?? []).flatMap(([err, members]) => (err ? [] : (members as string[])));
    if (ids.length === 0) return [];
    this.sent++;
    const entries = await this.redis.mget(ids.map((id) => this.key('call', id)));
    return entries.flatMap((entry) => (entry ? [JSON.parse(entry) as DirectoryCall] : [])).sort((a, b) => a.startedAt - b.startedAt);
  }

  async lostInstances(): Promise<string[]> {
    this.sent++;
    const ids = (await this.redis.smembers(this.key('instances'))).filter((id) => id !== this.instanceId);
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.exists(this.key('inst', id));
    this.sent++;
    const exists = (await pipeline.exec()) ?? [];
    return ids.filter((_, i) => exists[i]?.[1] === 0);
  }

  async claimLost(id: string): Promise<DirectoryCall[] | undefined> {
    this.sent++;
    const claimed = await this.redis.set(this.key('lost', id), this.instanceId, 'PX', this.opts.claimMs ?? 60_000, 'NX');
    if (claimed !== 'OK') return undefined;
    this.sent++;
    // It may have come back meanwhile (restarted under the same id): then its calls are its own again.
    const [[, back], [, callIds]] = ((await this.redis.pipeline().exists(this.key('inst', id)).smembers(this.key('calls', id)).exec()) ?? []) as [[unknown, number], [unknown, string[]]];
    if (back === 1) {
      await this.redis.del(this.key('lost', id));
      return undefined;
    }
    if (callIds.length === 0) return [];
    this.sent++;
    const entries = await this.redis.mget(callIds.map((callId) => this.key('call', callId)));
    const calls = entries.flatMap((entry) => (entry ? [JSON.parse(entry) as DirectoryCall] : []));
    // Ids whose entry is gone still name calls of the lost instance (a half-written registration).
    const named = new Set(calls.map((c) => c.callId));
    for (const callId of callIds) if (!named.has(callId)) calls.push({ callId, owner: id, carrier: '', direction: 'inbound', from: '', to: '', startedAt: 0, connected: false });
    return calls.sort((a, b) => a.startedAt - b.startedAt);
  }

  async forgetLost(id: string): Promise<void> {
    this.sent++;
    const callIds = await this.redis.smembers(this.key('calls', id));
    this.sent++;
    await this.redis.eval(FORGET_SCRIPT, 0, this.prefix, id, ...callIds);
  }

  private removeCall(multi: ReturnType<Redis['multi']>, call: DirectoryCall): void {
    multi.del(this.key('call', call.callId)).srem(this.key('calls', this.instanceId), call.callId);
    if (call.carrierCallId) multi.del(this.ccidKey(call.carrier, call.carrierCallId));
  }

  /** Renews the lease (and re-announces the instance, in case a survivor forgot it during a long pause). */
  private async beat(): Promise<void> {
    this.sent++;
    await this.redis.multi().set(this.key('inst', this.instanceId), JSON.stringify(this.self), 'PX', this.opts.leaseMs).sadd(this.key('instances'), this.instanceId).exec();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.opts.clock.setTimeout(() => {
      void this.beat()
        .catch((err: unknown) => this.warnings.warn('heartbeat', `call directory: lease not renewed (${(err as Error).message}); siblings take this instance for lost after ${this.opts.leaseMs} ms without one`))
        .finally(() => this.schedule());
    }, this.opts.heartbeatMs);
  }

  private key(kind: string, id?: string): string {
    return id === undefined ? `${this.prefix}${kind}` : `${this.prefix}${kind}:${id}`;
  }

  private ccidKey(carrier: string, carrierCallId: string): string {
    return `${this.prefix}ccid:${carrier}:${carrierCallId}`;
  }
}

function parseLease(lease: string): InstanceInfo {
  return JSON.parse(lease) as InstanceInfo;
}
