import { expect, it } from 'vitest';
import type { CallStart } from '../../src/store/call-repository.js';
import { describeOnEachDialect, uniqueCallId } from '../support/store-fixtures.js';

const T0 = 1_700_000_000_000;

function callStart(id: string): CallStart {
  return { id, carrier: 'plivo', carrierCallId: `p-${id}`, direction: 'inbound', from: '+1', to: '+2', bot: 'b', startedAt: T0 };
}

describeOnEachDialect('ending a call twice keeps the first end', (ctx) => {
  it('a second complete changes nothing and says the call was already ended', async () => {
    const id = uniqueCallId();
    await ctx.store.calls.insertStarted(callStart(id));
    await ctx.store.calls.markAnswered(id, T0 + 1000);

    expect(await ctx.store.calls.complete(id, { endedAt: T0 + 5000, hangupCause: 'Normal Hangup', hangupSide: 'caller', endReason: 'caller-hangup' })).toBe('completed');
    // The carrier's late hangup webhook after Voxgate already recorded the caller's hangup.
    expect(await ctx.store.calls.complete(id, { endedAt: T0 + 7000, hangupCause: 'timeout', hangupSide: 'carrier', endReason: 'error', durationMs: 99_000 })).toBe('already-ended');

    expect(await ctx.store.calls.get(id)).toMatchObject({
      endedAt: T0 + 5000,
      durationMs: 4000,
      hangupCause: 'Normal Hangup',
      hangupSide: 'caller',
      endReason: 'caller-hangup',
    });
  });

  it('two ends racing from two connections record exactly one of them', async () => {
    const id = uniqueCallId('race');
    await ctx.store.calls.insertStarted(callStart(id));
    const other = await ctx.reopen();
    const outcomes = await Promise.all([
      ctx.store.calls.complete(id, { endedAt: T0 + 100, hangupCause: 'a', hangupSide: 'caller', endReason: 'caller-hangup' }),
      other.calls.complete(id, { endedAt: T0 + 200, hangupCause: 'b', hangupSide: 'gateway', endReason: 'bot-hangup' }),
    ]);
    expect([...outcomes].sort()).toEqual(['already-ended', 'completed']);
    // The stored end is wholly the winner's, never a mix of the two.
    const expected =
      outcomes[0] === 'completed'
        ? { hangupCause: 'a', endedAt: T0 + 100, hangupSide: 'caller' }
        : { hangupCause: 'b', endedAt: T0 + 200, hangupSide: 'gateway' };
    expect(await ctx.store.calls.get(id)).toMatchObject(expected);
  });

  it('the first answer time is kept when the answer is reported again', async () => {
    const id = uniqueCallId('answer');
    await ctx.store.calls.insertStarted(callStart(id));
    expect(await ctx.store.calls.markAnswered(id, T0 + 900)).toBe(true);
    expect(await ctx.store.calls.markAnswered(id, T0 + 2500)).toBe(false);
    expect((await ctx.store.calls.get(id))?.answeredAt).toBe(T0 + 900);
  });

  it('completing a call that was never started reports it as unknown and creates no row', async () => {
    const id = uniqueCallId('ghost');
    expect(await ctx.store.calls.complete(id, { endedAt: T0, hangupCause: 'x', hangupSide: 'carrier', endReason: 'error' })).toBe('unknown-call');
    expect(await ctx.store.calls.get(id)).toBeUndefined();
  });
});
