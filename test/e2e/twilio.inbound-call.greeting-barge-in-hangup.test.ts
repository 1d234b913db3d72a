import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import WebSocket from 'ws';
import { rmsDbfs } from '../../src/media/audio.js';
import { TWILIO_NUMBER, startTwilioE2e, type TwilioE2eSetup } from '../support/e2e-twilio.js';
import { GREETING, SALES, SUPPORT, heardSegments, menuFlow as flow, spokenMs } from '../support/e2e-fixtures.js';

const BARGE_NUMBER = '+14155550191';

describe('an inbound Twilio call answered by the flow bot, end to end through the simulator', () => {
  let e2e: TwilioE2eSetup;
  beforeAll(async () => {
    e2e = await startTwilioE2e({
      bots: [
        { name: 'menu-bot', type: 'flow', flow },
        { name: 'barge-bot', type: 'flow', flow, settings: { bargeInOnDTMF: true } },
      ],
      routes: [
        { number: TWILIO_NUMBER, bot: 'menu-bot' },
        { number: BARGE_NUMBER, bot: 'barge-bot' },
      ],
    });
    e2e.twilio.addNumber(BARGE_NUMBER, { voiceUrl: `${e2e.gateway.publicUrl}/twilio/voice`, statusCallback: `${e2e.gateway.publicUrl}/twilio/status` });
  });
  afterAll(() => e2e?.close());

  it('greets the caller, follows the key pressed after the greeting, hangs up once the answer played (marks), and records the call as Twilio', async () => {
    const ended = e2e.nextCallEnded();
    const call = e2e.twilio.dialInbound({ from: '+14155550123', to: TWILIO_NUMBER, script: { hangupAfterSec: 30 } });
    call.once('heard-audio-stop', () => call.party.press('2'));
    const result = await call.ended;
    const end = await ended;
    await e2e.gateway.records.flush();

    const [greetingMs, supportMs] = await Promise.all([spokenMs(GREETING), spokenMs(SUPPORT)]);
    const segments = heardSegments(call.timeline);
    expect(segments).toHaveLength(2);
    expect(segments[0].durationMs).toBeGreaterThan(greetingMs * 0.9);
    expect(segments[0].durationMs).toBeLessThan(greetingMs * 1.1);
    expect(Math.abs(segments[1].durationMs - supportMs)).toBeLessThan(supportMs * 0.1);
    const greetingAudio = result.heard.subarray(Math.round(segments[0].atMs * 8), Math.round((segments[0].atMs + segments[0].durationMs) * 8));
    expect(rmsDbfs(greetingAudio)).toBeGreaterThan(-35);

    // The bot hung up after its answer had played, over Twilio's REST API.
    expect(result.status).toBe('completed');
    expect(end).toMatchObject({ reason: 'bot-hangup', side: 'gateway', cause: 'Completed' });
    const record = await e2e.gateway.store.calls.getByCarrierCallId(call.callSid, 'twilio');
    expect(record).toMatchObject({ carrier: 'twilio', direction: 'inbound', from: '+14155550123', to: TWILIO_NUMBER, bot: 'menu-bot', hangupSide: 'gateway', endReason: 'bot-hangup' });
    expect(Math.abs(record!.durationMs! - result.durationSec * 1000)).toBeLessThan(1500);
    // Both prompts were confirmed heard in full by Twilio's marks.
    const detail = await e2e.gateway.store.prompts.listForCall(record!.id);
    expect(detail.map((p) => [p.text, p.heardInFull])).toEqual([
      [GREETING, true],
      [SUPPORT, true],
    ]);
    expect((await e2e.gateway.store.dtmf.listForCall(record!.id)).map((d) => d.digit)).toEqual(['2']);
  });

  it('a key during the greeting cuts it when bargeInOnDTMF is on: clear, the answer follows at once, and the greeting is recorded as cut', async () => {
    const ended = e2e.nextCallEnded();
    const call = e2e.twilio.dialInbound({ from: '+14155550124', to: BARGE_NUMBER, script: { hangupAfterSec: 30 } });
    // The caller knows the menu and presses 1 a second into the greeting.
    call.once('heard-audio-start', () => call.party.press('1', 1000));
    const result = await call.ended;
    expect(await ended).toMatchObject({ reason: 'bot-hangup' });
    await e2e.gateway.records.flush();
    const greetingMs = await spokenMs(GREETING);
    const segments = heardSegments(call.timeline);
    // Heard: about a second of greeting (cut by Twilio's clear), then the sales answer.
    expect(segments[0].durationMs).toBeLessThan(greetingMs / 2);
    expect(call.timeline.some((e) => e.type === 'cleared')).toBe(true);
    const record = await e2e.gateway.store.calls.getByCarrierCallId(call.callSid, 'twilio');
    const prompts = await e2e.gateway.store.prompts.listForCall(record!.id);
    expect(prompts.map((p) => [p.text, p.heardInFull])).toEqual([
      [GREETING, false],
      [SALES, true],
    ]);
    expect(result.status).toBe('completed');
  });

  it('forged webhooks (403) and an unsigned stream (close 1008) do not disturb a call in progress', async () => {
    const ended = e2e.nextCallEnded();
    const call = e2e.twilio.dialInbound({ from: '+14155550125', to: TWILIO_NUMBER, script: { hangupAfterSec: 30 } });
    await new Promise<void>((resolve) => call.once('heard-audio-start', () => resolve()));
    const base = e2e.gateway.publicUrl;
    // A forged status callback that would end the call, signed with the wrong token.
    const params = { CallSid: call.callSid, AccountSid: 'ACx', CallStatus: 'completed', CallDuration: '1' };
    const forged = await fetch(`${base}/twilio/status`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': twilio.getExpectedTwilioSignature('not-the-token', `${base}/twilio/status`, params) },
      body: new URLSearchParams(params).toString(),
    });
    expect(forged.status).toBe(403);
    // A stranger's media socket, unsigned.
    const stranger = new WebSocket(`${base.replace('http', 'ws')}/twilio/stream`);
    const closed = await new Promise<number>((resolve) => stranger.once('close', (code) => resolve(code)));
    expect(closed).toBe(1008);
    // The real call goes on: the caller presses 2 after the greeting and hears the support answer.
    call.once('heard-audio-stop', () => call.party.press('2'));
    await call.ended;
    expect(await ended).toMatchObject({ reason: 'bot-hangup' });
    const record = await e2e.gateway.store.calls.getByCarrierCallId(call.callSid, 'twilio');
    expect((await e2e.gateway.store.transcripts.listForCall(record!.id)).map((l) => l.text)).toEqual([GREETING, SUPPORT]);
  });
});
