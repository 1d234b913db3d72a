/**
 * Fixtures for the management API tests: bare Fastify apps with one route plugin (no auth: the
 * scope plugin is tested on its own) and call records seeded through the real repositories.
 */
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Store } from '../../src/store/database.js';
import type { CallRecord } from '../../src/store/schema.js';
import { uniqueCallId } from './store-fixtures.js';

export async function bareApp<O extends object>(plugin: FastifyPluginAsync<O>, opts: O, prefix = '/api/v1'): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(plugin, { ...opts, prefix });
  await app.ready();
  return app;
}

export interface SeededCall {
  direction?: 'inbound' | 'outbound';
  from?: string;
  to?: string;
  bot?: string;
  startedAt: number;
  /** Talk time; with it the call is answered at startedAt and ended after it. */
  durationMs?: number;
  endReason?: string;
  hangupCause?: string;
  id?: string;
}

/** A call record as the record writer leaves it: started, answered and ended (unless no duration). */
export async function seedCall(store: Store, call: SeededCall): Promise<CallRecord> {
  const id = call.id ?? uniqueCallId('api');
  await store.calls.insertStarted({ id, carrier: 'plivo', carrierCallId: `plivo-${id}`, direction: call.direction ?? 'inbound', from: call.from ?? '+15550001', to: call.to ?? '+15559999', bot: call.bot ?? 'demo', startedAt: call.startedAt });
  if (call.durationMs !== undefined) {
    await store.calls.markAnswered(id, call.startedAt);
    await store.calls.complete(id, { endedAt: call.startedAt + call.durationMs, hangupCause: call.hangupCause ?? 'NORMAL_CLEARING', hangupSide: 'caller', endReason: call.endReason ?? 'caller-hangup', durationMs: call.durationMs });
  }
  return (await store.calls.get(id))!;
}
