import { describe, expect, it } from 'vitest';
import { RecordingLeg, ScriptedStt, settle } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';
import { LOG_WARN, captureLogger } from '../support/captured-logger.js';

const settings = { failureSpeech: 'Let me get you a person.', failureTransferTarget: 'tel:+15550100' };

describe('a failure transfer target on a leg that cannot transfer', () => {
  it('falls back to hanging up after the apology (reason bot-error), and says why in the log', async () => {
    const { logger, lines } = captureLogger();
    const leg = new RecordingLeg('call-1', 8000, { carrier: 'plivo', capabilities: { transfer: false } });
    const { bot, session, audio } = await startSession({ leg, logger, settings });
    bot.emit('failure', new Error('bot unreachable'));
    await settle();
    expect(audio.spoken.map((r) => r.text)).toEqual(['Let me get you a person.']);
    expect(leg.count('hangup')).toBe(0); // the apology plays first
    leg.playedAll();
    await settle();
    expect(leg.count('transfer')).toBe(0);
    expect(leg.commands.at(-1)).toEqual({ kind: 'hangup', reason: 'bot-error' });
    expect(session.endedWith).toMatchObject({ reason: 'bot-error', byGateway: true });
    expect(lines.filter((l) => l.level === LOG_WARN)).toMatchObject([
      { msg: 'failureTransferTarget not used: the plivo leg cannot transfer calls; hanging up instead', target: 'tel:+15550100', carrier: 'plivo' },
    ]);
  });

  it('does the same when a speech provider fails (reason stt-error)', async () => {
    const stt = new ScriptedStt();
    const leg = new RecordingLeg('call-1', 8000, { capabilities: { transfer: false } });
    const { session } = await startSession({ leg, stt, settings: { ...settings, failureSpeech: '' } });
    stt.session!.emit('failure', new Error('socket reset'));
    await settle();
    expect(leg.commands).toEqual([{ kind: 'hangup', reason: 'stt-error' }]);
    expect(session.endedWith?.reason).toBe('stt-error');
  });
});

describe('a failure transfer the carrier refuses', () => {
  it('hangs up with the failure reason rather than leaving the caller in silence', async () => {
    const { logger, lines } = captureLogger();
    const leg = new RecordingLeg('call-1', 8000, { carrier: 'twilio' });
    leg.refuseTransfers('Twilio API failed with HTTP 400 (error 21220): Call is not in-progress');
    const { bot, session } = await startSession({ leg, logger, settings });
    bot.emit('failure', new Error('bot unreachable'));
    await settle();
    leg.playedAll();
    await settle();
    expect(leg.commands.slice(-2)).toEqual([
      { kind: 'transfer', target: 'tel:+15550100' },
      { kind: 'hangup', reason: 'bot-error' },
    ]);
    expect(session.endedWith).toMatchObject({ reason: 'bot-error', byGateway: true });
    expect(lines.map((l) => l.msg)).toContain('failure transfer refused by the carrier; hanging up');
  });
});
