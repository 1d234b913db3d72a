/**
 * Redis pub/sub channels shared by the instances of one cluster (`<cluster.keyPrefix>:<name>`): each
 * instance publishes what happened on it, tagged with its id, and hears what happened on the others
 * (its own messages come back too and are skipped).
 *
 * One connection publishes and fails fast while Redis is away: a remote view misses those messages,
 * but nothing on the call path ever waits for Redis. Another subscribes; ioredis reconnects it and
 * subscribes it again by itself. Messages are JSON envelopes `{"v":1,"origin":"<instanceId>","body":...}`;
 * one that does not parse, or whose body the channel's reader refuses, is dropped with a
 * rate-limited warning naming what was wrong.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import { RateLimitedWarnings } from '../runtime/rate-limited-warnings.js';

export interface RedisFanoutOptions {
  url: string;
  /** `cluster.keyPrefix`. */
  keyPrefix: string;
  instanceId: string;
  clock?: Clock;
  logger: Logger;
}

/** Checks a received body and returns it typed; throws an Error whose message says what was wrong. */
export type FanoutReader<T> = (body: unknown) => T;

export interface FanoutChannel<T> {
  /** The Redis channel's name. */
  readonly name: string;
  /** Sends to the other instances; never throws, never waits (a failure is logged, rate limited). */
  publish(body: T): void;
  /** Resolves once the subscription holds (messages published before it are not heard). */
  readonly subscribed: Promise<void>;
  close(): void;
}

interface Envelope {
  v: 1;
  origin: string;
  body: unknown;
}

const ENVELOPE_VERSION = 1;

export class RedisFanout {
  readonly instanceId: string;
  readonly keyPrefix: string;
  /** The connection that publishes; other short commands of the cluster (the leader lease) use it too. */
  readonly commands: Redis;
  private readonly subscriber: Redis;
  private readonly readers = new Map<string, { read: FanoutReader<unknown>; deliver: (body: unknown, origin: string) => void }>();
  private readonly warnings: RateLimitedWarnings;
  private readonly logger: Logger;
  private lostSubscription = false;
  private closed = false;

  constructor(opts: RedisFanoutOptions) {
    this.instanceId = opts.instanceId;
    this.keyPrefix = opts.keyPrefix;
    this.logger = opts.logger.child({ component: 'cluster-fanout' });
    this.warnings = new RateLimitedWarnings(this.logger, opts.clock ?? systemClock);
    // No offline queue: while Redis is away a publish fails at once instead of piling up in memory.
    this.commands = new Redis(opts.url, { commandTimeout: 2000, maxRetriesPerRequest: 1, enableOfflineQueue: false });
    // Retried until Redis answers: a subscription must come back by itself after an outage.
    this.subscriber = new Redis(opts.url, { maxRetriesPerRequest: null, autoResubscribe: true });
    for (const [role, client] of [['publisher', this.commands], ['subscriber', this.subscriber]] as const) {
      client.on('error', (err: Error) => this.warnings.warn(`redis-error-${role}`, `cluster fan-out: Redis error on the ${role} connection (${err.message}); events of other instances may be missed until it is back`));
    }
    this.subscriber.on('close', () => {
      if (!this.closed) this.lostSubscription = true;
    });
    this.subscriber.on('ready', () => {
      if (!this.lostSubscription) return;
      this.lostSubscription = false;
      this.logger.info('cluster fan-out: subscribed again after losing Redis; what other instances published meanwhile was not heard');
    });
    this.subscriber.on('message', (channel: string, message: string) => this.receive(channel, message));
  }

  /** `<keyPrefix>:<name>`. */
  key(name: string): string {
    return `${this.keyPrefix}:${name}`;
  }

  /** Resolves once the publishing connection is up (publishes before it fail). */
  async connected(): Promise<void> {
    if (this.commands.status === 'ready') return;
    await new Promise<void>((resolve) => this.commands.once('ready', () => resolve()));
  }

  /** Joins channel `<keyPrefix>:<name>`: `deliver` gets the other instances' messages that `read` accepts. */
  channel<T>(name: string, read: FanoutReader<T>, deliver: (body: T, origin: string) => void): FanoutChannel<T> {
    const channel = this.key(name);
    if (this.readers.has(channel)) throw new Error(`cluster fan-out: channel ${channel} is already joined`);
    this.readers.set(channel, { read, deliver: deliver as (body: unknown, origin: string) => void });
    const subscribed = this.subscriber.subscribe(channel).then(() => undefined);
    // Awaited by whoever needs it; a failure here is only logged (the subscription is retried with the connection).
    subscribed.catch((err: unknown) => this.warnings.warn(`subscribe-${channel}`, `cluster fan-out: could not subscribe to ${channel} (${(err as Error).message})`));
    return {
      name: channel,
      subscribed,
      publish: (body: T) => this.publish(channel, body),
      close: () => {
        if (!this.readers.delete(channel) || this.closed) return;
        this.subscriber.unsubscribe(channel).catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.readers.clear();
    await Promise.all([this.commands, this.subscriber].map((client) => client.quit().catch(() => client.disconnect())));
  }

  private publish(channel: string, body: unknown): void {
    if (this.closed) return;
    let message: string;
    try {
      message = JSON.stringify({ v: ENVELOPE_VERSION, origin: this.instanceId, body } satisfies Envelope);
    } catch (err) {
      this.warnings.warn(`unserializable-${channel}`, `cluster fan-out: a message for ${channel} cannot be sent as JSON (${(err as Error).message}); dropped`);
      return;
    }
    this.commands.publish(channel, message).catch((err: unknown) => {
      this.warnings.warn(`publish-${channel}`, `cluster fan-out: not published on ${channel} (${(err as Error).message}); other instances miss it, this one goes on`);
    });
  }

  private receive(channel: string, message: string): void {
    const reader = this.readers.get(channel);
    if (!reader) return;
    let envelope: Envelope;
    let body: unknown;
    try {
      envelope = parseEnvelope(message);
      if (envelope.origin === this.instanceId) return;
      body = reader.read(envelope.body);
    } catch (err) {
      this.warnings.warn(`malformed-${channel}`, `cluster fan-out: dropped a malformed message on ${channel}: ${(err as Error).message}`, { sample: message.slice(0, 200) });
      return;
    }
    try {
      reader.deliver(body, envelope.origin);
    } catch (err) {
      this.logger.error({ err, channel, origin: envelope.origin }, 'cluster fan-out: a message of another instance was not handled');
    }
  }
}

function parseEnvelope(message: string): Envelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    throw new Error('not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('expected a JSON object envelope {v, origin, body}');
  const { v, origin, body } = parsed as Partial<Envelope>;
  if (v !== ENVELOPE_VERSION) throw new Error(`envelope version: expected ${ENVELOPE_VERSION}, got ${JSON.stringify(v)}`);
  if (typeof origin !== 'string' || origin.length === 0) throw new Error('envelope origin: expected the sending instance id');
  return { v, origin, body };
}
