import { describe, expect, it } from 'vitest';
import { RecordingLeg, settle } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';
import { LOG_ERROR, captureLogger } from '../support/captured-logger.js';

const REFUSAL = 'Plivo answered 400: call is not in progress';

/** The bot says goodbye and transfers; the carrier rejects the transfer once the goodbye has played. */
async function rejectedTransfer(sendEventsToBot: string[] = []) {
  const { logger, lines } = captureLogger();
  const leg = new RecordingLeg();
  leg.refuseTransfers(REFUSAL);
  const ctx = await startSession({
    leg,
    logger,
    settings: { sendEventsToBot },
    greeting: [{ text: 'Connecting you.' }, { id: 'transfer-1', type: 'event', name: 'transfer', activityParams: { transferTarget: 'tel:+15550100' } }],
  });
  ctx.leg.playedAll();
  await settle();
  return { ...ctx, errors: () => lines.filter((l) => l.level === LOG_ERROR).map((l) => l.msg) };
}

describe('a transfer the carrier rejects', () => {
  it('is reported to the bot as commandFailed, and the conversation goes on', async () => {
    const { leg, bot, session, audio, errors } = await rejectedTransfer();
    expect(leg.commands.at(-1)).toEqual({ kind: 'transfer', target: 'tel:+15550100' });
    expect(errors()).toEqual(['transfer failed; conversation continues']);
    expect(bot.events('commandFailed').map((a) => a.value)).toEqual([{ command: 'transfer', activityId: 'transfer-1', reason: REFUSAL }]);
    expect(bot.events('transferStatus')).toEqual([]); // optional: not listed in sendEventsToBot
    expect(session.endedWith).toBeUndefined();
    bot.say({ text: 'Sorry, nobody is available. Can I help otherwise?' });
    await settle();
    expect(audio.spoken.map((r) => r.text)).toEqual(['Connecting you.', 'Sorry, nobody is available. Can I help otherwise?']);
  });

  it('also sends transferStatus failed when the bot listed it in sendEventsToBot', async () => {
    const { bot } = await rejectedTransfer(['transferStatus']);
    expect(bot.events('transferStatus').map((a) => a.value)).toEqual([{ status: 'failed', reason: REFUSAL }]);
    expect(bot.events('commandFailed')).toHaveLength(1);
  });
});
