import { describe, expect, it } from 'vitest';
import type { BusEventMap } from '../../src/events/bus.js';
import { RecordingLeg, settle, type RecordingLegOptions } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';
import { LOG_WARN, captureLogger } from '../support/captured-logger.js';
import type { CallSettingsOverrides } from '../../src/call/settings.js';

/** A call whose greeting has played, recording its call.transferred events and warnings. */
async function callOn(settings: CallSettingsOverrides = {}, legOptions: RecordingLegOptions = {}) {
  const { logger, lines } = captureLogger();
  const ctx = await startSession({ leg: new RecordingLeg('call-1', 8000, legOptions), logger, settings, greeting: [{ text: 'Hello.' }] });
  const transferred: BusEventMap['call.transferred'][] = [];
  ctx.bus.subscribe('call.transferred', (e) => void transferred.push(e));
  ctx.leg.playedAll();
  await settle();
  return { ...ctx, transferred, warnings: () => lines.filter((l) => l.level === LOG_WARN) };
}

const transferWithout = (params: Record<string, unknown>) => ({ id: 'transfer-1', type: 'event' as const, name: 'transfer', activityParams: params });

describe('a bot transfer: target, mode and the record', () => {
  it('with no target names the defaultTransferTarget, and the record gets target, mode and the bot reason', async () => {
    const { leg, bot, session, transferred } = await callOn({ defaultTransferTarget: 'sip:queue@pbx.example.com' });
    bot.say({ text: 'Let me get you someone.' }, transferWithout({ handoverReason: 'caller asked for a person' }));
    await settle();
    leg.playedAll();
    await settle();
    expect(leg.commands.filter((c) => c.kind === 'transfer')).toEqual([{ kind: 'transfer', target: 'sip:queue@pbx.example.com' }]);
    expect(transferred).toMatchObject([{ callId: 'call-1', target: 'sip:queue@pbx.example.com', mode: 'blind', reason: 'caller asked for a person' }]);
    expect(session.endedWith).toMatchObject({ reason: 'transferred', detail: 'sip:queue@pbx.example.com' });
  });

  it('with no target and no default: nothing is attempted, the bot gets commandFailed and the conversation goes on', async () => {
    const { leg, bot, session, transferred, warnings } = await callOn();
    bot.say(transferWithout({}));
    await settle();
    expect(leg.count('transfer')).toBe(0);
    expect(bot.events('commandFailed').map((a) => a.value)).toEqual([{ command: 'transfer', activityId: 'transfer-1', reason: 'transfer without a target, and no defaultTransferTarget is configured' }]);
    expect(warnings().map((w) => w.msg)).toEqual(['transfer without a target, and no defaultTransferTarget is configured']);
    expect(transferred).toEqual([]);
    expect(session.endedWith).toBeUndefined();
  });

  it('transferMode bridge reaches a leg that can bridge, with the bot headers and Referred-By', async () => {
    const { leg, bot, transferred } = await callOn({ transferMode: 'bridge' }, { carrier: 'sip', capabilities: { bridgeTransfer: true } });
    bot.say(transferWithout({ transferTarget: 'sip:agent@pbx', transferSipHeaders: [{ name: 'X-Queue', value: '7' }], transferReferredByURL: 'sip:bot@voxgate' }));
    await settle();
    expect(leg.commands.filter((c) => c.kind === 'transfer')).toEqual([{ kind: 'transfer', target: 'sip:agent@pbx', mode: 'bridge', headers: { 'X-Queue': '7' }, referredBy: 'sip:bot@voxgate' }]);
    expect(transferred).toMatchObject([{ mode: 'bridge', target: 'sip:agent@pbx' }]);
  });

  it('transferMode bridge on a leg that cannot bridge transfers blind, and says why in the log', async () => {
    const { leg, bot, transferred, warnings } = await callOn({ transferMode: 'bridge' }, { carrier: 'twilio' });
    bot.say(transferWithout({ transferTarget: 'tel:+15550100' }));
    await settle();
    expect(leg.commands.filter((c) => c.kind === 'transfer')).toEqual([{ kind: 'transfer', target: 'tel:+15550100' }]);
    expect(transferred).toMatchObject([{ mode: 'blind' }]);
    expect(warnings().map((w) => w.msg)).toEqual(['transferMode bridge not used: the twilio leg cannot bridge a transfer through Voxgate; transferring blind']);
  });
});

describe('the bot metadata in the call signalling', () => {
  const metadata = { id: 'meta-1', type: 'event' as const, name: 'sendMetaData', value: { intent: 'billing', score: 0.9 } };

  it('goes to a leg that carries metadata (SIP INFO), with no warning about a missing sendMetaDataUrl', async () => {
    const { leg, bot, warnings } = await callOn({}, { carrier: 'sip', capabilities: { sendMetadata: true } });
    bot.say(metadata);
    await settle();
    expect(leg.commands.filter((c) => c.kind === 'sendMetadata')).toEqual([{ kind: 'sendMetadata', metadata: { intent: 'billing', score: 0.9 } }]);
    expect(warnings()).toEqual([]);
  });

  it('stays off the signalling when sendMetaDataSipInfo is false, and a leg without the capability never gets it', async () => {
    const off = await callOn({ sendMetaDataSipInfo: false }, { capabilities: { sendMetadata: true } });
    off.bot.say(metadata);
    const plain = await callOn();
    plain.bot.say(metadata);
    await settle();
    expect(off.leg.count('sendMetadata')).toBe(0);
    expect(plain.leg.count('sendMetadata')).toBe(0);
    expect(plain.warnings().map((w) => w.msg)).toEqual(['bot sent sendMetaData but no sendMetaDataUrl is configured (and the leg cannot carry it); dropped']);
  });
});
