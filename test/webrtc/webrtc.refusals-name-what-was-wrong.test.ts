import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebRtcCaller } from '../support/webrtc-client.js';
import { MENU_BOT, startWebRtcE2e, TOKEN, type WebRtcE2e } from './webrtc-e2e.js';

interface Answer {
  status: number;
  error?: string;
  headers: Headers;
}

describe('WHIP requests the gateway refuses, each with a JSON error naming what was wrong', () => {
  let e2e: WebRtcE2e;
  let offer: string;
  beforeAll(async () => {
    e2e = await startWebRtcE2e();
    offer = await WebRtcCaller.makeOffer();
  });
  afterAll(() => e2e?.close());

  async function post(body: string, init: { token?: string; origin?: string; bot?: string; contentType?: string } = {}): Promise<Answer> {
    const headers: Record<string, string> = { 'content-type': init.contentType ?? 'application/sdp' };
    if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
    if (init.origin !== undefined) headers.origin = init.origin;
    const res = await fetch(`${e2e.baseUrl}/webrtc/whip?bot=${encodeURIComponent(init.bot ?? MENU_BOT)}`, { method: 'POST', headers, body });
    const json = (await res.json().catch(() => ({}))) as { error?: string };
    return { status: res.status, error: json.error, headers: res.headers };
  }

  it('refuses a missing or wrong credential with 401, and a console token used from another origin with 403', async () => {
    expect(await post(offer)).toMatchObject({ status: 401, error: expect.stringMatching(/needs Authorization: Bearer/) });
    expect(await post(offer, { token: 'not-a-token' })).toMatchObject({ status: 401, error: expect.stringMatching(/not a valid access token or widget key/) });
    const foreign = await post(offer, { token: TOKEN, origin: 'https://elsewhere.example' });
    expect(foreign).toMatchObject({ status: 403, error: expect.stringMatching(/origin https:\/\/elsewhere\.example may not use a console credential/) });
    // The page may read why it was refused (CORS grants the read; the POST itself decided).
    expect(foreign.headers.get('access-control-allow-origin')).toBe('https://elsewhere.example');
  });

  it('refuses an unknown bot with 404', async () => {
    expect(await post(offer, { token: TOKEN, bot: 'no-such-bot' })).toMatchObject({ status: 404, error: 'no bot named "no-such-bot"' });
  });

  it('refuses a body that is not application/sdp (415), not SDP (400), SDP without audio (400), and an oversized offer (413)', async () => {
    expect(await post(offer, { token: TOKEN, contentType: 'application/json' })).toMatchObject({ status: 415, error: 'the offer must be Content-Type: application/sdp (got application/json)' });
    expect(await post('hello', { token: TOKEN })).toMatchObject({ status: 400, error: expect.stringMatching(/not an SDP offer/) });
    const dataOnly = await WebRtcCaller.makeOffer({ dataChannel: true });
    const withoutAudio = dataOnly.split(/(?=^m=)/m).filter((section) => !section.startsWith('m=audio')).join('').replace(/a=group:BUNDLE .*\r\n/, 'a=group:BUNDLE 1\r\n');
    expect(await post(withoutAudio, { token: TOKEN })).toMatchObject({ status: 400, error: expect.stringMatching(/no audio m-line/) });
    const g722Only = offer.replace(/^m=audio (\d+) (\S+) .*$/m, 'm=audio $1 $2 9').replace(/^a=rtpmap:.*\r\n/gm, '').replace(/^a=fmtp:.*\r\n/gm, '');
    expect(await post(g722Only, { token: TOKEN })).toMatchObject({ status: 400, error: expect.stringMatching(/no common audio codec: the offer has 9; this gateway takes opus, PCMU, PCMA/) });
    const huge = offer + `a=x-padding:${'x'.repeat(70 * 1024)}\r\n`;
    expect(await post(huge, { token: TOKEN })).toMatchObject({ status: 413, error: 'the SDP offer is larger than 64 KiB' });
  });

  it('answers a preflight from any origin with the methods and headers: the requests themselves are checked', async () => {
    const ok = await fetch(`${e2e.baseUrl}/webrtc/whip`, { method: 'OPTIONS', headers: { origin: e2e.baseUrl, 'access-control-request-method': 'POST' } });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(e2e.baseUrl);
    expect(ok.headers.get('access-control-allow-methods')).toBe('POST, DELETE, PATCH, OPTIONS');
    expect(ok.headers.get('access-control-allow-headers')).toBe('Authorization, Content-Type');
    expect(ok.headers.get('access-control-expose-headers')).toBe('Location, X-Voxgate-Call-Id');
    const foreign = await fetch(`${e2e.baseUrl}/webrtc/whip/abc`, { method: 'OPTIONS', headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'DELETE' } });
    expect(foreign.status).toBe(204);
    expect(foreign.headers.get('access-control-allow-origin')).toBe('https://elsewhere.example');
  });

  it('refuses a hangup of an unknown session (404), with another credential (403) or none (401); trickle ICE is 405', async () => {
    const caller = await e2e.call();
    await caller.connected();
    const other = await caller.hangup('another-credential');
    expect(other.status).toBe(403);
    expect(((await other.json()) as { error: string }).error).toBe('this is not the credential the call was placed with');
    expect((await caller.hangup(null)).status).toBe(401);
    const unknown = await fetch(`${e2e.baseUrl}/webrtc/whip/AAAAAAAAAAAAAAAAAAAAAA`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toMatch(/no browser call AAAAAAAAAAAAAAAAAAAAAA/);
    const patch = await fetch(new URL(caller.location, e2e.baseUrl), { method: 'PATCH', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/trickle-ice-sdpfrag' }, body: 'a=candidate:1 1 udp 1 127.0.0.1 9 typ host' });
    expect(patch.status).toBe(405);
    expect(((await patch.json()) as { error: string }).error).toBe('trickle ICE is not supported: gather candidates before POST');
    // The call went on through all of that; the right credential ends it.
    const ended = e2e.nextCallEnded();
    expect((await caller.hangup()).status).toBe(200);
    expect(await ended).toMatchObject({ reason: 'caller-hangup', side: 'caller' });
  });
});

describe('a gateway at its browser-call limit', () => {
  let e2e: WebRtcE2e;
  beforeAll(async () => {
    e2e = await startWebRtcE2e({}, { maxCalls: 1 });
  });
  afterAll(() => e2e?.close());

  it('refuses the call beyond maxCalls with 503, and takes calls again once one ended', async () => {
    const first = await e2e.call();
    await first.connected();
    await expect(e2e.call()).rejects.toMatchObject({ status: 503, body: { error: 'this gateway takes at most 1 browser calls at once; try again shortly' } });
    const ended = e2e.nextCallEnded();
    expect((await first.hangup()).status).toBe(200);
    await ended;
    const again = await e2e.call();
    await again.connected();
    expect(again.callId).not.toBe(first.callId);
  });
});

describe('a draining gateway (SIGTERM)', () => {
  let e2e: WebRtcE2e;
  beforeAll(async () => {
    e2e = await startWebRtcE2e();
  });
  afterAll(() => e2e?.close());

  it('refuses new browser calls with 503 while the live one finishes', async () => {
    const live = await e2e.call();
    await live.connected();
    const drained = e2e.gateway.drain();
    await expect(e2e.call()).rejects.toMatchObject({ status: 503, body: { error: 'this gateway is shutting down and takes no new calls; try again (another instance will answer)' } });
    const ended = e2e.nextCallEnded();
    expect((await live.hangup()).status).toBe(200);
    await ended;
    expect(await drained).toMatchObject({ hungUp: 0 });
  });
});
