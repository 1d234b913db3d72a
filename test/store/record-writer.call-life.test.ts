import { expect, it } from 'vitest';
import { EventBus } from '../../src/events/bus.js';
import { silentLogger } from '../../src/logger.js';
import { attachRecordWriter } from '../../src/store/record-writer.js';
import { describeOnEachDialect, uniqueCallId } from '../support/store-fixtures.js';

const T0 = 1_700_000_000_000;

describeOnEachDialect('a call published on the bus leaves a full record', (ctx) => {
  it('writes the call, transcript, keys and prompts with the values published', async () => {
    const bus = new EventBus();
    const writer = attachRecordWriter(bus, ctx.store, silentLogger());
    const callId = uniqueCallId();

    bus.publish('call.started', {
      callId,
      carrier: 'plivo',
      carrierCallId: `plivo-${callId}`,
      direction: 'inbound',
      from: '+14155550100',
      to: '+14155550199',
      bot: 'support-bot',
      at: T0,
    });
    bus.publish('call.answered', { callId, at: T0 + 1200 });
    bus.publish('prompt.played', {
      callId,
      promptId: 'greeting',
      text: 'Hello, how can I help?',
      startedAt: T0 + 1300,
      endedAt: T0 + 3100,
      heardInFull: true,
    });
    bus.publish('transcript', { callId, at: T0 + 1300, who: 'bot', text: 'Hello, how can I help?' });
    bus.publish('transcript', { callId, at: T0 + 4000, who: 'caller', text: 'My order is late' });
    bus.publish('dtmf', { callId, at: T0 + 5000, digit: '4' });
    bus.publish('dtmf', { callId, at: T0 + 5300, digit: '#' });
    bus.publish('prompt.played', {
      callId,
      promptId: 'order-status',
      text: 'https://example.com/audio/status.wav',
      startedAt: T0 + 6000,
      endedAt: T0 + 6800,
      heardInFull: false,
    });
    bus.publish('transcript', { callId, at: T0 + 6500, who: 'system', text: 'barge-in' });
    bus.publish('call.ended', { callId, at: T0 + 9200, cause: 'Normal Hangup', side: 'caller', reason: 'caller-hangup' });
    await writer.flush();
    writer.detach();

    expect(await ctx.store.calls.get(callId)).toEqual({
      id: callId,
      carrier: 'plivo',
      carrierCallId: `plivo-${callId}`,
      direction: 'inbound',
      from: '+14155550100',
      to: '+14155550199',
      bot: 'support-bot',
      startedAt: T0,
      answeredAt: T0 + 1200,
      endedAt: T0 + 9200,
      durationMs: 8000, // answer to end: the carrier gave no figure
      hangupCause: 'Normal Hangup',
      hangupSide: 'caller',
      endReason: 'caller-hangup',
      transferTarget: null,
      transferMode: null,
      transferReason: null,
      transferredAt: null,
      instanceId: null,
    });
    expect((await ctx.store.calls.getByCarrierCallId(`plivo-${callId}`))?.id).toBe(callId);

    const transcript = await ctx.store.transcripts.listForCall(callId);
    expect(transcript.map(({ at, speaker, text }) => ({ at, speaker, text }))).toEqual([
      { at: T0 + 1300, speaker: 'bot', text: 'Hello, how can I help?' },
      { at: T0 + 4000, speaker: 'caller', text: 'My order is late' },
      { at: T0 + 6500, speaker: 'system', text: 'barge-in' },
    ]);
    expect(transcript.every((l) => l.callId === callId && typeof l.id === 'number')).toBe(true);

    const keys = await ctx.store.dtmf.listForCall(callId);
    expect(keys.map(({ at, digit }) => ({ at, digit }))).toEqual([
      { at: T0 + 5000, digit: '4' },
      { at: T0 + 5300, digit: '#' },
    ]);

    const prompts = await ctx.store.prompts.listForCall(callId);
    expect(prompts.map(({ promptId, text, startedAt, endedAt, heardInFull }) => ({ promptId, text, startedAt, endedAt, heardInFull }))).toEqual([
      { promptId: 'greeting', text: 'Hello, how can I help?', startedAt: T0 + 1300, endedAt: T0 + 3100, heardInFull: true },
      {
        promptId: 'order-status',
        text: 'https://example.com/audio/status.wav',
        startedAt: T0 + 6000,
        endedAt: T0 + 6800,
        heardInFull: false,
      },
    ]);
  });

  it("uses the carrier's duration when the end event carries one, and 0 for a call never answered", async () => {
    const bus = new EventBus();
    const writer = attachRecordWriter(bus, ctx.store, silentLogger());
    const billed = uniqueCallId('billed');
    const unanswered = uniqueCallId('unanswered');
    for (const callId of [billed, unanswered]) {
      bus.publish('call.started', {
        callId,
        carrier: 'twilio',
        carrierCallId: `CA-${callId}`,
        direction: 'outbound',
        from: '+442071838750',
        to: '+442071838751',
        bot: 'dialer-bot',
        at: T0,
      });
    }
    bus.publish('call.answered', { callId: billed, at: T0 + 3000 });
    bus.publish('call.ended', { callId: billed, at: T0 + 20_000, cause: 'completed', side: 'gateway', reason: 'bot-hangup', durationSec: 17 });
    bus.publish('call.ended', { callId: unanswered, at: T0 + 30_000, cause: 'no-answer', side: 'carrier', reason: 'no-answer' });
    await writer.flush();
    writer.detach();

    expect(await ctx.store.calls.get(billed)).toMatchObject({ durationMs: 17_000, hangupSide: 'gateway', endReason: 'bot-hangup' });
    expect(await ctx.store.calls.get(unanswered)).toMatchObject({
      answeredAt: null,
      endedAt: T0 + 30_000,
      durationMs: 0,
      hangupCause: 'no-answer',
      hangupSide: 'carrier',
    });
  });

  it('keeps writing other calls while one call is mid-flight, each in its own order', async () => {
    const bus = new EventBus();
    const writer = attachRecordWriter(bus, ctx.store, silentLogger());
    const ids = Array.from({ length: 20 }, () => uniqueCallId('burst'));
    // Interleave calls the way concurrent calls publish: starts, then lines, then ends, no awaiting in between.
    ids.forEach((callId, i) =>
      bus.publish('call.started', {
        callId,
        carrier: 'sim',
        carrierCallId: `sim-${callId}`,
        direction: 'inbound',
        from: '+15550000000',
        to: '+15550000001',
        bot: 'echo',
        at: T0 + i,
      }),
    );
    for (const callId of ids) bus.publish('transcript', { callId, at: T0 + 100, who: 'caller', text: `hi from ${callId}` });
    for (const callId of ids) bus.publish('call.ended', { callId, at: T0 + 500, cause: 'hangup', side: 'caller', reason: 'caller-hangup' });
    await writer.flush();
    writer.detach();

    for (const callId of ids) {
      expect((await ctx.store.calls.get(callId))?.endedAt).toBe(T0 + 500);
      expect((await ctx.store.transcripts.listForCall(callId)).map((l) => l.text)).toEqual([`hi from ${callId}`]);
    }
  });
});
