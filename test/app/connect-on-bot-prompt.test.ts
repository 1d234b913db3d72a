import { describe, expect, it } from 'vitest';
import { BotDirectory } from '../../src/app/bot-directory.js';
import { LiveCalls } from '../../src/app/live-calls.js';
import { configSchema } from '../../src/config/schema.js';
import { EventBus, type BusEventMap } from '../../src/events/bus.js';
import { silentLogger } from '../../src/logger.js';
import { FakeClock } from '../support/fake-clock.js';
import { RecordingLeg, ScriptedBot, ToneAudioSource, settle, testCallInfo } from '../support/call-doubles.js';

async function setup(settings: Record<string, unknown> = {}) {
  const config = configSchema.parse({ bots: [{ name: 'demo', type: 'flow', settings }] });
  const bots: ScriptedBot[] = [];
  const directory = await BotDirectory.load(config, () => {
    const bot = new ScriptedBot();
    bots.push(bot);
    return bot;
  });
  const clock = new FakeClock();
  const bus = new EventBus();
  const answered: BusEventMap['call.answered'][] = [];
  bus.subscribe('call.answered', (e) => void answered.push(e));
  const turns: BusEventMap['turn'][] = [];
  bus.subscribe('turn', (e) => void turns.push(e));
  const calls = new LiveCalls({ bots: directory, audio: new ToneAudioSource(), bus, clock, logger: silentLogger() });
  return { calls, bots, clock, answered, turns };
}

/** Whether a promise has settled, without waiting for it. */
async function isSettled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await settle();
  return done;
}

describe('connect on bot prompt', () => {
  it('keeps the caller ringing until the bot’s first message is ready, then hands that message to the call', async () => {
    const { calls, bots, answered } = await setup();
    const answering = calls.callAnswered(testCallInfo);
    expect(bots).toHaveLength(1);
    expect(bots[0].startInfo?.conversationId).toBe(testCallInfo.callId); // started while ringing
    expect(await isSettled(answering)).toBe(false);
    expect(answered).toEqual([]);

    bots[0].say({ text: 'Welcome to Acme.' });
    await answering;
    expect(answered).toHaveLength(1);

    const leg = new RecordingLeg(testCallInfo.callId);
    calls.legStarted(testCallInfo, leg);
    await settle();
    expect(bots).toHaveLength(1); // the session took over the started bot
    expect(leg.count('play')).toBeGreaterThan(0); // the greeting said while ringing is played
    calls.endAll();
  });

  it('the opening turn counts the bot’s time from its start while ringing, under the configured bot name', async () => {
    const { calls, bots, clock, turns } = await setup();
    const answering = calls.callAnswered(testCallInfo);
    clock.advance(800);
    bots[0].say({ text: 'Welcome to Acme.' });
    await answering;
    const leg = new RecordingLeg(testCallInfo.callId);
    calls.legStarted(testCallInfo, leg);
    await settle();
    calls.endAll();
    expect(turns[0]).toMatchObject({ seq: 0, inputKind: 'start', botMs: 800, bot: 'demo', outcome: 'answered' });
  });

  it('answers anyway after connectOnBotPromptTimeoutMS when the bot stays silent', async () => {
    const { calls, clock } = await setup({ connectOnBotPromptTimeoutMS: 3000 });
    const answering = calls.callAnswered(testCallInfo);
    clock.advance(2999);
    expect(await isSettled(answering)).toBe(false);
    clock.advance(1);
    expect(await isSettled(answering)).toBe(true);
    calls.endAll();
  });

  it('with connectOnBotPrompt off, answers at once and starts the bot only when the media arrives', async () => {
    const { calls, bots } = await setup({ connectOnBotPrompt: false });
    await calls.callAnswered(testCallInfo);
    expect(bots.every((b) => b.startInfo === undefined)).toBe(true);
    const leg = new RecordingLeg(testCallInfo.callId);
    calls.legStarted(testCallInfo, leg);
    await settle();
    expect(bots.at(-1)?.startInfo?.conversationId).toBe(testCallInfo.callId);
    calls.endAll();
  });

  it('a caller who hangs up while ringing ends the bot conversation that was started for them', async () => {
    const { calls, bots, answered } = await setup();
    const answering = calls.callAnswered(testCallInfo);
    calls.callEnded(testCallInfo.callId, { cause: 'Normal Hangup', side: 'caller' });
    bots[0].say({ text: 'Welcome.' });
    await answering;
    expect(bots[0].endedWith).toBe('client-disconnected');
    expect(answered).toEqual([]);
  });

  it('answers at once when the bot fails to start, so the caller hears the apology', async () => {
    const { calls, bots } = await setup();
    const answering = calls.callAnswered(testCallInfo);
    bots[0].emit('failure', new Error('bot unreachable'));
    expect(await isSettled(answering)).toBe(true);
    calls.endAll();
  });
});
