import { afterEach, describe, expect, it } from 'vitest';
import { CallSession } from '../../src/call/call-session.js';
import { DEFAULT_CALL_SETTINGS } from '../../src/call/settings.js';
import { EventBus } from '../../src/events/bus.js';
import { silentLogger } from '../../src/logger.js';
import { RecordingLeg, ToneAudioSource, settle, testCallInfo } from '../support/call-doubles.js';
import { cxText } from '../support/dialogflow-cx-server.js';
import { CxFixture } from './cx-fixture.js';

/** A real CallSession on a recording leg, with a Dialogflow CX agent behind it. */
async function callWithAgent(f: CxFixture) {
  const leg = new RecordingLeg();
  const audio = new ToneAudioSource();
  const session = new CallSession({ info: testCallInfo, leg, bot: f.connector, audio, settings: DEFAULT_CALL_SETTINGS, bus: new EventBus(), clock: f.clock, logger: silentLogger(), ttsProvider: 'tone' });
  await session.start();
  return { leg, audio, session };
}

describe('Dialogflow CX in a call: what the caller hears and what happens to the call', () => {
  let f: CxFixture;
  afterEach(() => f.close());

  it('greets, takes a keypad choice, says goodbye and hangs up once the goodbye has played', async () => {
    f = await new CxFixture().start();
    f.cx.reply({ responseMessages: [cxText('Press 1 for opening hours.')] }, { responseMessages: [cxText('We are open nine to five. Goodbye!'), { endInteraction: {} }] });
    const { leg, audio, session } = await callWithAgent(f);
    await f.batchesReceived(1);
    await settle();
    expect(audio.spoken.map((r) => r.text)).toEqual(['Press 1 for opening hours.']);
    expect(f.cx.requests[0].body.queryParams?.parameters).toMatchObject({ caller: testCallInfo.from, callee: testCallInfo.to });

    leg.playedAll(); // the caller heard the menu
    await settle();
    leg.emit('dtmf', '1');
    await f.batchesReceived(2);
    await settle();
    expect(f.cx.requests[1].body.queryInput.dtmf).toEqual({ digits: '1' });
    expect(audio.spoken.map((r) => r.text)).toEqual(['Press 1 for opening hours.', 'We are open nine to five. Goodbye!']);
    expect(leg.count('hangup')).toBe(0); // not before the caller heard the goodbye
    leg.playedAll();
    await settle();
    expect(leg.commands.at(-1)).toEqual({ kind: 'hangup', reason: 'dialogflow-cx-end-interaction' });
    expect(session.endedWith?.reason).toBe('bot-hangup');
  });

  it('apologizes and hangs up as bot-error when the agent is unreachable at start', async () => {
    f = await new CxFixture().start();
    f.cx.reply({ error: { code: 503, status: 'UNAVAILABLE', message: 'The service is currently unavailable.' } });
    const { leg, audio, session } = await callWithAgent(f);
    await f.failure();
    await settle();
    expect(audio.spoken).toHaveLength(1); // the failure apology
    leg.playedAll();
    await settle();
    expect(leg.commands.at(-1)).toEqual({ kind: 'hangup', reason: 'bot-error' });
    expect(session.endedWith?.reason).toBe('bot-error');
  });
});
