import { describe, expect, it } from 'vitest';
import { RecordingLeg, settle, type RecordingLegOptions } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';
import { LOG_WARN, captureLogger } from '../support/captured-logger.js';

/** A call on `leg` whose greeting has played out, with the warnings it logged. */
async function callOn(legOptions: RecordingLegOptions = {}) {
  const { logger, lines } = captureLogger();
  const ctx = await startSession({ leg: new RecordingLeg('call-1', 8000, legOptions), logger, greeting: [{ text: 'Hello.' }] });
  ctx.leg.playedAll();
  await settle();
  return { ...ctx, warnings: () => lines.filter((l) => l.level === LOG_WARN) };
}

const sendDtmf = { id: 'dtmf-1', type: 'event' as const, name: 'sendDtmf', activityParams: { dtmfDigits: '123#' } };
const transfer = { id: 'transfer-1', type: 'event' as const, name: 'transfer', activityParams: { transferTarget: 'tel:+15550100' } };

describe('a bot command the leg cannot carry out is refused, visibly', () => {
  it('sendDtmf on a leg without DTMF: nothing reaches the leg, a warning names command, capability and carrier, the bot gets commandFailed', async () => {
    const { leg, bot, session, warnings } = await callOn({ carrier: 'twilio', capabilities: { sendDtmf: false } });
    bot.say(sendDtmf);
    await settle();
    expect(leg.count('sendDtmf')).toBe(0);
    expect(warnings()).toMatchObject([{ msg: 'bot command sendDtmf refused: the twilio leg cannot send DTMF', command: 'sendDtmf', capability: 'sendDtmf', carrier: 'twilio' }]);
    // Sent although sendEventsToBot is empty: the bot asked for something that did not happen.
    expect(bot.events('commandFailed').map((a) => a.value)).toEqual([{ command: 'sendDtmf', activityId: 'dtmf-1', reason: 'the twilio leg cannot send DTMF' }]);
    expect(session.endedWith).toBeUndefined();
  });

  it('transfer on a leg that cannot transfer: the caller stays with the bot, which gets commandFailed', async () => {
    const { leg, bot, session, warnings } = await callOn({ carrier: 'plivo', capabilities: { transfer: false } });
    bot.say({ text: 'Connecting you.' }, transfer);
    await settle();
    leg.playedAll();
    await settle();
    expect(leg.count('transfer')).toBe(0);
    expect(warnings().map((w) => w.msg)).toEqual(['bot command transfer refused: the plivo leg cannot transfer calls']);
    expect(bot.events('commandFailed').map((a) => a.value)).toEqual([{ command: 'transfer', activityId: 'transfer-1', reason: 'the plivo leg cannot transfer calls' }]);
    expect(session.endedWith).toBeUndefined();
  });

  it('a leg that can do both still gets them, and the bot hears of no failure', async () => {
    const { leg, bot, session, warnings } = await callOn();
    bot.say(sendDtmf, transfer);
    await settle();
    expect(leg.commands.filter((c) => c.kind === 'sendDtmf' || c.kind === 'transfer')).toEqual([
      { kind: 'sendDtmf', digits: '123#' },
      { kind: 'transfer', target: 'tel:+15550100' },
    ]);
    expect(session.endedWith?.reason).toBe('transferred');
    expect(bot.events('commandFailed')).toEqual([]);
    expect(warnings()).toEqual([]);
  });

  it('digits the leg throws on are reported to the bot, and the activities after it still run', async () => {
    const { leg, bot, audio, warnings } = await callOn();
    leg.refuseDtmf('DTMF "#" cannot be sent on this carrier');
    bot.say(sendDtmf, { text: 'Done.' });
    await settle();
    expect(bot.events('commandFailed').map((a) => a.value)).toEqual([{ command: 'sendDtmf', activityId: 'dtmf-1', reason: 'DTMF "#" cannot be sent on this carrier' }]);
    expect(warnings().map((w) => w.msg)).toEqual(['bot command sendDtmf failed: DTMF "#" cannot be sent on this carrier']);
    expect(audio.spoken.map((r) => r.text)).toEqual(['Hello.', 'Done.']);
  });
});
