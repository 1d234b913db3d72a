/**
 * The service bus: what the views and judgements of the whole service listen to (the console's live
 * stream, alarm conditions). It carries every event of this process's own bus and, with
 * `cluster.enabled`, every event of the other instances, each once, in the order its instance
 * published them. One process alone needs nothing more: its service bus is its own bus.
 *
 * Other instances' events reach the service bus only, never this process's own bus: what listens
 * there (the record writer, metrics, status callbacks) acts for the calls this process owns, and
 * those are written and called back once, by their owner.
 *
 * On the wire (Redis channel `<cluster.keyPrefix>:events`, see fanout-channel.ts) an event is
 * `{"type":"<bus event name>","event":{...}}`. Every field of every bus event is already plain JSON:
 * times are epoch milliseconds, errors are their message strings, no Buffer, Date or Error object is
 * ever published. Absent optional fields stay absent; a received event is checked against its
 * schema below (extra fields are dropped) and refused, with a warning, when it does not fit.
 */
import { z } from 'zod';
import { EventBus, type BusEventMap } from '../events/bus.js';
import type { Logger } from '../logger.js';
import type { Clock } from '../runtime/clock.js';
import { RedisFanout, type FanoutChannel } from './fanout-channel.js';

const epochMs = z.number().finite();
const nullableMs = epochMs.nullable();

/** Every bus event's shape, for events that arrive from other instances. */
const EVENT_SCHEMAS = {
  'call.started': z.object({
    callId: z.string(),
    carrier: z.string(),
    carrierCallId: z.string(),
    direction: z.enum(['inbound', 'outbound']),
    from: z.string(),
    to: z.string(),
    bot: z.string(),
    at: epochMs,
  }),
  'call.answered': z.object({ callId: z.string(), at: epochMs }),
  'call.ended': z.object({
    callId: z.string(),
    at: epochMs,
    cause: z.string(),
    side: z.enum(['caller', 'gateway', 'carrier']),
    reason: z.string(),
    durationSec: z.number().finite().optional(),
  }),
  'call.transferred': z.object({ callId: z.string(), at: epochMs, target: z.string(), mode: z.enum(['blind', 'bridge']), reason: z.string().optional() }),
  transcript: z.object({ callId: z.string(), at: epochMs, who: z.enum(['bot', 'caller', 'system']), text: z.string() }),
  dtmf: z.object({ callId: z.string(), at: epochMs, digit: z.string() }),
  'prompt.played': z.object({ callId: z.string(), promptId: z.string(), text: z.string(), startedAt: epochMs, endedAt: epochMs, heardInFull: z.boolean() }),
  turn: z.object({
    callId: z.string(),
    seq: z.number().int(),
    inputKind: z.enum(['start', 'speech', 'dtmf', 'event']),
    inputText: z.string().nullable(),
    speechEndedAt: nullableMs,
    inputAt: epochMs,
    botSentAt: nullableMs,
    botAnsweredAt: nullableMs,
    firstAudioAt: nullableMs,
    sttMs: nullableMs,
    botMs: nullableMs,
    ttsMs: nullableMs,
    e2eMs: nullableMs,
    sttProvider: z.string().nullable(),
    ttsProvider: z.string().nullable(),
    bot: z.string(),
    outcome: z.enum(['answered', 'silent', 'no-answer', 'bot-error', 'tts-error']),
    error: z.string().nullable(),
  }),
  'recording.saved': z.object({
    callId: z.string(),
    path: z.string(),
    format: z.literal('wav'),
    sampleRate: z.number().int(),
    channels: z.number().int(),
    startedAt: epochMs,
    endedAt: epochMs,
    durationMs: z.number().finite(),
    status: z.enum(['complete', 'partial', 'failed']).optional(),
    error: z.string().optional(),
  }),
  'outbound.status': z.object({
    conversationId: z.string(),
    carrier: z.string().optional(),
    status: z.enum(['initiated', 'ringing', 'answered', 'completed', 'failed']),
    reasonCode: z.enum(['no-answer', 'busy', 'declined', 'error', 'machine-detected']).optional(),
    reason: z.string().optional(),
    at: epochMs,
    dtmf: z.string().optional(),
    endReason: z.string().optional(),
    durationMs: z.number().finite().optional(),
  }),
  'provider.error': z.object({
    kind: z.enum(['bot', 'stt', 'tts', 'carrier', 'store']),
    provider: z.string(),
    callId: z.string().optional(),
    error: z.string(),
    at: epochMs,
    fallback: z.string().optional(),
  }),
} satisfies { [K in keyof BusEventMap]: z.ZodType<BusEventMap[K], z.ZodTypeDef, unknown> };

/** Fails to compile when a bus event gains a field its schema lacks (it would be dropped on the way). */
type SchemaCovers<K extends keyof BusEventMap> = Exclude<keyof BusEventMap[K], keyof z.infer<(typeof EVENT_SCHEMAS)[K]>> extends never ? true : never;
const everyFieldCarried: { [K in keyof BusEventMap]: SchemaCovers<K> } = {
  'call.started': true,
  'call.answered': true,
  'call.ended': true,
  'call.transferred': true,
  transcript: true,
  dtmf: true,
  'prompt.played': true,
  turn: true,
  'recording.saved': true,
  'outbound.status': true,
  'provider.error': true,
};

/** Every event the service bus carries across instances: all of the bus's. */
export const SERVICE_EVENT_TYPES = Object.keys(everyFieldCarried) as (keyof BusEventMap)[];

type WireEvent = { [K in keyof BusEventMap]: { type: K; event: BusEventMap[K] } }[keyof BusEventMap];

/** Checks an event received from another instance; throws naming what is wrong. */
export function readWireEvent(body: unknown): WireEvent {
  if (typeof body !== 'object' || body === null) throw new Error('expected {"type":..., "event":{...}}');
  const { type, event } = body as { type?: unknown; event?: unknown };
  if (typeof type !== 'string' || !Object.hasOwn(EVENT_SCHEMAS, type)) throw new Error(`unknown event type ${JSON.stringify(type)?.slice(0, 60)}`);
  const parsed = EVENT_SCHEMAS[type as keyof BusEventMap].safeParse(event);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${type}: ${issue.path.join('.') || 'event'}: ${issue.message}`);
  }
  return { type, event: parsed.data } as WireEvent;
}

export interface ServiceEvents {
  /** This process's events and, in a cluster, every other instance's. */
  readonly bus: EventBus;
  /** The cluster's Redis channels (alarm changes and the leader lease use them too); undefined for one process alone. */
  readonly fanout: RedisFanout | undefined;
  close(): Promise<void>;
}

export interface ServiceEventsOptions {
  instanceId: string;
  /** Set with `cluster.enabled`. */
  cluster?: { redisUrl: string; keyPrefix: string };
  clock?: Clock;
  logger: Logger;
  /** How long opening waits for Redis before going on without it (it joins when Redis answers). Default 5000 ms. */
  connectTimeoutMs?: number;
}

/**
 * The service bus over `local`: `local` itself for one process alone; in a cluster a second bus fed
 * by `local` and by the other instances through Redis. Resolves once subscribed, or after
 * connectTimeoutMs with a warning (other instances' events then show up once Redis answers).
 */
export async function openServiceEvents(local: EventBus, opts: ServiceEventsOptions): Promise<ServiceEvents> {
  if (!opts.cluster) return { bus: local, fanout: undefined, close: () => Promise.resolve() };
  const logger = opts.logger.child({ component: 'service-events' });
  const fanout = new RedisFanout({ url: opts.cluster.redisUrl, keyPrefix: opts.cluster.keyPrefix, instanceId: opts.instanceId, clock: opts.clock, logger: opts.logger });
  const service = new EventBus(logger);
  const channel: FanoutChannel<WireEvent> = fanout.channel('events', readWireEvent, (wire) => publishOn(service, wire));
  const offs = SERVICE_EVENT_TYPES.map((type) =>
    local.subscribe(type, (event) => {
      const wire = { type, event } as WireEvent;
      publishOn(service, wire);
      channel.publish(wire);
    }),
  );
  const timeoutMs = opts.connectTimeoutMs ?? 5000;
  let timer: NodeJS.Timeout | undefined;
  const joined = await Promise.race([
    Promise.all([channel.subscribed, fanout.connected()]).then(() => true),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
  ]).finally(() => clearTimeout(timer));
  if (!joined) logger.warn({ timeoutMs }, 'service events: Redis not reachable yet; this instance shows only its own calls until it is');
  return {
    bus: service,
    fanout,
    async close() {
      for (const off of offs) off();
      channel.close();
      await fanout.close();
    },
  };
}

function publishOn(bus: EventBus, wire: WireEvent): void {
  (bus.publish as (type: keyof BusEventMap, event: BusEventMap[keyof BusEventMap]) => void)(wire.type, wire.event);
}
