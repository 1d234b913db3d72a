import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import twilio from 'twilio';
import { encodeMuLaw } from '../../src/media/g711.js';
import type { CarrierLeg } from '../../src/carriers/leg.js';
import { collectFrames, tone } from '../support/carrier-harness.js';
import { TwilioStreamClient, postWebhook, startTwilioTestServer, voiceParams, type TwilioTestServer } from '../support/twilio-harness.js';

const TOKEN = 'bad-input-token';
const frame = Buffer.from(encodeMuLaw(tone(160, 8000)));

async function openCall(server: TwilioTestServer, callSid: string): Promise<{ client: TwilioStreamClient; leg: CarrierLeg }> {
  const answer = await postWebhook(`${server.baseUrl}/twilio/voice`, voiceParams(callSid), { authToken: TOKEN });
  expect(answer.status).toBe(200);
  const client = await TwilioStreamClient.connect(server.streamUrl, TOKEN);
  client.start(callSid);
  return { client, leg: await server.handler.waitForLeg(callSid) };
}

/** The other call on the server still delivers caller audio to its leg. */
async function expectStillFlowing(call: { client: TwilioStreamClient; leg: CarrierLeg }): Promise<void> {
  const frames = collectFrames(call.leg, 2);
  call.client.media(frame);
  call.client.media(frame);
  expect((await frames).length).toBe(2);
}

describe('Twilio bad input never disturbs a call in progress', () => {
  let server: TwilioTestServer;
  let good: { client: TwilioStreamClient; leg: CarrierLeg };

  beforeEach(async () => {
    server = await startTwilioTestServer({ authToken: TOKEN, maxMessageBytes: 4096 });
    good = await openCall(server, 'CAgood');
    await expectStillFlowing(good);
  });
  afterEach(async () => {
    await server.close();
  });

  it('refuses webhooks with a missing or forged X-Twilio-Signature (403 naming the URL)', async () => {
    const url = `${server.baseUrl}/twilio/voice`;
    const unsigned = await postWebhook(url, voiceParams('CAx'));
    expect(unsigned.status).toBe(403);
    expect(JSON.parse(unsigned.text).error).toMatch(/missing X-Twilio-Signature/);
    const forged = await postWebhook(url, voiceParams('CAx'), { headers: { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(TOKEN, url, voiceParams('CAother')) } });
    expect(forged.status).toBe(403);
    expect(JSON.parse(forged.text).error).toMatch(/X-Twilio-Signature does not match POST http:\/\/127\.0\.0\.1:\d+\/twilio\/voice/);
    const wrongToken = await postWebhook(`${server.baseUrl}/twilio/status`, voiceParams('CAgood', { CallStatus: 'completed' }), { authToken: 'not-the-token' });
    expect(wrongToken.status).toBe(403);
    expect(server.handler.answered.map((c) => c.carrierCallId)).toEqual(['CAgood']);
    expect(server.handler.ended).toEqual([]);
    await expectStillFlowing(good);
  });

  it('checks JSON-bodied webhooks by their bodySHA256, and refuses a body that does not match it', async () => {
    const body = JSON.stringify({ CallSid: 'CAgood', CallStatus: 'completed', CallDuration: '5' });
    const url = `${server.baseUrl}/twilio/status?bodySHA256=${createHash('sha256').update(body).digest('hex')}`;
    const post = (payload: string) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(TOKEN, url, {}) }, body: payload });
    const tampered = await post(body.replace('"5"', '"500"'));
    expect(tampered.status).toBe(403);
    expect(server.handler.ended).toEqual([]);
    expect((await post(body)).status).toBe(200);
    expect(server.handler.ended).toEqual([{ callId: 'vx-1', end: { cause: 'Completed', side: 'caller', durationSec: 5 } }]);
  });

  it('a webhook without CallSid is a 400 naming it', async () => {
    const params = voiceParams('CAy');
    delete (params as Record<string, string>).CallSid;
    const res = await postWebhook(`${server.baseUrl}/twilio/voice`, params, { authToken: TOKEN });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).error).toMatch(/missing CallSid/);
  });

  it('a retried voice webhook answers the same call with the same TwiML', async () => {
    const first = await postWebhook(`${server.baseUrl}/twilio/voice`, voiceParams('CAr'), { authToken: TOKEN });
    const second = await postWebhook(`${server.baseUrl}/twilio/voice`, voiceParams('CAr'), { authToken: TOKEN });
    expect(second.text).toBe(first.text);
    expect(server.handler.answered.filter((c) => c.carrierCallId === 'CAr')).toHaveLength(1);
  });

  it('a stream upgrade without a valid signature is closed with 1008', async () => {
    const unsigned = await TwilioStreamClient.connect(server.streamUrl);
    expect(await unsigned.closed).toEqual({ code: 1008, reason: 'invalid X-Twilio-Signature' });
    await server.logs.waitFor((l) => /Twilio stream upgrade rejected: missing X-Twilio-Signature/.test(l.msg));
    await expectStillFlowing(good);
  });

  it('a stream start for an unknown call is closed with 1008 naming it', async () => {
    const stranger = await TwilioStreamClient.connect(server.streamUrl, TOKEN);
    stranger.start('CAnobody');
    expect(await stranger.closed).toEqual({ code: 1008, reason: 'unknown callId CAnobody' });
    const log = await server.logs.waitFor((l) => /unknown call CAnobody/.test(l.msg));
    expect(log.callSid).toBe('CAnobody');
    await expectStillFlowing(good);
  });

  it('a second stream for a call that has one is refused', async () => {
    const dup = await TwilioStreamClient.connect(server.streamUrl, TOKEN);
    dup.start('CAgood');
    expect(await dup.closed).toEqual({ code: 1008, reason: 'call CAgood already has a stream' });
    await expectStillFlowing(good);
  });

  it('garbage frames are rate-limited warnings on that leg, and the stream goes on', async () => {
    const bad = await openCall(server, 'CAbad');
    const warnings: string[] = [];
    bad.leg.on('warning', (w) => warnings.push(w));
    bad.client.sendRaw('{"event":"media"');
    bad.client.sendJson({ event: 'dance' });
    bad.client.sendJson({ event: 'media', media: { payload: 'ab!d' } });
    bad.client.sendJson({ event: 'mark', mark: {} });
    bad.client.sendRaw(Buffer.from([1, 2, 3]));
    await expectStillFlowing(bad);
    expect(warnings).toEqual([
      expect.stringMatching(/Twilio stream message: "\(message\)" is not JSON/),
      expect.stringMatching(/"event" is the string "dance", expected one of connected, start, media/),
      expect.stringMatching(/media\.payload.*base64/),
      expect.stringMatching(/"mark\.name" is missing/),
      expect.stringMatching(/Twilio stream sent a 3-byte binary frame/),
    ]);
    await expectStillFlowing(good);
  });

  it('an oversized message closes that stream with 1009 and reports the caller gone; the other call goes on', async () => {
    const big = await openCall(server, 'CAbig');
    const hangup = new Promise((resolve) => big.leg.once('hangup', resolve));
    big.client.sendRaw('x'.repeat(5000));
    expect((await big.client.closed).code).toBe(1009);
    expect(await hangup).toMatchObject({ side: 'carrier' });
    await expectStillFlowing(good);
  });

  it('a start with another media format is refused as a protocol error, not played as noise', async () => {
    await postWebhook(`${server.baseUrl}/twilio/voice`, voiceParams('CAfmt'), { authToken: TOKEN });
    const client = await TwilioStreamClient.connect(server.streamUrl, TOKEN);
    client.sendJson({ event: 'start', start: { streamSid: 'MZf', callSid: 'CAfmt', mediaFormat: { encoding: 'audio/x-l16', sampleRate: 16000, channels: 1 } } });
    await server.logs.waitFor((l) => /rejected before start: Twilio stream message: "start.mediaFormat.encoding" is the string "audio\/x-l16", expected audio\/x-mulaw/.test(l.msg));
    expect(server.handler.legs.has('CAfmt')).toBe(false);
    client.close();
  });
});
