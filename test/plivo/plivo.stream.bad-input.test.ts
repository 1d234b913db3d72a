import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeMuLaw } from '../../src/media/g711.js';
import type { CarrierLeg } from '../../src/carriers/leg.js';
import { FakeClock } from '../support/fake-clock.js';
import {
  PlivoStreamClient,
  answerParams,
  collectFrames,
  connectStream,
  postCallback,
  signedHeaders,
  startPlivoTestServer,
  tone,
  type PlivoTestServer,
} from '../support/plivo-harness.js';

const TOKEN = 'stream-token';

async function openCall(server: PlivoTestServer, callUuid: string): Promise<{ client: PlivoStreamClient; leg: CarrierLeg }> {
  const answer = await postCallback(`${server.baseUrl}/plivo/answer`, answerParams(callUuid), { authToken: TOKEN });
  expect(answer.status).toBe(200);
  const client = await connect(server, callUuid);
  client.start(callUuid);
  const leg = await server.handler.waitForLeg(callUuid);
  return { client, leg };
}

function connect(server: PlivoTestServer, callUuid: string): Promise<PlivoStreamClient> {
  return connectStream(server, callUuid, TOKEN);
}

const frame = Buffer.from(encodeMuLaw(tone(160, 8000)));

/** The other call on the server still delivers caller audio to its leg. */
async function expectStillFlowing(call: { client: PlivoStreamClient; leg: CarrierLeg }): Promise<void> {
  const frames = collectFrames(call.leg, 2);
  call.client.media(frame);
  call.client.media(frame);
  expect((await frames).length).toBe(2);
}

function nextWarning(leg: CarrierLeg): Promise<string> {
  return new Promise((resolve) => leg.once('warning', resolve));
}

describe('Plivo stream bad input', () => {
  let server: PlivoTestServer;
  let good: { client: PlivoStreamClient; leg: CarrierLeg };

  beforeEach(async () => {
    server = await startPlivoTestServer({ authToken: TOKEN, maxMessageBytes: 4096 });
    good = await openCall(server, 'good-call');
    await expectStillFlowing(good);
  });

  afterEach(async () => {
    await server.close();
  });

  it('malformed JSON is a warning on that leg; both streams keep working', async () => {
    const bad = await openCall(server, 'bad-call');
    const warning = nextWarning(bad.leg);
    bad.client.sendRaw('{"event":"media","media":{');
    expect(await warning).toMatch(/not JSON/);
    await server.logs.waitFor((l) => /not JSON/.test(l.msg) && l.callId === 'vx-2');
    await expectStillFlowing(good);
    await expectStillFlowing(bad);
  });

  it('an unknown event is named in the warning', async () => {
    const bad = await openCall(server, 'bad-call');
    const warning = nextWarning(bad.leg);
    bad.client.sendJson({ event: 'dance', streamId: 's' });
    expect(await warning).toMatch(/"event" is the string "dance", expected one of start, media/);
    await expectStillFlowing(good);
  });

  it('a bad base64 payload is rejected naming media.payload, and the next good frame still decodes', async () => {
    const bad = await openCall(server, 'bad-call');
    const warning = nextWarning(bad.leg);
    bad.client.media('@@@@not*base64!!');
    expect(await warning).toMatch(/media\.payload.*base64/);
    await expectStillFlowing(good);
    await expectStillFlowing(bad);
  });

  it('repeated bad frames are logged once per kind, not per frame', async () => {
    const bad = await openCall(server, 'bad-call');
    let warnings = 0;
    bad.leg.on('warning', () => warnings++);
    const done = new Promise<void>((resolve) => bad.leg.on('warning', () => warnings === 50 && resolve()));
    for (let i = 0; i < 50; i++) bad.client.sendRaw('not json');
    await done;
    await expectStillFlowing(bad);
    expect(server.logs.matching(/not JSON/).filter((l) => l.callId === 'vx-2')).toHaveLength(1);
  });

  it('an oversized message closes only that stream with 1009 and a log naming the size', async () => {
    const bad = await openCall(server, 'bad-call');
    const hangup = new Promise((resolve) => bad.leg.once('hangup', resolve));
    bad.client.media(Buffer.alloc(6000, 0xff));
    const closed = await bad.client.closed;
    expect(closed.code).toBe(1009);
    expect(closed.reason).toMatch(/exceeds 4096/);
    const log = await server.logs.waitFor((l) => /exceeds the 4096-byte limit/.test(l.msg));
    expect(log.size).toBeGreaterThan(8000);
    expect(await hangup).toMatchObject({ side: 'carrier' });
    await expectStillFlowing(good);
  });

  it('an oversized message before start is refused the same way', async () => {
    const bad = await connect(server, 'oversize-call');
    bad.sendRaw('x'.repeat(5000));
    expect((await bad.closed).code).toBe(1009);
    await server.logs.waitFor((l) => /5000 bytes exceeds/.test(l.msg));
    await expectStillFlowing(good);
  });

  it('a stream start for an unknown call id is closed with 1008 naming it', async () => {
    const stranger = await connect(server, 'no-such-call');
    stranger.start('no-such-call');
    const closed = await stranger.closed;
    expect(closed).toEqual({ code: 1008, reason: 'unknown callId no-such-call' });
    const log = await server.logs.waitFor((l) => /unknown call no-such-call/.test(l.msg));
    expect(log.callUuid).toBe('no-such-call');
    expect(server.handler.legs.has('no-such-call')).toBe(false);
    await expectStillFlowing(good);
  });

  it('a second stream for a call that already has one is refused', async () => {
    const dup = await connect(server, 'good-call');
    dup.start('good-call');
    expect(await dup.closed).toEqual({ code: 1008, reason: 'call good-call already has a stream' });
    await expectStillFlowing(good);
  });

  it('messages before start are dropped with a log, then start still works', async () => {
    await postCallback(`${server.baseUrl}/plivo/answer`, answerParams('late-start'), { authToken: TOKEN });
    const client = await connect(server, 'late-start');
    client.media(frame);
    client.sendRaw(Buffer.from([1, 2, 3]));
    await server.logs.waitFor((l) => /"media" before "start"/.test(l.msg));
    client.start('late-start');
    const leg = await server.handler.waitForLeg('late-start');
    await expectStillFlowing({ client, leg });
    await expectStillFlowing(good);
  });

  it('a wrong signature on the stream upgrade is closed with 1008 before any start is read', async () => {
    const forged = await PlivoStreamClient.connect(server.streamUrlFor('good-call'), signedHeaders('GET', server.streamUrlFor('good-call').replace('ws://', 'http://'), {}, 'wrong-token'));
    expect(await forged.closed).toEqual({ code: 1008, reason: 'invalid X-Plivo-Signature-V3' });
    const unsigned = await PlivoStreamClient.connect(server.streamUrlFor('good-call'));
    expect((await unsigned.closed).code).toBe(1008);
    await server.logs.waitFor((l) => /stream upgrade rejected: missing X-Plivo-Signature-V3 header/.test(l.msg));
    await expectStillFlowing(good);
  });

  it('a callback with a wrong signature gets 403 and never reaches the handler', async () => {
    const res = await postCallback(`${server.baseUrl}/plivo/answer`, answerParams('forged'), { authToken: 'wrong-token' });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.text).error).toMatch(/invalid Plivo signature: X-Plivo-Signature-V3 does not match POST http:\/\/127\.0\.0\.1:\d+\/plivo\/answer/);
    const unsigned = await postCallback(`${server.baseUrl}/plivo/hangup`, answerParams('good-call'));
    expect(unsigned.status).toBe(403);
    expect(server.handler.answered.map((c) => c.carrierCallId)).toEqual(['good-call']);
    expect(server.handler.ended).toEqual([]);
    await expectStillFlowing(good);
  });

  it('a callback without CallUUID gets 400 naming it', async () => {
    const params = answerParams('x');
    delete (params as Record<string, string>).CallUUID;
    const res = await postCallback(`${server.baseUrl}/plivo/answer`, params, { authToken: TOKEN });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).error).toMatch(/missing CallUUID/);
    const badDirection = await postCallback(`${server.baseUrl}/plivo/answer`, answerParams('y', { Direction: 'sideways' }), { authToken: TOKEN });
    expect(badDirection.status).toBe(400);
    expect(JSON.parse(badDirection.text).error).toMatch(/Direction is "sideways"/);
    await expectStillFlowing(good);
  });

  it('a hangup callback for an unknown call is acknowledged and logged', async () => {
    const res = await postCallback(`${server.baseUrl}/plivo/hangup`, { ...answerParams('ghost'), HangupCause: 'NORMAL_CLEARING' }, { authToken: TOKEN });
    expect(res.status).toBe(200);
    await server.logs.waitFor((l) => /hangup callback for a call that is not live/.test(l.msg) && l.callUuid === 'ghost');
    expect(server.handler.ended).toEqual([]);
    await expectStillFlowing(good);
  });
});

describe('Plivo stream without a start event', () => {
  it('is closed with 1008 once the start timeout passes', async () => {
    const clock = new FakeClock();
    const server = await startPlivoTestServer({ clock, startTimeoutMs: 5000 });
    try {
      const client = await PlivoStreamClient.connect(server.streamUrlFor('slow-call'));
      // The timer is armed when the server accepts the socket; wait for that rather than sleeping.
      while (clock.pendingTimers() === 0) await new Promise((r) => setImmediate(r));
      clock.advance(4999);
      expect(client.socket.readyState).toBe(client.socket.OPEN);
      clock.advance(1);
      expect(await client.closed).toEqual({ code: 1008, reason: 'no start event within 5000 ms' });
    } finally {
      await server.close();
    }
  });
});
