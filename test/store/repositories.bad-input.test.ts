import { expect, it } from 'vitest';
import { StoreInputError } from '../../src/store/input-checks.js';
import { describeOnEachDialect, uniqueCallId } from '../support/store-fixtures.js';

describeOnEachDialect('repositories reject bad values naming the field', (ctx) => {
  it('names the field and the value for each kind of record', async () => {
    const id = uniqueCallId('bad');
    const start = { id, carrier: 'plivo', carrierCallId: 'c', direction: 'inbound' as const, from: '+1', to: '+2', bot: 'b', startedAt: 1_700_000_000_000 };

    await expect(ctx.store.calls.insertStarted({ ...start, direction: 'sideways' as never })).rejects.toThrow(
      new StoreInputError('call start: direction must be one of inbound, outbound, got "sideways"'),
    );
    await expect(ctx.store.calls.insertStarted({ ...start, startedAt: Number.NaN })).rejects.toThrow(
      'call start: startedAt must be a time in epoch milliseconds, got NaN',
    );
    await expect(ctx.store.calls.insertStarted({ ...start, id: '' })).rejects.toThrow('call start: id must be a non-empty string, got ""');
    await ctx.store.calls.insertStarted(start);
    await expect(
      ctx.store.calls.complete(id, { endedAt: 1_700_000_001_000, hangupCause: 'x', hangupSide: 'nobody' as never, endReason: 'error' }),
    ).rejects.toThrow('call end: hangupSide must be one of caller, gateway, carrier, got "nobody"');
    await expect(ctx.store.transcripts.add({ callId: id, at: 1, speaker: 'robot' as never, text: 'x' })).rejects.toThrow(
      'transcript line: speaker must be one of bot, caller, system, got "robot"',
    );
    await expect(
      ctx.store.prompts.add({ callId: id, promptId: 'p', text: 't', startedAt: 1, endedAt: 2, heardInFull: 'yes' as never }),
    ).rejects.toThrow('prompt: heardInFull must be a boolean, got string');

    // The rejected end left the call open: a valid end still applies.
    expect((await ctx.store.calls.get(id))?.endedAt).toBeNull();
  });
});
