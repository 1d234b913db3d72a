import { describe, expect, it } from 'vitest';
import { BotDirectory } from '../../src/app/bot-directory.js';
import { LiveCalls } from '../../src/app/live-calls.js';
import type { Carrier } from '../../src/carriers/carrier.js';
import { configSchema } from '../../src/config/schema.js';
import { EventBus, type BusEventMap } from '../../src/events/bus.js';
import { silentLogger } from '../../src/logger.js';
import { FakeClock } from '../support/fake-clock.js';
import { RecordingLeg, ScriptedBot, ToneAudioSource, settle, testCallInfo } from '../support/call-doubles.js';

/**
 * A call the bot handed over (blind transfer) goes on at the carrier without Voxgate: its stream closes
 * and no hangup callback comes until the caller and the agent are done. The reaper must not take that
 * for a lost call and hang the caller up at the carrier.
 */
describe('a blind transfer is left alone by the reaper', () => {
  it('after the grace the record ends as transferred; the carrier is neither asked nor told to hang up', async () => {
    const config = configSchema.parse({ bots: [{ name: 'b', type: 'flow' }], routes: [{ number: '*', bot: 'b' }] });
    const bot = new ScriptedBot([{ text: 'Connecting you.' }, { type: 'event', name: 'transfer', activityParams: { transferTarget: 'tel:+15550100' } }]);
    const directory = await BotDirectory.load(config, () => bot);
    const bus = new EventBus();
    const clock = new FakeClock();
    const asked: string[] = [];
    const carrier: Pick<Carrier, 'callState' | 'hangupCall'> = {
      callState: async (id) => (asked.push(`state ${id}`), { live: true, status: 'in-progress' }),
      hangupCall: async (id) => (asked.push(`hangup ${id}`), true),
    };
    const calls = new LiveCalls({ bots: directory, audio: new ToneAudioSource(), bus, clock, logger: silentLogger(), carriers: { get: () => carrier as Carrier } });
    const ended: BusEventMap['call.ended'][] = [];
    bus.subscribe('call.ended', (e) => void ended.push(e));

    await calls.callAnswered(testCallInfo);
    const leg = new RecordingLeg(testCallInfo.callId);
    calls.legStarted(testCallInfo, leg);
    await settle();
    leg.playedAll(); // the greeting played: the transfer runs
    await settle();
    expect(leg.commands.filter((c) => c.kind === 'transfer')).toHaveLength(1);
    leg.emit('hangup', { cause: 'Media Closed', side: 'carrier' }); // the carrier moved the call off the stream
    clock.advance(5_000);
    await settle();
    expect(ended).toEqual([expect.objectContaining({ callId: testCallInfo.callId, reason: 'transferred' })]);
    expect(asked).toEqual([]);
    expect(calls.size).toBe(0);
    expect(calls.reaper.size).toBe(0);
  });
});
