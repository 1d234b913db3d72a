/**
 * A Bot API bot written for other gateways spells its events `"Event"` / `"Hangup"`, and a bot may
 * slip one unusable activity into an answer. Either way the caller hears the goodbye, the call hangs
 * up for the bot's reason, and only the bad activity is refused (the bot is told which).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BotApiServer } from '../support/bot-api-server.js';
import { startE2e, VOXGATE_NUMBER, type E2eSetup } from '../support/e2e-gateway.js';

let bot: BotApiServer | undefined;
let e2e: E2eSetup | undefined;
afterEach(async () => {
  await e2e?.close();
  await bot?.close();
  e2e = undefined;
  bot = undefined;
});

async function callTheBot(afterGreeting: unknown[]) {
  bot = await BotApiServer.start({ token: 'bot-token', greeting: 'Goodbye', afterGreeting });
  e2e = await startE2e({
    bots: [{ name: 'legacy', type: 'bot-api', botApi: { url: bot.botUrl, token: 'bot-token' } }],
    routes: [{ number: VOXGATE_NUMBER, bot: 'legacy' }],
  });
  const ended = e2e.nextCallEnded();
  const call = e2e.sim.dialInbound({ from: '+14155550123', to: VOXGATE_NUMBER, script: { hangupAfterSec: 60 } });
  let heardAudio = false;
  call.on('heard-audio-stop', () => (heardAudio = true));
  const result = await call.ended;
  const end = await ended;
  await e2e.gateway.records.flush();
  const record = await e2e.gateway.store.calls.getByCarrierCallId(call.callUuid, 'plivo');
  const lines = await e2e.gateway.store.transcripts.listForCall(record!.id);
  const disconnects = bot.requests.filter((r) => r.kind === 'disconnect').map((r) => r.body);
  return { result, end, record: record!, heardAudio, transcript: lines.map((l) => `${l.speaker}: ${l.text}`), disconnects, bot };
}

describe('a Bot API bot that capitalizes its activity types and event names', () => {
  it('answers the start with a goodbye and `type: "Event", name: "Hangup"`: the caller hears the goodbye and the call hangs up for the bot\'s reason', async () => {
    const call = await callTheBot([{ type: 'Event', name: 'Hangup', activityParams: { hangupReason: 'customer-verified' } }]);

    expect(call.heardAudio).toBe(true);
    expect(call.transcript).toEqual(['bot: Goodbye']); // not the failure apology
    expect(call.end).toMatchObject({ reason: 'bot-hangup', side: 'gateway' });
    expect(call.result.cause).toBe('Normal Hangup');
    expect(call.record.endReason).toBe('bot-hangup');
    // The bot's own reason travels with the disconnect, as for a lower-case hangup.
    expect(call.disconnects).toEqual([{ conversation: call.record.id, reasonCode: 'bot-disconnected', reason: 'customer-verified' }]);
  });
});

describe('a Bot API answer with one unusable activity among good ones', () => {
  it('carries out the good ones (goodbye, hangup), refuses the bad one and tells the bot its index, type and why', async () => {
    const call = await callTheBot([{ type: 'typing' }, 'not an activity', { type: 'event', name: 'hangup', activityParams: { hangupReason: 'done' } }]);

    expect(call.transcript).toEqual(['bot: Goodbye']);
    expect(call.end).toMatchObject({ reason: 'bot-hangup', side: 'gateway' });
    expect(call.record.endReason).toBe('bot-hangup');
    expect(call.disconnects).toEqual([{ conversation: call.record.id, reasonCode: 'bot-disconnected', reason: 'done' }]);
    // Each refused activity is reported before the disconnect, the way refused commands are.
    const sent = call.bot.requests.filter((r) => r.kind === 'activities' || r.kind === 'disconnect');
    const reports = sent.flatMap((r) => ((r.body.activities as { name?: string; value?: unknown }[] | undefined) ?? []).filter((a) => a.name === 'commandFailed').map((a) => a.value));
    expect(reports).toEqual([
      { command: 'invalidActivity', index: 1, type: 'typing', activityId: expect.any(String), reason: '"type" must be "message" or "event" (any case), got "typing"' },
      { command: 'invalidActivity', index: 2, type: '(none)', reason: 'an activity must be a JSON object, got string' },
    ]);
    expect(sent.at(-1)!.kind).toBe('disconnect');
  });
});
