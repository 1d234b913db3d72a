import { describe, expect, it } from 'vitest';
import { RecordingLeg, settle } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';
import { LOG_WARN, captureLogger } from '../support/captured-logger.js';

const LONG = 'Please listen carefully, as our menu options have changed.';
const UNCONFIRMED = 'carrier did not confirm clearing playout; the caller may still hear the cut prompt';

/** A call whose greeting plays for 10 s and may be cut by a key press, on a leg that confirms clears or not. */
async function callWithLongPrompt(confirmsClear: boolean) {
  const { logger, lines } = captureLogger();
  const leg = new RecordingLeg('call-1', 8000, { confirmsClear });
  const ctx = await startSession({ leg, logger, settings: { bargeInOnDTMF: true }, greeting: [{ text: LONG }], durationsMs: { [LONG]: 10_000 } });
  const bargeIn = async () => {
    ctx.leg.emit('dtmf', '0');
    await settle();
  };
  const logged = (msg: string) => lines.filter((l) => l.msg === msg);
  return { ...ctx, bargeIn, logged, warnings: () => lines.filter((l) => l.level === LOG_WARN).map((l) => l.msg) };
}

describe('barge-in: the carrier confirms clearing playout', () => {
  it('logs the confirmation latency at debug and warns about nothing', async () => {
    const { leg, clock, bargeIn, logged, warnings } = await callWithLongPrompt(false);
    clock.advance(500);
    await bargeIn();
    expect(leg.count('clear')).toBe(1);
    clock.advance(150);
    leg.emit('cleared');
    clock.advance(5000);
    expect(logged('carrier confirmed clearing playout')).toMatchObject([{ level: 20, latencyMs: 150 }]);
    expect(warnings()).toEqual([]);
  });

  it('warns once per call when the carrier does not confirm within 2 s', async () => {
    const { leg, bot, clock, bargeIn, warnings } = await callWithLongPrompt(false);
    await bargeIn();
    clock.advance(1999);
    expect(warnings()).toEqual([]);
    clock.advance(1);
    expect(warnings()).toEqual([UNCONFIRMED]);
    // A later unconfirmed clear in the same call does not warn again.
    bot.say({ text: LONG });
    await settle();
    await bargeIn();
    expect(leg.count('clear')).toBe(2);
    clock.advance(5000);
    expect(warnings()).toEqual([UNCONFIRMED]);
  });

  it('does not warn about a carrier that confirms at once (as the test leg does)', async () => {
    const { clock, bargeIn, logged, warnings } = await callWithLongPrompt(true);
    await bargeIn();
    clock.advance(5000);
    expect(logged('carrier confirmed clearing playout')).toMatchObject([{ latencyMs: 0 }]);
    expect(warnings()).toEqual([]);
  });

  it('does not warn when the call ends before the confirmation is due', async () => {
    const { leg, clock, bargeIn, warnings } = await callWithLongPrompt(false);
    await bargeIn();
    clock.advance(1000);
    leg.emit('hangup', { side: 'caller', cause: 'Normal Hangup' });
    await settle();
    clock.advance(5000);
    expect(warnings()).toEqual([]);
  });
});
