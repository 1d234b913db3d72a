import { describe, expect, it } from 'vitest';
import { BotDirectory } from '../../src/app/bot-directory.js';
import { LiveCalls } from '../../src/app/live-calls.js';
import { configSchema } from '../../src/config/schema.js';
import { EventBus, type BusEventMap } from '../../src/events/bus.js';
import { silentLogger } from '../../src/logger.js';
import { FakeClock } from '../support/fake-clock.js';
import { RecordingLeg, ScriptedBot, ToneAudioSource, settle, testCallInfo } from '../support/call-doubles.js';

async function setup(connector: () => ScriptedBot = () => new ScriptedBot([{ text: 'Hello.' }])) {
  const config = configSchema.parse({
    carriers: { plivo: {}, twilio: {} },
    bots: [
      { name: 'plivo-bot', type: 'flow' },
      { name: 'twilio-bot', type: 'flow' },
    ],
    routes: [
      { number: '+15559870002', bot: 'twilio-bot', carrier: 'twilio' },
      { number: '*', bot: 'plivo-bot' },
    ],
  });
  const directory = await BotDirectory.load(config, connector);
  const bus = new EventBus();
  const ended: BusEventMap['call.ended'][] = [];
  const started: BusEventMap['call.started'][] = [];
  bus.subscribe('call.ended', (e) => void ended.push(e));
  bus.subscribe('call.started', (e) => void started.push(e));
  const calls = new LiveCalls({ bots: directory, audio: new ToneAudioSource(), bus, clock: new FakeClock(), logger: silentLogger() });
  return { calls, ended, started };
}

describe('the one live-call registry', () => {
  it('finds a call by its carrier and the carrier\'s id from the offer on, routes by the carrier the number belongs to, and remembers it ended', async () => {
    const { calls, started, ended } = await setup();
    const twilioCall = { ...testCallInfo, callId: 'vx-t', carrier: 'twilio', carrierCallId: 'CA1' };
    const plivoCall = { ...testCallInfo, callId: 'vx-p', carrier: 'plivo', carrierCallId: 'CA1' };
    const answering = [calls.callAnswered(twilioCall), calls.callAnswered(plivoCall)];
    // Registered at once: a hangup arriving while the caller still rings finds the call.
    expect(calls.findCall('twilio', 'CA1')?.info.callId).toBe('vx-t');
    expect(calls.findCall('plivo', 'CA1')?.info.callId).toBe('vx-p');
    await Promise.all(answering);
    expect(started.map((s) => [s.callId, s.carrier, s.bot])).toEqual([
      ['vx-t', 'twilio', 'twilio-bot'],
      ['vx-p', 'plivo', 'plivo-bot'], // the same number through Plivo is not the Twilio route's
    ]);

    const leg = new RecordingLeg('vx-t', 8000, { carrier: 'twilio' });
    calls.legStarted(twilioCall, leg);
    expect(calls.findCall('twilio', 'CA1')?.leg).toBe(leg);
    const legEnded = new Promise((resolve) => leg.once('hangup', resolve));
    calls.callEnded('vx-t', { cause: 'Completed', side: 'caller', durationSec: 3 });
    // The carrier's callback ends the leg too, and the call is remembered as ended.
    expect(await legEnded).toEqual({ cause: 'Completed', side: 'caller' });
    expect(calls.findCall('twilio', 'CA1')).toBeUndefined();
    expect(calls.endedCall('twilio', 'CA1')).toBe('vx-t');
    expect(calls.endedCall('plivo', 'CA1')).toBeUndefined();
    expect(ended).toEqual([expect.objectContaining({ callId: 'vx-t', reason: 'caller-hangup', durationSec: 3 })]);
    calls.endAll();
  });

  it('a call the gateway cannot start is refused and not kept: the record ends with config-error', async () => {
    const { calls, ended } = await setup(() => {
      throw new Error('bot "plivo-bot" could not be created: missing secret');
    });
    await expect(calls.callAnswered(testCallInfo)).rejects.toThrow(/missing secret/);
    await settle();
    expect(calls.size).toBe(0);
    expect(calls.findCall(testCallInfo.carrier, testCallInfo.carrierCallId)).toBeUndefined();
    expect(calls.endedCall(testCallInfo.carrier, testCallInfo.carrierCallId)).toBe(testCallInfo.callId);
    expect(ended).toEqual([expect.objectContaining({ callId: testCallInfo.callId, reason: 'config-error', side: 'gateway', cause: expect.stringMatching(/^Voxgate could not start the call: bot "plivo-bot" could not be created/) })]);
  });
});
