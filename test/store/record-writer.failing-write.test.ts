import { expect, it, vi } from 'vitest';
import { EventBus } from '../../src/events/bus.js';
import { attachRecordWriter } from '../../src/store/record-writer.js';
import { describeOnEachDialect, uniqueCallId } from '../support/store-fixtures.js';
import { captureLogger, LOG_ERROR, LOG_WARN } from '../support/captured-logger.js';
import { FakeClock } from '../support/fake-clock.js';

const T0 = 1_700_000_000_000;

function started(callId: string) {
  return {
    callId,
    carrier: 'plivo',
    carrierCallId: `p-${callId}`,
    direction: 'inbound' as const,
    from: '+14155550100',
    to: '+14155550199',
    bot: 'support-bot',
    at: T0,
  };
}

describeOnEachDialect('the record writer survives failing writes', (ctx) => {
  it('an end for a call never started is logged as a warning, no row is made, and the next call is recorded', async () => {
    const { logger, lines } = captureLogger();
    const bus = new EventBus(logger);
    const writer = attachRecordWriter(bus, ctx.store, logger);
    const ghost = uniqueCallId('ghost');
    const next = uniqueCallId('next');

    bus.publish('call.ended', { callId: ghost, at: T0, cause: 'Normal Hangup', side: 'caller', reason: 'caller-hangup' });
    bus.publish('call.started', started(next));
    bus.publish('call.ended', { callId: next, at: T0 + 4000, cause: 'Normal Hangup', side: 'caller', reason: 'caller-hangup' });
    await writer.flush();
    writer.detach();

    expect(await ctx.store.calls.get(ghost)).toBeUndefined();
    expect(lines.filter((l) => l.level === LOG_WARN && l.callId === ghost).map((l) => l.msg)).toEqual([
      'call.ended for a call with no record; end not recorded',
    ]);
    expect(await ctx.store.calls.get(next)).toMatchObject({ endedAt: T0 + 4000, endReason: 'caller-hangup' });
  });

  it('a rejected write (transcript for an unknown call, bad digit) is logged with the call id and the queue moves on', async () => {
    const { logger, lines } = captureLogger();
    const bus = new EventBus(logger);
    const writer = attachRecordWriter(bus, ctx.store, logger);
    const orphan = uniqueCallId('orphan');
    const live = uniqueCallId('live');

    bus.publish('call.started', started(live));
    bus.publish('transcript', { callId: orphan, at: T0 + 10, who: 'caller', text: 'hello?' }); // no call row: foreign key
    bus.publish('dtmf', { callId: live, at: T0 + 20, digit: 'Z' }); // not a DTMF key
    bus.publish('transcript', { callId: live, at: T0 + 30, who: 'caller', text: 'still here' });
    bus.publish('dtmf', { callId: live, at: T0 + 40, digit: '9' });
    await writer.flush();
    writer.detach();

    const errors = lines.filter((l) => l.level === LOG_ERROR && l.msg === 'call record write failed');
    // Different calls write concurrently, so their failures may be logged in either order.
    expect(errors.map((l) => `${l.callId} ${l.event}`).sort()).toEqual([`${live} dtmf`, `${orphan} transcript`]);
    expect(errors.find((l) => l.callId === live)?.err?.message).toBe('dtmf event: digit must be one of 0-9 * # A-D, got "Z"');
    expect(await ctx.store.transcripts.listForCall(orphan)).toEqual([]);
    expect((await ctx.store.transcripts.listForCall(live)).map((l) => l.text)).toEqual(['still here']);
    expect((await ctx.store.dtmf.listForCall(live)).map((d) => d.digit)).toEqual(['9']);
    // Nothing reached the bus's own error path: the writer never throws into publish().
    expect(lines.some((l) => l.msg === 'event subscriber failed')).toBe(false);
  });

  it('a start the database rejects (duplicate call id) is logged and the first record stays intact', async () => {
    const { logger, lines } = captureLogger();
    const bus = new EventBus(logger);
    const writer = attachRecordWriter(bus, ctx.store, logger);
    const id = uniqueCallId('dup');

    bus.publish('call.started', started(id));
    bus.publish('call.started', { ...started(id), carrier: 'twilio', at: T0 + 99 });
    bus.publish('call.answered', { callId: id, at: T0 + 500 });
    await writer.flush();
    writer.detach();

    expect(await ctx.store.calls.get(id)).toMatchObject({ carrier: 'plivo', startedAt: T0, answeredAt: T0 + 500 });
    expect(lines.filter((l) => l.level === LOG_ERROR && l.callId === id).map((l) => l.event)).toEqual(['call.started']);
  });

  it('a closed store keeps the writes queued; a bounded flush gives up naming the calls left unwritten, and publishing never throws', async () => {
    const { logger, lines } = captureLogger();
    const bus = new EventBus(logger);
    const clock = new FakeClock();
    const closed = await ctx.reopen();
    await closed.close();
    const writer = attachRecordWriter(bus, closed, logger, { clock });
    const id = uniqueCallId('closed');

    expect(() => bus.publish('call.started', started(id))).not.toThrow();
    bus.publish('transcript', { callId: id, at: T0 + 1, who: 'bot', text: 'hi' });
    const flushed = writer.flush({ timeoutMs: 2000 });
    await vi.waitUntil(() => writer.health().failing);
    clock.advance(2000);
    expect(await flushed).toEqual({ unwritten: 2 });
    writer.detach();
    writer.stop();

    const errors = lines.filter((l) => l.level === LOG_ERROR);
    expect(errors[0]).toMatchObject({ callId: id, event: 'call.started', waiting: 2 });
    expect(errors[0].msg).toMatch(/^record store cannot take writes \(.*destroyed.*\); keeping them queued in order and retrying$/);
    expect(errors.some((l) => l.msg === `flush gave up after 2000 ms: 2 call record writes left unwritten for 1 calls (oldest first: ${id})`)).toBe(true);
  });

  it('after detach, events are no longer recorded', async () => {
    const bus = new EventBus();
    const { logger } = captureLogger();
    const writer = attachRecordWriter(bus, ctx.store, logger);
    writer.detach();
    const id = uniqueCallId('detached');
    bus.publish('call.started', started(id));
    await writer.flush();
    expect(await ctx.store.calls.get(id)).toBeUndefined();
  });
});
