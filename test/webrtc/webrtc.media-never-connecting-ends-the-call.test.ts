import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebRtcCaller } from '../support/webrtc-client.js';
import { MENU_BOT, startWebRtcE2e, TOKEN, type WebRtcE2e } from './webrtc-e2e.js';

describe('a browser call whose media never connects', () => {
  let e2e: WebRtcE2e;
  beforeAll(async () => {
    e2e = await startWebRtcE2e({}, { connectTimeoutSec: 1 });
  });
  afterAll(() => e2e?.close());

  it('is answered, then ended after connectTimeoutSec with a cause that says why, and its session is gone', async () => {
    // An offer whose peer is gone before the answer comes: nobody will ever answer the gateway's ICE checks.
    const offer = await WebRtcCaller.makeOffer();
    const ended = e2e.nextCallEnded();
    const res = await fetch(`${e2e.baseUrl}/webrtc/whip?bot=${MENU_BOT}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/sdp' }, body: offer });
    expect(res.status).toBe(201);
    const end = await ended;
    expect(end.callId).toBe(res.headers.get('x-voxgate-call-id'));
    expect(end.cause).toMatch(/^Media never connected: ICE\/DTLS did not complete within 1 s/);
    expect(end.side).toBe('gateway');
    const gone = await fetch(new URL(res.headers.get('location')!, e2e.baseUrl), { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(gone.status).toBe(404);
  });
});
