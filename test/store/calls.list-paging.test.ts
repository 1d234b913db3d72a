import { expect, it } from 'vitest';
import { StoreInputError } from '../../src/store/input-checks.js';
import { describeOnEachDialect, uniqueCallId } from '../support/store-fixtures.js';

describeOnEachDialect('listing calls pages newest first', (ctx) => {
  it('returns pages of `limit` calls, and `before` continues from the last page', async () => {
    // Far-future start times so rows from other tests in this database sort after these.
    const base = 4_000_000_000_000;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const id = uniqueCallId('page');
      ids.push(id);
      await ctx.store.calls.insertStarted({
        id,
        carrier: 'sim',
        carrierCallId: `sim-${id}`,
        direction: 'outbound',
        from: '+1',
        to: `+1555000000${i}`,
        bot: 'b',
        startedAt: base + i * 1000,
      });
    }
    const newestFirst = [...ids].reverse();

    const first = await ctx.store.calls.list({ limit: 3 });
    expect(first.map((c) => c.id)).toEqual(newestFirst.slice(0, 3));
    const second = await ctx.store.calls.list({ limit: 3, before: first[2].startedAt });
    expect(second.map((c) => c.id)).toEqual(newestFirst.slice(3, 6));
    const third = await ctx.store.calls.list({ limit: 3, before: second[2].startedAt });
    expect(third[0].id).toBe(newestFirst[6]);
    expect(third.slice(1).every((c) => c.startedAt < base)).toBe(true);
  });

  it('with beforeId, calls started in the same millisecond are neither skipped nor repeated', async () => {
    const sameMs = 4_100_000_000_000;
    const ids = Array.from({ length: 5 }, (_, i) => `same-ms-${process.pid}-${i}`);
    for (const id of ids) {
      await ctx.store.calls.insertStarted({ id, carrier: 'sim', carrierCallId: id, direction: 'outbound', from: '+1', to: '+2', bot: 'b', startedAt: sameMs });
    }
    const seen: string[] = [];
    let page = await ctx.store.calls.list({ limit: 2 });
    while (page.length > 0 && page[0].startedAt === sameMs) {
      seen.push(...page.filter((c) => c.startedAt === sameMs).map((c) => c.id));
      const last = page[page.length - 1];
      page = await ctx.store.calls.list({ limit: 2, before: last.startedAt, beforeId: last.id });
    }
    expect(seen).toEqual([...ids].reverse());
    await expect(ctx.store.calls.list({ beforeId: ids[0] })).rejects.toThrow('call list: beforeId needs before');
  });

  it('finds a call by the id its carrier gave it', async () => {
    const id = uniqueCallId('lookup');
    await ctx.store.calls.insertStarted({
      id,
      carrier: 'twilio',
      carrierCallId: `CA${id}`,
      direction: 'inbound',
      from: '+1',
      to: '+2',
      bot: 'b',
      startedAt: 1_700_000_000_000,
    });
    expect((await ctx.store.calls.getByCarrierCallId(`CA${id}`))?.id).toBe(id);
    expect((await ctx.store.calls.getByCarrierCallId(`CA${id}`, 'twilio'))?.id).toBe(id);
    expect(await ctx.store.calls.getByCarrierCallId(`CA${id}`, 'plivo')).toBeUndefined();
    expect(await ctx.store.calls.getByCarrierCallId('no-such-carrier-id')).toBeUndefined();
  });

  it('rejects a page size outside 1..1000 naming the field', async () => {
    await expect(ctx.store.calls.list({ limit: 0 })).rejects.toThrow(StoreInputError);
    await expect(ctx.store.calls.list({ limit: 5000 })).rejects.toThrow(/limit must be an integer from 1 to 1000, got 5000/);
  });
});
