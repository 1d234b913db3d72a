/**
 * Instances sharing one store heartbeat in it. When one stops heartbeating (killed, its machine gone)
 * and never comes back, a live sibling ends the calls it left open; a sibling that heartbeats, or one
 * that restarted in time, keeps its calls.
 */
import { expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { InstanceLeases } from '../../src/store/instance-leases.js';
import { FakeClock } from '../support/fake-clock.js';
import { describeOnEachDialect, uniqueCallId } from '../support/store-fixtures.js';

const SETTINGS = { heartbeatMs: 10_000, deadAfterMs: 60_000 };

describeOnEachDialect('instance leases in a shared store', (ctx) => {
  function start(id: string, at: number, instanceId: string) {
    return ctx.store.calls.insertStarted({ id, carrier: 'plivo', carrierCallId: `p-${id}`, direction: 'inbound', from: '+1', to: '+2', bot: 'b', startedAt: at, instanceId });
  }

  /** Runs every heartbeat due by now on each instance (the fake clock fires their timers in order). */
  async function advance(clock: FakeClock, ms: number, leases: InstanceLeases[]): Promise<void> {
    for (let left = ms; left > 0; left -= SETTINGS.heartbeatMs) {
      clock.advance(Math.min(SETTINGS.heartbeatMs, left));
      for (const lease of leases) await lease.tick();
    }
  }

  it('a live instance ends the open calls of a sibling that stopped heartbeating, and only those', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    // b runs on a clock of its own that never moves: once started, it never heartbeats again (as if killed).
    const frozen = new FakeClock(clock.now());
    const [a, b, c] = (['gw-a', 'gw-b', 'gw-c'] as const).map((id) => new InstanceLeases(ctx.store, `${id}-${uniqueCallId('x')}`, id === 'gw-b' ? frozen : clock, silentLogger(), SETTINGS));
    for (const lease of [a, b, c]) await lease.start();
    const callOfB = uniqueCallId('b');
    const callOfC = uniqueCallId('c');
    await start(callOfB, clock.now(), b.instanceId);
    await ctx.store.calls.markAnswered(callOfB, clock.now() + 500);
    await ctx.store.transcripts.add({ callId: callOfB, at: clock.now() + 4000, speaker: 'caller', text: 'hello?' });
    await start(callOfC, clock.now(), c.instanceId);

    // b is killed: no more heartbeats, no shutdown. a and c go on.
    await advance(clock, SETTINGS.deadAfterMs - SETTINGS.heartbeatMs, [a, c]);
    expect(await ctx.store.calls.get(callOfB)).toMatchObject({ endedAt: null });

    await advance(clock, 2 * SETTINGS.heartbeatMs, [a, c]);
    expect(await ctx.store.calls.get(callOfB)).toMatchObject({ endedAt: 1_700_000_000_000 + 4000, hangupCause: 'instance-lost', endReason: 'instance-lost', durationMs: 3500 });
    expect(await ctx.store.calls.get(callOfC)).toMatchObject({ endedAt: null });
    const leased = await ctx.store.db.selectFrom('gateway_instances').select('instance_id').execute();
    expect(leased.map((l) => l.instance_id)).not.toContain(b.instanceId);

    for (const lease of [a, c]) await lease.stop();
    await ctx.store.calls.complete(callOfC, { endedAt: clock.now(), hangupCause: 'Normal Hangup', hangupSide: 'caller', endReason: 'caller-hangup' });
  });

  it('an instance that restarts before it counts as dead keeps its calls for its own reconciliation', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const a = new InstanceLeases(ctx.store, `gw-a-${uniqueCallId('x')}`, clock, silentLogger(), SETTINGS);
    const bId = `gw-b-${uniqueCallId('x')}`;
    await a.start();
    // Killed: its clock never moves, so it never heartbeats again.
    await new InstanceLeases(ctx.store, bId, new FakeClock(clock.now()), silentLogger(), SETTINGS).start();
    const call = uniqueCallId('b');
    await start(call, clock.now(), bId);

    await advance(clock, SETTINGS.deadAfterMs / 2, [a]);
    const restarted = new InstanceLeases(ctx.store, bId, clock, silentLogger(), SETTINGS);
    await restarted.start();
    await advance(clock, SETTINGS.deadAfterMs, [a, restarted]);

    expect(await ctx.store.calls.get(call)).toMatchObject({ endedAt: null });
    for (const lease of [a, restarted]) await lease.stop();
    await ctx.store.calls.complete(call, { endedAt: clock.now(), hangupCause: 'Normal Hangup', hangupSide: 'caller', endReason: 'caller-hangup' });
  });

  it('refuses a dead-after bound that two heartbeats could miss', () => {
    expect(() => new InstanceLeases(ctx.store, 'gw', new FakeClock(), silentLogger(), { heartbeatMs: 10_000, deadAfterMs: 15_000 })).toThrow(/deadAfterMs \(15000\) must exceed two heartbeats/);
  });
});
