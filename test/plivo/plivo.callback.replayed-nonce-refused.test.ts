import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../support/fake-clock.js';
import { PlivoStreamClient, answerParams, postCallback, signedHeaders, startPlivoTestServer, type PlivoTestServer } from '../support/plivo-harness.js';

const TOKEN = 'replay-token';

describe('a Plivo callback sent again with a nonce already seen', () => {
  let server: PlivoTestServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('is refused with 403 naming the replay, while a fresh nonce for the same call is accepted', async () => {
    server = await startPlivoTestServer({ authToken: TOKEN });
    const url = `${server.baseUrl}/plivo/answer`;
    const params = answerParams('call-r1');
    const captured = signedHeaders('POST', url, params, TOKEN);

    expect((await postCallback(url, params, { headers: captured })).status).toBe(200);
    const replayed = await postCallback(url, params, { headers: captured });
    expect(replayed.status).toBe(403);
    expect(JSON.parse(replayed.text).error).toMatch(/replayed Plivo callback: X-Plivo-Signature-V3-Nonce \d+ was already used within the last 300 s/);
    await server.logs.waitFor((l) => /Plivo answer callback rejected as a replay/.test(l.msg));
    expect(server.handler.answered).toHaveLength(1);

    // Plivo's own retry is a new request with a new nonce: served as the same live call.
    const retry = await postCallback(url, params, { authToken: TOKEN });
    expect(retry.status).toBe(200);
    expect(retry.text).toContain('<Stream');
    expect(server.handler.answered).toHaveLength(1);
  });

  it('a replayed hangup callback does not end a call a second time; the nonce is forgotten only after the window', async () => {
    const clock = new FakeClock();
    server = await startPlivoTestServer({ authToken: TOKEN, clock, replayWindowMs: 60_000 });
    const answerUrl = `${server.baseUrl}/plivo/answer`;
    const hangupUrl = `${server.baseUrl}/plivo/hangup`;
    expect((await postCallback(answerUrl, answerParams('call-r2'), { authToken: TOKEN })).status).toBe(200);
    const hangup = { CallUUID: 'call-r2', HangupCauseName: 'Normal Hangup', HangupSource: 'Caller', Duration: '3' };
    const captured = signedHeaders('POST', hangupUrl, hangup, TOKEN);
    expect((await postCallback(hangupUrl, hangup, { headers: captured })).status).toBe(200);
    expect(server.handler.ended).toHaveLength(1);

    clock.advance(59_000);
    expect((await postCallback(hangupUrl, hangup, { headers: captured })).status).toBe(403);
    clock.advance(2_000);
    // Past the window the nonce is gone; the call it names is over, so nothing happens but a 200.
    expect((await postCallback(hangupUrl, hangup, { headers: captured })).status).toBe(200);
    expect(server.handler.ended).toHaveLength(1);
  });

  it('a captured stream upgrade sent again is closed with 1008, and the first stream keeps working', async () => {
    server = await startPlivoTestServer({ authToken: TOKEN });
    expect((await postCallback(`${server.baseUrl}/plivo/answer`, answerParams('call-r3'), { authToken: TOKEN })).status).toBe(200);
    const streamUrl = server.streamUrlFor('call-r3');
    const captured = signedHeaders('GET', streamUrl.replace('ws://', 'http://'), {}, TOKEN);
    const first = await PlivoStreamClient.connect(streamUrl, captured);
    first.start('call-r3');
    const leg = await server.handler.waitForLeg('call-r3');

    const replay = await PlivoStreamClient.connect(streamUrl, captured);
    expect(await replay.closed).toEqual({ code: 1008, reason: 'replayed X-Plivo-Signature-V3-Nonce' });
    await server.logs.waitFor((l) => /Plivo stream upgrade rejected: replayed upgrade/.test(l.msg));

    const frame = new Promise((resolve) => leg.once('audio', resolve));
    first.media(Buffer.alloc(160, 0xff));
    await frame;
    first.close();
  });
});
